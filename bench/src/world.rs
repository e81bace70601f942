//! The data set every measurement runs on: a salon chain of 50 providers
//! working Monday–Saturday, 6 services, 200 customers and about 3,900 bookings
//! over 30 days, loaded through the services as a business would make it.

use std::sync::Arc;

use sea_orm::ConnectionTrait;

use chrono::{DateTime, NaiveDate, Utc};
use tessera_api::config::{Config, ConfigArgs};
use tessera_api::{App, AppOptions};
use tessera_identity::{NewUser, PasswordHasher};
use tessera_kernel::{Actor, CustomerId, ManualClock, RequestContext, RequestMeta, ServiceId, TenantId, UserId};
use tessera_ledger::{LimitMode, Metric, NewLimit};
use tessera_scheduling::{
    BookingCustomer, CustomerInput, NewBooking, OfferingTerms, ProviderInput, ServiceInput, WeeklyHours,
};
use tessera_tenant::{NewTenant, TenantRef};

use crate::{Failure, domain, fail};

pub(crate) const PROVIDERS: usize = 50;
pub(crate) const DAYS: i64 = 30;
const CUSTOMERS: usize = 200;
const START: &str = "2026-03-02T05:00:00Z";
/// The business's slug, sent as `X-Tenant`.
pub(crate) const SLUG: &str = "bench-salons";

/// The loaded gateway and what the measurements need to know about its data.
pub(crate) struct World {
    pub(crate) app: App,
    pub(crate) ctx: RequestContext,
    pub(crate) tenant: TenantId,
    pub(crate) owner: UserId,
    /// The owner's bearer token.
    pub(crate) token: String,
    pub(crate) services: Vec<ServiceId>,
    pub(crate) customers: Vec<CustomerId>,
    /// The process's resident memory right after the gateway started, before loading.
    pub(crate) idle_rss_kib: Option<u64>,
}

/// The database the bench runs on: `DATABASE_URL`, or a new SQLite file.
fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        let path = std::env::temp_dir().join(format!("tessera-bench-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        format!("sqlite://{}?mode=rwc", path.display())
    })
}

