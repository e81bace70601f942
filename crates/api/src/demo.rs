//! The demo tenant a newcomer finds on first start: a hair salon with its owner,
//! staff and their hours, the services and add-ons of the seed documents, a few
//! customers and upcoming bookings, a recurring client, a weekly class with
//! seats and a treatment room booked with the stylist — enough to try
//! availability and booking in GraphiQL at once — and a
//! login for each kind of access (receptionist, stylists linked to their own
//! calendar, a customer linked to her customer record) to see what each may
//! do.

use chrono::{Datelike, Duration};
use tessera_identity::NewUser;
use tessera_kernel::{
    Actor, AddonId, CustomerId, DomainError, Permission, ProviderId, RequestContext, RequestMeta, Resource, ServiceId,
    TenantTier, UserId,
};
use tessera_rbac::{AccessScope, BuiltinRole, NewAssignment, RoleInput, Subject};
use tessera_scheduling::{
    AddonInput, AvailabilityQuery, BookingCustomer, CustomerInput, NewBooking, NewBookingSeries, NewClassSchedule,
    OfferingTerms, ProviderInput, ProviderType, ServiceInput, WeeklyHours, WeeklyRule,
};
use tessera_tenant::{NewTenant, TenantRef};

use crate::error::ApiError;
use crate::services::Services;

/// The demo salon's timezone.
const DEMO_TIMEZONE: &str = "America/New_York";

/// The demo tenant's slug (use it in `X-Tenant`).
pub const DEMO_SLUG: &str = "demo-salon";
/// The demo owner's email.
pub const DEMO_OWNER_EMAIL: &str = "owner@demo-salon.test";
/// The demo owner's password. Demo data only: the demo is seeded automatically only
/// into an empty embedded database.
pub const DEMO_OWNER_PASSWORD: &str = "tessera-demo-owner";

/// The password of every other demo login (see [`DEMO_TEAM`]).
pub const DEMO_MEMBER_PASSWORD: &str = "tessera-demo-member";

/// The demo's other logins, one per kind of access, each with [`DEMO_MEMBER_PASSWORD`]:
/// email, name and what they are.
pub const DEMO_TEAM: [(&str, &str, &str); 4] = [
    (
        "reception@demo-salon.test",
        "Rita (reception)",
        "the Receptionist role: staff plus managing bookings and customers",
    ),
    ("marco@demo-salon.test", "Marco Bianchi", "staff: his own bookings and hours"),
    (
        "sofia@demo-salon.test",
        "Sofia Chen",
        "staff: her own bookings and hours, and Marco's calendar through a role granted on his provider",
    ),
    ("ana@demo-salon.test", "Ana López", "a customer: books, sees, cancels and reviews her own appointments"),
];

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The demo was created.
    Created,
    /// It was already there.
    AlreadyPresent,
}

fn system_context(services: &Services) -> RequestContext {
    let meta = RequestMeta { request_id: "seed-demo".into(), ip: None, user_agent: Some("tessera seed-demo".into()) };
    RequestContext::anonymous(meta, services.clock.clone())
}

/// Seeds the demo into a database that has no tenant yet.
pub async fn seed_if_empty(services: &Services) -> Result<Option<Seeded>, ApiError> {
    if services.tenants.any_tenant_exists().await? {
        return Ok(None);
    }
    seed(services).await.map(Some)
}

/// Seeds the demo unless its owner already exists.
pub async fn seed(services: &Services) -> Result<Seeded, ApiError> {
    let ctx = system_context(services);
    let owner = NewUser {
        email: DEMO_OWNER_EMAIL.into(),
        password: DEMO_OWNER_PASSWORD.into(),
        display_name: "Bella Rossi (demo owner)".into(),
        locale: None,
    };
    let (user, session) = match services.identity.create_account(&ctx, owner).await {
        Ok(created) => created,
        Err(DomainError::Conflict(_)) => return Ok(Seeded::AlreadyPresent),
        Err(err) => return Err(err.into()),
    };
    let ctx = ctx.with_actor(Actor { user_id: user.id, session_id: session.session_id });
    let salon = NewTenant {
        name: "Bella Hair Salon (demo)".into(),
        slug: DEMO_SLUG.into(),
        timezone: DEMO_TIMEZONE.into(),
        locale: Some("en-US".into()),
    };
    let tenant = services.tenants.create_tenant(&ctx, salon).await?;
    // Room to try everything: the premium tier's limits (README, "Tiers, limits and usage").
    let tenant = services.tenants.set_tier(&tenant.slug, TenantTier::Premium, services.clock.now()).await?;
    let (_, scope) = services.rbac.resolve_scope(user.id, &TenantRef::Id(tenant.id), services.clock.now()).await?;
    let in_salon = ctx.clone().with_tenant(scope);
    let team = seed_team(services, &ctx, &in_salon).await?;
    let (marco, _) = seed_salon(services, &in_salon, &team).await?;
    // Sofia covers Marco's calendar: a role granted on his provider alone.
    let cover = services
        .rbac
        .create_role(
            &in_salon,
            RoleInput {
                name: "Calendar cover".into(),
                description: Some("Granted on one provider: see their bookings, keep their hours and time off".into()),
                permissions: vec![Permission::BookingRead, Permission::ProviderManage],
                ..RoleInput::default()
            },
        )
        .await?;
    let grant = NewAssignment {
        role_id: cover.id,
        subject: Subject::User(team.sofia),
        scope: AccessScope::Resource(Resource::Provider(marco)),
        expires_at: None,
    };
    services.rbac.assign_role(&in_salon, grant).await?;
    services.identity.logout(&ctx).await?;
    Ok(Seeded::Created)
}