pub(crate) async fn load() -> Result<World, Failure> {
    let args = ConfigArgs {
        database_url: Some(database_url()),
        // Replicas' access stamps and events, as in production with PostgreSQL.
        redis_url: std::env::var("REDIS_URL").ok(),
        // 10,000 subscriptions of one account, for the memory measurement.
        max_subscriptions_per_user: Some(10_000),
        seed_demo: Some(false),
        // A chain of 50 providers and thousands of bookings needs the
        // enterprise tier's room; every booking is still counted, so the
        // count's cost is in what is measured.
        new_tenant_tier: Some("enterprise".into()),
        // Anonymous requests are limited per address as in production, far
        // above what a few seconds of load send (the clock stands still, so
        // nothing refills).
        platform_requests_per_minute: Some(1_000_000),
        log: Some("error".into()),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args).map_err(|e| fail(e.to_string()))?;
    let start: DateTime<Utc> = START.parse()?;
    let clock = ManualClock::new(start);
    let options = AppOptions { clock: Arc::new(clock), hasher: PasswordHasher::new(2, 256), ..AppOptions::default() };
    let app = App::build(config, options).await.map_err(|e| fail(e.to_string()))?;
    let idle_rss_kib = crate::resources::rss_kib();
    let services = app.state.services.clone();
    let meta = RequestMeta { request_id: "bench".into(), ..RequestMeta::default() };
    let anonymous = RequestContext::anonymous(meta, services.clock.clone());
    let owner = NewUser {
        email: "bench@example.com".into(),
        password: "benchmark owner password".into(),
        display_name: "Bench".into(),
        locale: None,
    };
    let (user, session) = services.identity.create_account(&anonymous, owner).await.map_err(domain)?;
    let ctx = anonymous.with_actor(Actor { user_id: user.id, session_id: session.session_id });
    let chain =
        NewTenant { name: "Bench Salons".into(), slug: SLUG.into(), timezone: "Europe/Madrid".into(), locale: None };
    let tenant = services.tenants.create_tenant(&ctx, chain).await.map_err(domain)?;
    // Its rates are checked on every request, at a height no run reaches.
    for metric in [Metric::RequestsPerMinute, Metric::ComplexityPerMinute] {
        let limit = NewLimit { value: Some(1_000_000_000_000), mode: LimitMode::Hard, note: Some("benchmark".into()) };
        services.usage.set_tenant_limit(tenant.id, metric, limit, services.clock.now()).await.map_err(domain)?;
    }
    let (_, scope) =
        services.rbac.resolve_scope(user.id, &TenantRef::Id(tenant.id), services.clock.now()).await.map_err(domain)?;
    let ctx = ctx.with_tenant(scope);
    let scheduling = &services.scheduling;

    eprintln!(
        "loading {PROVIDERS} providers, {CUSTOMERS} customers and ~{} bookings…",
        PROVIDERS as i64 * DAYS * 3 * 6 / 7
    );
    let mut services_ids = Vec::new();
    for (name, minutes) in
        [("Cut", 30), ("Colour", 90), ("Highlights", 120), ("Blowout", 45), ("Beard", 15), ("Treatment", 60)]
    {
        let input = ServiceInput {
            name: name.into(),
            price_minor: 5000,
            duration_minutes: minutes,
            buffer_after_minutes: 10,
            ..Default::default()
        };
        services_ids.push(scheduling.create_service(&ctx, input).await.map_err(domain)?.id);
    }
    let mut providers = Vec::new();
    for i in 0..PROVIDERS {
        let provider = scheduling
            .create_provider(&ctx, ProviderInput { name: format!("Provider {i}"), ..Default::default() })
            .await
            .map_err(domain)?;
        let hours = (0..6).map(|day| WeeklyHours::new(day, 9 * 60, 18 * 60)).collect();
        scheduling.set_working_hours(&ctx, provider.id, hours).await.map_err(domain)?;
        for service in &services_ids {
            scheduling.assign_service(&ctx, provider.id, *service, OfferingTerms::default()).await.map_err(domain)?;
        }
        providers.push(provider.id);
    }
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        customers.push(
            scheduling
                .create_customer(&ctx, CustomerInput { name: format!("Customer {i}"), ..Default::default() })
                .await
                .map_err(domain)?
                .id,
        );
    }
    let first_day = start.date_naive() + chrono::Duration::days(1);
    let mut made = 0usize;
    for day in 0..DAYS {
        let date = first_day + chrono::Duration::days(day);
        for (p, provider) in providers.iter().enumerate() {
            for (slot, hour) in [10, 13, 15].into_iter().enumerate() {
                let starts_at = local(date, hour)?;
                let booking = NewBooking {
                    service_id: services_ids[(p + slot) % 2 * 3],
                    provider_id: *provider,
                    customer: BookingCustomer::Existing(customers[(made * 7) % customers.len()]),
                    starts_at,
                    addon_ids: Vec::new(),
                    notes: None,
                    idempotency_key: None,
                };
                // Sundays are closed: those are refused, as they should be.
                if scheduling.create_booking(&ctx, booking).await.is_ok() {
                    made += 1;
                }
            }
        }
    }
    eprintln!("loaded {made} bookings");
    // Fresh planner statistics, as a database that has been running has them:
    // without them PostgreSQL plans the joins for empty tables.
    app.state.db.connection().execute_unprepared("ANALYZE").await?;
    Ok(World {
        app,
        ctx,
        tenant: tenant.id,
        owner: user.id,
        token: session.access_token,
        services: services_ids,
        customers,
        idle_rss_kib,
    })
}

/// `hour`:00 in Madrid on `date`, as an instant.
fn local(date: NaiveDate, hour: u32) -> Result<DateTime<Utc>, Failure> {
    use chrono::TimeZone;
    let naive = date.and_hms_opt(hour, 0, 0).ok_or_else(|| fail("bad hour"))?;
    let at =
        chrono_tz::Europe::Madrid.from_local_datetime(&naive).single().ok_or_else(|| fail("no such local time"))?;
    Ok(at.with_timezone(&Utc))
}