/// A weekly pattern: days (0 = Monday) and `(start, end)` minutes on each.
struct Shift {
    days: &'static [i32],
    windows: &'static [(i32, i32)],
}

/// The demo logins linked to records: two stylists and a customer.
struct Team {
    marco: UserId,
    sofia: UserId,
    ana: UserId,
}

/// The receptionist, two stylists and a customer, so each kind of access can be
/// tried in GraphiQL.
async fn seed_team(services: &Services, system: &RequestContext, in_salon: &RequestContext) -> Result<Team, ApiError> {
    let rbac = &services.rbac;
    let staff = rbac.builtin_role(in_salon, BuiltinRole::Staff).await?;
    let receptionist = rbac
        .create_role(
            in_salon,
            RoleInput {
                name: "Receptionist".into(),
                description: Some("Runs the front desk: staff rights plus managing bookings and customers".into()),
                parent_id: Some(staff.id),
                permissions: vec![Permission::BookingManage, Permission::CustomerManage],
                is_default: false,
            },
        )
        .await?;
    let mut logins = Vec::with_capacity(DEMO_TEAM.len());
    for (email, name, _) in DEMO_TEAM {
        let new = NewUser {
            email: email.into(),
            password: DEMO_MEMBER_PASSWORD.into(),
            display_name: name.into(),
            locale: None,
        };
        let (user, session) = services.identity.create_account(system, new).await?;
        let signed_in = system.clone().with_actor(Actor { user_id: user.id, session_id: session.session_id });
        services.identity.logout(&signed_in).await?;
        let roles = match email {
            "reception@demo-salon.test" => vec![receptionist.id],
            "marco@demo-salon.test" | "sofia@demo-salon.test" => vec![staff.id],
            _ => Vec::new(),
        };
        rbac.add_member(in_salon, user.id, &roles).await?;
        logins.push(user.id);
    }
    // In `DEMO_TEAM`'s order.
    Ok(Team { marco: logins[1], sofia: logins[2], ana: logins[3] })
}

/// Seeds the salon's catalogue and bookings, linking Marco's and Sofia's providers
/// and Ana's customer record to their logins; returns those two providers.
async fn seed_salon(
    services: &Services,
    ctx: &RequestContext,
    team: &Team,
) -> Result<(ProviderId, ProviderId), ApiError> {
    let scheduling = &services.scheduling;
    let staff: [(&str, &str, ProviderType, Shift, Option<UserId>); 3] = [
        (
            "Bella Rossi",
            "Owner & Senior Stylist",
            ProviderType::Employee,
            Shift { days: &[0, 1, 2, 3, 4], windows: &[(540, 780), (840, 1080)] },
            None,
        ),
        (
            "Marco Bianchi",
            "Colorist",
            ProviderType::Employee,
            Shift { days: &[1, 2, 3, 4, 5], windows: &[(600, 840), (900, 1140)] },
            Some(team.marco),
        ),
        (
            "Sofia Chen",
            "Stylist",
            ProviderType::Contractor,
            Shift { days: &[0, 2, 4, 5], windows: &[(720, 1200)] },
            Some(team.sofia),
        ),
    ];
    let mut providers: Vec<ProviderId> = Vec::new();
    for (name, title, kind, shift, login) in staff {
        let input = ProviderInput {
            name: name.into(),
            title: Some(title.into()),
            provider_type: Some(kind),
            user_id: Some(login),
            ..Default::default()
        };
        let provider = scheduling.create_provider(ctx, input).await?;
        let intervals = shift
            .days
            .iter()
            .flat_map(|d| shift.windows.iter().map(move |(s, e)| WeeklyHours::new(*d, *s, *e)))
            .collect();
        scheduling.set_working_hours(ctx, provider.id, intervals).await?;
        providers.push(provider.id);
    }
    let (bella, marco, sofia) = (providers[0], providers[1], providers[2]);

    // The seed documents' catalogue: price in cents, minutes, clean-up buffer.
    let catalogue: [(&str, i64, i32, i32, &[ProviderId]); 6] = [
        ("Women's Haircut", 7500, 60, 10, &[bella, sofia]),
        ("Men's Haircut", 5000, 45, 10, &[bella, sofia]),
        ("Full Color", 15000, 120, 15, &[marco]),
        ("Highlights", 22000, 150, 15, &[marco]),
        ("Blowout", 4500, 45, 0, &[bella, sofia]),
        ("Kids' Haircut", 3000, 30, 5, &[sofia]),
    ];
    let mut by_name: Vec<(&str, ServiceId)> = Vec::new();
    for (name, price_minor, duration_minutes, buffer_after_minutes, offered_by) in catalogue {
        let input = ServiceInput {
            name: name.into(),
            price_minor,
            duration_minutes,
            buffer_after_minutes,
            ..Default::default()
        };
        let service = scheduling.create_service(ctx, input).await?;
        for provider in offered_by {
            // The senior stylist charges more for a cut than the catalogue price.
            let own_price = (name == "Women's Haircut" && *provider == bella).then_some(9000);
            let terms = OfferingTerms { price_minor: own_price.map(Some), duration_minutes: None };
            scheduling.assign_service(ctx, *provider, service.id, terms).await?;
        }
        by_name.push((name, service.id));
    }
    let service = |name: &str| by_name.iter().find(|(n, _)| *n == name).map(|(_, id)| *id).unwrap_or(by_name[0].1);
    let addons: [(&str, &str, i64, i32); 5] = [
        ("Women's Haircut", "Deep Conditioning Treatment", 3000, 20),
        ("Full Color", "Deep Conditioning Treatment", 3000, 20),
        ("Full Color", "Olaplex Treatment", 4000, 20),
        ("Highlights", "Olaplex Treatment", 4000, 20),
        ("Men's Haircut", "Beard Trim", 1500, 15),
    ];
    let mut olaplex_for_highlights: Option<AddonId> = None;
    for (service_name, name, price_minor, duration_minutes) in addons {
        let input = AddonInput { name: name.into(), price_minor, duration_minutes, active: None };
        let addon = scheduling.create_addon(ctx, service(service_name), input).await?;
        if service_name == "Highlights" {
            olaplex_for_highlights = Some(addon.id);
        }
    }

    let people = [
        ("Ana López", "ana@demo-salon.test", "+15550100001", Some(team.ana)),
        ("James Carter", "james.carter@example.com", "+15550100002", None),
        ("Priya Patel", "priya.patel@example.com", "+15550100003", None),
        ("Tom Nguyen", "tom.nguyen@example.com", "+15550100004", None),
    ];
    let mut customers = Vec::new();
    for (name, email, phone, login) in people {
        let input = CustomerInput {
            name: name.into(),
            email: Some(email.into()),
            phone: Some(phone.into()),
            notes: None,
            user_id: Some(login),
            language: None,
        };
        customers.push(scheduling.create_customer(ctx, input).await?.id);
    }

    // A few bookings over the next days, each at the first slot still free.
    let today = ctx.now().date_naive();
    let plans: [(&str, ProviderId, usize, Option<AddonId>); 4] = [
        ("Women's Haircut", bella, 0, None),
        ("Men's Haircut", bella, 1, None),
        ("Highlights", marco, 2, olaplex_for_highlights),
        ("Kids' Haircut", sofia, 3, None),
    ];
    for (service_name, provider, customer, addon) in plans {
        let query = AvailabilityQuery {
            service_id: service(service_name),
            provider_id: Some(provider),
            addon_ids: addon.into_iter().collect(),
            from: Some(today + Duration::days(1)),
            to: Some(today + Duration::days(8)),
            after: None,
            limit: tessera_scheduling::MAX_AVAILABILITY_SLOTS,
        };
        let Some(slot) = scheduling
            .availability(ctx, query)
            .await?
            .into_iter()
            .find(|s| s.starts_at.weekday().num_days_from_monday() < 6)
        else {
            continue;
        };
        let booking = NewBooking {
            service_id: service(service_name),
            provider_id: provider,
            customer: BookingCustomer::Existing(customers[customer]),
            starts_at: slot.starts_at,
            addon_ids: addon.into_iter().collect(),
            notes: None,
            idempotency_key: None,
        };
        scheduling.create_booking(ctx, booking).await?;
    }
    seed_recurring_client(services, ctx, (bella, service("Men's Haircut")), customers[1]).await?;
    seed_class(services, ctx, sofia).await?;
    seed_treatment_room(services, ctx, &[bella, marco]).await?;
    Ok((marco, sofia))
}

/// A treatment room booked with the stylist: a scalp treatment needs it,
/// so it is offered only when the stylist and the room are both free.
async fn seed_treatment_room(
    services: &Services,
    ctx: &RequestContext,
    stylists: &[ProviderId],
) -> Result<(), ApiError> {
    let scheduling = &services.scheduling;
    let room = ProviderInput {
        name: "Treatment Room".into(),
        resource_type: Some("treatment room".into()),
        ..Default::default()
    };
    let room = scheduling.create_provider(ctx, room).await?;
    let hours = (0..6).map(|day| WeeklyHours::new(day, 540, 1200)).collect();
    scheduling.set_working_hours(ctx, room.id, hours).await?;
    let need =
        tessera_scheduling::ResourceNeed { resource_type: "treatment room".into(), offset_minutes: 0, minutes: None };
    let input = ServiceInput {
        name: "Scalp Treatment".into(),
        description: Some("A relaxing scalp massage and treatment, in the treatment room.".into()),
        price_minor: 4000,
        duration_minutes: 45,
        resource_need: Some(need),
        ..Default::default()
    };
    let treatment = scheduling.create_service(ctx, input).await?;
    for stylist in stylists {
        let terms = OfferingTerms { price_minor: None, duration_minutes: None };
        scheduling.assign_service(ctx, *stylist, treatment.id, terms).await?;
    }
    Ok(())
}

/// A recurring client: James has his haircut with Bella every other week,
/// four times, from the first time she is free after the other bookings.
async fn seed_recurring_client(
    services: &Services,
    ctx: &RequestContext,
    (bella, haircut): (ProviderId, ServiceId),
    james: CustomerId,
) -> Result<(), ApiError> {
    let scheduling = &services.scheduling;
    let from = ctx.now().date_naive() + Duration::days(9);
    let query = AvailabilityQuery {
        service_id: haircut,
        provider_id: Some(bella),
        addon_ids: Vec::new(),
        from: Some(from),
        to: Some(from + Duration::days(6)),
        after: None,
        limit: 1,
    };
    let Some(slot) = scheduling.availability(ctx, query).await?.into_iter().next() else { return Ok(()) };
    let first = NewBooking {
        service_id: haircut,
        provider_id: bella,
        customer: BookingCustomer::Existing(james),
        starts_at: slot.starts_at,
        addon_ids: Vec::new(),
        notes: Some("Every other week".into()),
        idempotency_key: None,
    };
    let tz: chrono_tz::Tz = DEMO_TIMEZONE.parse().map_err(|_| DomainError::Internal("the demo's zone".into()))?;
    let weekday = slot.starts_at.with_timezone(&tz).weekday();
    let rule = WeeklyRule { weekdays: vec![weekday], every_weeks: 2, last_date: None, count: Some(4) };
    scheduling.create_booking_series(ctx, NewBookingSeries { booking: first, rule }).await?;
    Ok(())
}

/// A weekly class to book seats in: Sofia's styling workshop for eight, on
/// Saturdays at noon, its sessions generated as far ahead as the salon
/// takes bookings.
async fn seed_class(services: &Services, ctx: &RequestContext, sofia: ProviderId) -> Result<(), ApiError> {
    let scheduling = &services.scheduling;
    let input = ServiceInput {
        name: "Styling Workshop".into(),
        description: Some("Learn a salon blowout at home, in a small group.".into()),
        price_minor: 2500,
        duration_minutes: 90,
        class_capacity: Some(8),
        ..Default::default()
    };
    let class = scheduling.create_service(ctx, input).await?;
    let terms = OfferingTerms { price_minor: None, duration_minutes: None };
    scheduling.assign_service(ctx, sofia, class.id, terms).await?;
    let today = ctx.now().date_naive();
    // Next Saturday (a week on when today is one: noon may have passed).
    let ahead = match (5 + 7 - today.weekday().num_days_from_monday()) % 7 {
        0 => 7,
        days => days,
    };
    let saturday = today + Duration::days(i64::from(ahead));
    let schedule = NewClassSchedule {
        service_id: class.id,
        provider_id: sofia,
        rule: WeeklyRule { weekdays: vec![chrono::Weekday::Sat], every_weeks: 1, last_date: None, count: None },
        first_date: saturday,
        start_minute: 12 * 60,
        capacity: None,
        seats_per_customer: Some(2),
    };
    scheduling.create_class_schedule(ctx, schedule).await?;
    Ok(())
}
