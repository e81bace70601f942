//! Availability and bookings.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{
    AddonId, BookingId, CustomerId, DomainError, Page, PageRequest, Permission, ProviderId, RequestContext, Result,
    ServiceId, TenantId,
};
use tessera_tenant::Tenant;

use crate::availability::{self, Busy, Calendar, Slot, SlotQuery};
use crate::entity::{
    booking, booking_addon, customer, provider, provider_service, review, schedule_exception, service, service_addon,
    working_hours,
};
use crate::lifecycle::{busy_conflict, check_customer_reschedule, check_status_timing};
use crate::model::{
    BookedAddon, Booking, BookingCustomer, BookingFilter, BookingStatus, CustomerProfile, MAX_PRICE_MINOR, NewBooking,
    Review, ScheduleException, WeeklyInterval, parse_email, parse_name, parse_text,
};
use crate::reach::{self, Own, Visible};
use crate::service::{SchedulingService, booking_write_error, not_found};

/// The longest date range one availability search covers.
pub const MAX_AVAILABILITY_DAYS: i64 = 31;
/// The most starts one availability search returns; the next page continues
/// after the last one.
pub const MAX_AVAILABILITY_SLOTS: usize = 500;

/// What to search availability for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityQuery {
    /// The service.
    pub service_id: ServiceId,
    /// One provider, or every provider who offers the service.
    pub provider_id: Option<ProviderId>,
    /// Add-ons, which lengthen the appointment.
    pub addon_ids: Vec<AddonId>,
    /// First local date; today in the tenant's timezone when absent.
    pub from: Option<NaiveDate>,
    /// Last local date (inclusive); a week from `from` when absent.
    pub to: Option<NaiveDate>,
    /// Only starts after this one (the last start and provider of the
    /// previous page), in the order starts are listed.
    pub after: Option<(DateTime<Utc>, ProviderId)>,
    /// At most this many starts (1 to [`MAX_AVAILABILITY_SLOTS`]).
    pub limit: usize,
}

/// The local dates a search covers: from today in the tenant's timezone when
/// `from` is absent, for a week when `to` is.
fn search_dates(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<(NaiveDate, NaiveDate)> {
    let from = from.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
    let to = to.unwrap_or(from + Duration::days(DEFAULT_AVAILABILITY_DAYS - 1));
    if to < from {
        return Err(DomainError::invalid("to", "must be on or after from"));
    }
    if (to - from).num_days() >= MAX_AVAILABILITY_DAYS {
        return Err(DomainError::invalid("to", format!("a search covers at most {MAX_AVAILABILITY_DAYS} days")));
    }
    Ok((from, to))
}

/// The days a search covers when the caller names no end.
const DEFAULT_AVAILABILITY_DAYS: i64 = 7;

/// The statuses whose bookings hold their provider's time, as the database's
/// no-overlap rule counts them.
pub(crate) const ACTIVE: [BookingStatus; 4] =
    [BookingStatus::Scheduled, BookingStatus::Confirmed, BookingStatus::InProgress, BookingStatus::Completed];

/// Everything availability needs about some providers, loaded in a fixed number of
/// queries whatever the number of providers or days.
struct Calendars {
    hours: HashMap<ProviderId, Vec<WeeklyInterval>>,
    exceptions: Vec<ScheduleException>,
    busy: HashMap<ProviderId, Vec<Busy>>,
}

impl Calendars {
    async fn load(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        providers: &[ProviderId],
        dates: (NaiveDate, NaiveDate),
        instants: (DateTime<Utc>, DateTime<Utc>),
        ignore: Option<BookingId>,
    ) -> Result<Self> {
        let rows = working_hours::Entity::find()
            .filter(working_hours::Column::TenantId.eq(tenant_id))
            .filter(working_hours::Column::ProviderId.is_in(providers.iter().copied()))
            .all(txn)
            .await?;
        let mut hours: HashMap<ProviderId, Vec<WeeklyInterval>> = HashMap::new();
        for row in &rows {
            hours.entry(row.provider_id).or_default().push(row.into());
        }
        let exceptions = schedule_exception::Entity::find()
            .filter(schedule_exception::Column::TenantId.eq(tenant_id))
            .filter(schedule_exception::Column::Date.between(dates.0, dates.1))
            .all(txn)
            .await?
            .into_iter()
            .map(ScheduleException::from)
            .collect();
        let mut bookings = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(tenant_id))
            .filter(booking::Column::ProviderId.is_in(providers.iter().copied()))
            .filter(booking::Column::Status.is_in(ACTIVE))
            .filter(booking::Column::BlockedUntil.gt(instants.0))
            .filter(booking::Column::BlockedFrom.lt(instants.1));
        if let Some(id) = ignore {
            bookings = bookings.filter(booking::Column::Id.ne(id));
        }
        let mut busy: HashMap<ProviderId, Vec<Busy>> = HashMap::new();
        for row in bookings.order_by_asc(booking::Column::BlockedFrom).all(txn).await? {
            busy.entry(row.provider_id).or_default().push((row.blocked_from, row.blocked_until));
        }
        Ok(Self { hours, exceptions, busy })
    }

    fn of(&self, provider_id: ProviderId) -> Calendar<'_> {
        Calendar {
            provider_id,
            weekly: self.hours.get(&provider_id).map_or(&[], Vec::as_slice),
            exceptions: &self.exceptions,
            busy: self.busy.get(&provider_id).map_or(&[], Vec::as_slice),
        }
    }
}

fn timezone(tenant: &Tenant) -> Result<Tz> {
    tenant
        .timezone
        .parse::<Tz>()
        .map_err(|_| DomainError::Internal(format!("tenant timezone {} is invalid", tenant.timezone)))
}

/// Local dates around `instant`'s, wide enough for any timezone offset.
fn dates_around(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = from.with_timezone(&tz).date_naive();
    let last = until.with_timezone(&tz).date_naive();
    (first.pred_opt().unwrap_or(first), last.succ_opt().unwrap_or(last))
}

fn minutes(n: i32) -> Duration {
    Duration::minutes(i64::from(n))
}

/// The service, provider and add-ons of a booking, checked against each other.
struct Offer {
    service: service::Model,
    addons: Vec<service_addon::Model>,
    /// The named provider's terms for the service.
    terms: Option<provider_service::Model>,
}

impl Offer {
    /// Service and add-ons, in minutes, as `terms` (a provider's) give them.
    fn duration_with(&self, terms: Option<&provider_service::Model>) -> i32 {
        let own = terms.and_then(|t| t.duration_minutes).unwrap_or(self.service.duration_minutes);
        own + self.addons.iter().map(|a| a.duration_minutes).sum::<i32>()
    }

    /// Service and add-ons, in minor units, as `terms` (a provider's) give them.
    fn price_with(&self, terms: Option<&provider_service::Model>) -> i64 {
        let own = terms.and_then(|t| t.price_minor).unwrap_or(self.service.price_minor);
        own + self.addons.iter().map(|a| a.price_minor).sum::<i64>()
    }

    /// Length with the named provider's terms.
    fn duration_minutes(&self) -> i32 {
        self.duration_with(self.terms.as_ref())
    }

    /// Price with the named provider's terms.
    fn price_minor(&self) -> i64 {
        self.price_with(self.terms.as_ref())
    }
}

impl SchedulingService {
    async fn bookable_offer(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        service_id: ServiceId,
        provider_id: Option<ProviderId>,
        addon_ids: &[AddonId],
    ) -> Result<Offer> {
        let service = service::Entity::find_by_id(service_id)
            .filter(service::Column::TenantId.eq(tenant_id))
            .filter(service::Column::DeletedAt.is_null())
            .one(txn)
            .await?
            .ok_or(not_found("service"))?;
        if !service.active {
            return Err(DomainError::invalid("serviceId", "this service is not bookable at the moment"));
        }
        let mut terms = None;
        if let Some(provider_id) = provider_id {
            let provider = provider::Entity::find_by_id(provider_id)
                .filter(provider::Column::TenantId.eq(tenant_id))
                .one(txn)
                .await?
                .ok_or(not_found("provider"))?;
            if !provider.active {
                return Err(DomainError::invalid("providerId", "this provider is not taking bookings"));
            }
            terms = provider_service::Entity::find_by_id((provider_id, service_id))
                .filter(provider_service::Column::TenantId.eq(tenant_id))
                .one(txn)
                .await?;
            if terms.is_none() {
                return Err(DomainError::invalid("providerId", "this provider does not offer the service"));
            }
        }
        let mut unique = addon_ids.to_vec();
        unique.sort();
        unique.dedup();
        if unique.len() != addon_ids.len() {
            return Err(DomainError::invalid("addonIds", "an add-on is listed twice"));
        }
        let addons = if unique.is_empty() {
            Vec::new()
        } else {
            service_addon::Entity::find()
                .filter(service_addon::Column::TenantId.eq(tenant_id))
                .filter(service_addon::Column::ServiceId.eq(service_id))
                .filter(service_addon::Column::Active.eq(true))
                .filter(service_addon::Column::Id.is_in(unique.iter().copied()))
                .all(txn)
                .await?
        };
        if addons.len() != unique.len() {
            return Err(DomainError::invalid("addonIds", "every add-on must be an active add-on of the service"));
        }
        let offer = Offer { service, addons, terms };
        if offer.price_minor() > MAX_PRICE_MINOR {
            return Err(DomainError::invalid(
                "addonIds",
                format!(
                    "the booking would cost more than {MAX_PRICE_MINOR} minor units, the largest amount one booking may carry"
                ),
            ));
        }
        Ok(offer)
    }

    /// Bookable starts for a service over a range of local dates: for one provider
    /// or for every active provider offering it; honours weekly hours, exceptions,
    /// existing bookings, buffers, the tenant's minimum notice, booking horizon and
    /// slot step, and its timezone. Sorted by start, then provider.
    pub async fn availability(&self, ctx: &RequestContext, query: AvailabilityQuery) -> Result<Vec<Slot>> {
        if !(1..=MAX_AVAILABILITY_SLOTS).contains(&query.limit) {
            return Err(DomainError::invalid("first", format!("must be between 1 and {MAX_AVAILABILITY_SLOTS}")));
        }
        // Whoever may book may see where: free starts, not whose bookings fill the rest.
        let (auth, _) = ctx.authorize_reach(Permission::BookingCreate, Permission::BookingCreateOwn)?;
        let txn = self.db.begin(auth.scope(), Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        let (from, to) = search_dates(query.from, query.to, ctx.now(), tz)?;
        let offer =
            Self::bookable_offer(&txn, auth.tenant_id, query.service_id, query.provider_id, &query.addon_ids).await?;
        let terms: HashMap<ProviderId, provider_service::Model> = provider_service::Entity::find()
            .filter(provider_service::Column::TenantId.eq(auth.tenant_id))
            .filter(provider_service::Column::ServiceId.eq(query.service_id))
            .all(&txn)
            .await?
            .into_iter()
            .filter(|row| query.provider_id.is_none_or(|wanted| wanted == row.provider_id))
            .map(|row| (row.provider_id, row))
            .collect();
        let providers: Vec<ProviderId> = provider::Entity::find()
            .filter(provider::Column::TenantId.eq(auth.tenant_id))
            .filter(provider::Column::Active.eq(true))
            .filter(provider::Column::Id.is_in(terms.keys().copied()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let dates = (from.pred_opt().unwrap_or(from), to.succ_opt().unwrap_or(to));
        let instants = (
            dates.0.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::days(1),
            dates.1.and_time(chrono::NaiveTime::MIN).and_utc() + Duration::days(2),
        );
        let calendars = Calendars::load(&txn, auth.tenant_id, &providers, dates, instants, None).await?;
        txn.commit().await?;

        let now = ctx.now();
        let settings = &tenant.settings;
        let slot_query = SlotQuery {
            timezone: tz,
            from,
            to,
            duration: minutes(offer.duration_minutes()),
            price_minor: offer.price_minor(),
            buffer_before: minutes(offer.service.buffer_before_minutes),
            buffer_after: minutes(offer.service.buffer_after_minutes),
            step_minutes: settings.slot_step_minutes,
            earliest: now + Duration::minutes(i64::from(settings.booking_min_notice_minutes)),
            latest: now + Duration::days(i64::from(settings.booking_horizon_days)),
            after: query.after,
            limit: query.limit,
        };
        // Each provider contributes at most a page, so memory stays bounded by
        // providers × page size however long the search. Each quotes their own terms.
        let mut slots: Vec<Slot> = providers
            .iter()
            .flat_map(|p| {
                let own = terms.get(p);
                if offer.price_with(own) > MAX_PRICE_MINOR {
                    // Not bookable (creating it is refused), so not offered.
                    return Vec::new();
                }
                let query = SlotQuery {
                    duration: minutes(offer.duration_with(own)),
                    price_minor: offer.price_with(own),
                    ..slot_query
                };
                availability::slots(&calendars.of(*p), &query)
            })
            .collect();
        slots.sort();
        slots.truncate(query.limit);
        Ok(slots)
    }

    fn check_start(starts_at: DateTime<Utc>, now: DateTime<Utc>, tenant: &Tenant) -> Result<()> {
        if starts_at.second() != 0 || starts_at.nanosecond() != 0 {
            return Err(DomainError::invalid("startsAt", "must be on a whole minute"));
        }
        if starts_at <= now {
            return Err(DomainError::invalid("startsAt", "is in the past"));
        }
        let notice = tenant.settings.booking_min_notice_minutes;
        if starts_at < now + Duration::minutes(i64::from(notice)) {
            return Err(DomainError::invalid("startsAt", format!("must be at least {notice} minutes from now")));
        }
        let horizon = tenant.settings.booking_horizon_days;
        if starts_at > now + Duration::days(i64::from(horizon)) {
            return Err(DomainError::invalid("startsAt", format!("must be within {horizon} days from now")));
        }
        Ok(())
    }

    /// Checks that `provider_id` works during `[from, until)`.
    async fn check_working_time(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        tz: Tz,
        provider_id: ProviderId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        let dates = dates_around(tz, from, until);
        let calendars = Calendars::load(txn, tenant_id, &[provider_id], dates, (from, until), None).await?;
        if !availability::within_working_time(&calendars.of(provider_id), tz, from, until) {
            return Err(DomainError::invalid("startsAt", "the provider does not work then"));
        }
        Ok(())
    }

    /// Books an appointment. The server computes price and duration from the service
    /// and add-ons and keeps a snapshot of them. With an idempotency key, a repeat of
    /// the same request by the same user returns the booking it made instead of
    /// booking again. `booking:create` books for any customer (granted on one
    /// provider: with that provider); `booking:create_own` only for the actor.
    pub async fn create_booking(&self, ctx: &RequestContext, input: NewBooking) -> Result<Booking> {
        let fingerprint = fingerprint(ctx, &input);
        let key = match input.idempotency_key.as_deref().map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 100 => {
                return Err(DomainError::invalid("idempotencyKey", "must be 1 to 100 characters"));
            }
            other => other.map(str::to_owned),
        };
        match self.try_create_booking(ctx, &input, key.as_deref(), &fingerprint).await {
            // Two requests with one key raced; the other committed first. Answer as
            // if this one were the repeat.
            Err(DomainError::Conflict(_)) | Err(DomainError::Database(_)) if key.is_some() => {
                let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
                let existing = find_by_key(&txn, auth.tenant_id, key.as_deref().unwrap_or_default()).await?;
                txn.commit().await?;
                match existing {
                    Some(row) => repeat_of(row, &fingerprint),
                    None => self.try_create_booking(ctx, &input, key.as_deref(), &fingerprint).await,
                }
            }
            other => other,
        }
    }

    async fn try_create_booking(
        &self,
        ctx: &RequestContext,
        input: &NewBooking,
        key: Option<&str>,
        fingerprint: &str,
    ) -> Result<Booking> {
        let (auth, txn, visible) = self.open_booking_create(ctx, Access::Write).await?;
        if let Some(key) = key
            && let Some(row) = find_by_key(&txn, auth.tenant_id, key).await?
        {
            txn.commit().await?;
            return repeat_of(row, fingerprint);
        }
        let now = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        Self::check_start(input.starts_at, now, &tenant)?;
        let offer =
            Self::bookable_offer(&txn, auth.tenant_id, input.service_id, Some(input.provider_id), &input.addon_ids)
                .await?;
        let customer_id = match &input.customer {
            BookingCustomer::Existing(id) => {
                if !(visible.allows_customer(*id) || visible.allows_provider(input.provider_id)) {
                    return Err(DomainError::Forbidden(
                        "booking:create_own books only for yourself: leave customerId out".into(),
                    ));
                }
                customer::Entity::find_by_id(*id)
                    .filter(customer::Column::TenantId.eq(auth.tenant_id))
                    .one(&txn)
                    .await?
                    .ok_or(not_found("customer"))?
                    .id
            }
            BookingCustomer::Myself(profile) => own_customer_record(&txn, &auth, profile, now).await?,
        };
        let ends_at = input.starts_at + minutes(offer.duration_minutes());
        let blocked_from = input.starts_at - minutes(offer.service.buffer_before_minutes);
        let blocked_until = ends_at + minutes(offer.service.buffer_after_minutes);
        Self::check_working_time(&txn, auth.tenant_id, tz, input.provider_id, blocked_from, blocked_until).await?;
        let window = (blocked_from, blocked_until);
        if let Some(conflict) = busy_conflict(&txn, auth.tenant_id, input.provider_id, window, None, tz).await? {
            return Err(conflict);
        }
        let confirmed = tenant.settings.confirm_bookings_automatically;

        let id = BookingId::generate(now);
        let row = booking::ActiveModel {
            id: Set(id),
            tenant_id: Set(auth.tenant_id),
            provider_id: Set(input.provider_id),
            service_id: Set(input.service_id),
            customer_id: Set(customer_id),
            status: Set(if confirmed { BookingStatus::Confirmed } else { BookingStatus::Scheduled }),
            starts_at: Set(input.starts_at),
            ends_at: Set(ends_at),
            blocked_from: Set(blocked_from),
            blocked_until: Set(blocked_until),
            service_name: Set(offer.service.name.clone()),
            price_minor: Set(offer.price_minor()),
            currency: Set(offer.service.currency.clone()),
            duration_minutes: Set(offer.duration_minutes()),
            notes: Set(parse_text("notes", input.notes.as_deref(), 2000)?),
            idempotency_key: Set(key.map(str::to_owned)),
            request_fingerprint: Set(key.map(|_| fingerprint.to_owned())),
            created_by: Set(auth.actor.map(|a| a.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            confirmed_at: Set(confirmed.then_some(now)),
            started_at: Set(None),
            completed_at: Set(None),
            no_show_at: Set(None),
            cancelled_at: Set(None),
            cancelled_by: Set(None),
            cancellation_reason: Set(None),
            refund_minor: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict("this idempotency key is being used by another request".into())
            }
            _ => booking_write_error(e),
        })?;
        if !offer.addons.is_empty() {
            let snapshots = offer.addons.iter().map(|a| booking_addon::ActiveModel {
                id: Set(uuid_v7_at(now)),
                tenant_id: Set(auth.tenant_id),
                booking_id: Set(id),
                addon_id: Set(a.id),
                name: Set(a.name.clone()),
                price_minor: Set(a.price_minor),
                duration_minutes: Set(a.duration_minutes),
            });
            booking_addon::Entity::insert_many(snapshots).exec(&txn).await?;
        }
        announce(&txn, ctx, &auth, &tenant, EventKind::BookingCreated, None, &row).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    async fn booking_for_update(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
    ) -> Result<booking::Model> {
        booking::Entity::find_by_id(id)
            .filter(booking::Column::TenantId.eq(tenant_id))
            .one(txn)
            .await?
            .ok_or(not_found("booking"))
    }

    /// One booking for a change, `NOT_FOUND` unless within `visible`.
    async fn booking_within(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
        visible: &Visible,
    ) -> Result<booking::Model> {
        let row = Self::booking_for_update(txn, tenant_id, id).await?;
        if visible.allows_booking(row.provider_id, row.customer_id) { Ok(row) } else { Err(not_found("booking")) }
    }

    async fn open_bookings(&self, ctx: &RequestContext) -> Result<(Authorized, DatabaseTransaction, Visible)> {
        self.open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, Own::Either, Access::Read).await
    }

    async fn open_booking_create(
        &self,
        ctx: &RequestContext,
        access: Access,
    ) -> Result<(Authorized, DatabaseTransaction, Visible)> {
        self.open_reach(ctx, Permission::BookingCreate, Permission::BookingCreateOwn, Own::Customer, access).await
    }

    /// Moves an upcoming booking to another start (and optionally provider). The
    /// price stays as booked; so does the length, unless the booking moves to
    /// another provider: then it takes that provider's time for the service, plus
    /// the booked add-ons. `booking:reschedule_own` moves the
    /// actor's own bookings as a customer, up to the tenant's reschedule notice;
    /// others' are `NOT_FOUND` to them.
    pub async fn reschedule_booking(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        starts_at: DateTime<Utc>,
        provider_id: Option<ProviderId>,
    ) -> Result<Booking> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingRescheduleOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let current = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        if !current.status.is_upcoming() {
            return Err(DomainError::invalid(
                "status",
                format!("a {} booking cannot be rescheduled", current.status.as_str()),
            ));
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        if !ctx.has(Permission::BookingManage) {
            check_customer_reschedule(&current, now, &tenant)?;
        }
        let tz = timezone(&tenant)?;
        Self::check_start(starts_at, now, &tenant)?;
        let provider_id = provider_id.unwrap_or(current.provider_id);
        let offer = Self::bookable_offer(&txn, auth.tenant_id, current.service_id, Some(provider_id), &[]).await?;
        let duration_minutes = if provider_id == current.provider_id {
            current.duration_minutes
        } else {
            let booked_addons: i32 = booking_addon::Entity::find()
                .filter(booking_addon::Column::TenantId.eq(auth.tenant_id))
                .filter(booking_addon::Column::BookingId.eq(id))
                .all(&txn)
                .await?
                .iter()
                .map(|a| a.duration_minutes)
                .sum();
            offer.duration_minutes() + booked_addons
        };
        let ends_at = starts_at + minutes(duration_minutes);
        let blocked_from = starts_at - minutes(offer.service.buffer_before_minutes);
        let blocked_until = ends_at + minutes(offer.service.buffer_after_minutes);
        Self::check_working_time(&txn, auth.tenant_id, tz, provider_id, blocked_from, blocked_until).await?;
        let window = (blocked_from, blocked_until);
        if let Some(conflict) = busy_conflict(&txn, auth.tenant_id, provider_id, window, Some(id), tz).await? {
            return Err(conflict);
        }
        let previous_start = current.starts_at;
        let before = current.clone();
        let mut row = current.into_active_model();
        row.provider_id = Set(provider_id);
        row.starts_at = Set(starts_at);
        row.ends_at = Set(ends_at);
        row.duration_minutes = Set(duration_minutes);
        row.blocked_from = Set(blocked_from);
        row.blocked_until = Set(blocked_until);
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(booking_write_error)?;
        let payload = serde_json::json!({ "previousStartsAt": previous_start });
        let kind = EventKind::BookingRescheduled;
        announce_with(&txn, ctx, &auth, &tenant, kind, Some(&before), &row, payload).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Moves a booking along its status machine (confirm, start, complete, no-show).
    pub async fn change_booking_status(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        to: BookingStatus,
    ) -> Result<Booking> {
        if to == BookingStatus::Cancelled {
            return Err(DomainError::invalid("status", "use cancelBooking to cancel"));
        }
        let (auth, txn) = self.open(ctx, Permission::BookingManage, Access::Write).await?;
        let now = ctx.now();
        let current = Self::booking_for_update(&txn, auth.tenant_id, id).await?;
        let status = current.status.transition(to)?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        check_status_timing(&current, status, now, timezone(&tenant)?)?;
        let before = current.clone();
        let mut row = current.into_active_model();
        row.status = Set(status);
        match status {
            BookingStatus::Confirmed => row.confirmed_at = Set(Some(now)),
            BookingStatus::InProgress => row.started_at = Set(Some(now)),
            BookingStatus::Completed => row.completed_at = Set(Some(now)),
            BookingStatus::NoShow => row.no_show_at = Set(Some(now)),
            BookingStatus::Scheduled | BookingStatus::Cancelled => {}
        }
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(booking_write_error)?;
        announce(&txn, ctx, &auth, &tenant, EventKind::BookingStatusChanged, Some(&before), &row).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Cancels an upcoming booking, recording who, when and why, and the refund due
    /// under the tenant's cancellation policy. `booking:cancel_own` cancels the
    /// actor's own bookings as a customer; others' are `NOT_FOUND` to them.
    pub async fn cancel_booking(&self, ctx: &RequestContext, id: BookingId, reason: Option<String>) -> Result<Booking> {
        let reason = parse_text("reason", reason.as_deref(), 500)?;
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingCancelOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let current = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        current.status.transition(BookingStatus::Cancelled)?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let refund = tenant.settings.refund_for_cancellation(current.price_minor, current.starts_at - now);
        let before = current.clone();
        let mut row = current.into_active_model();
        row.status = Set(BookingStatus::Cancelled);
        row.cancelled_at = Set(Some(now));
        row.cancelled_by = Set(auth.actor.map(|a| a.user_id));
        row.cancellation_reason = Set(reason);
        row.refund_minor = Set(Some(refund));
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        announce(&txn, ctx, &auth, &tenant, EventKind::BookingCancelled, Some(&before), &row).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Records the customer's review of a completed booking (one per booking) and
    /// updates the provider's rating. `review:create_own` reviews the actor's own
    /// bookings as a customer.
    pub async fn review_booking(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        rating: i32,
        comment: Option<String>,
    ) -> Result<Review> {
        let rating = i16::try_from(rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| DomainError::invalid("rating", "must be 1 to 5"))?;
        let comment = parse_text("comment", comment.as_deref(), 2000)?;
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::ReviewCreateOwn, Own::Customer, Access::Write)
            .await?;
        let booking = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        if booking.status != BookingStatus::Completed {
            return Err(DomainError::invalid("status", "only a completed booking can be reviewed"));
        }
        let row = review::ActiveModel {
            id: Set(uuid_v7_at(ctx.now())),
            tenant_id: Set(auth.tenant_id),
            booking_id: Set(booking.id),
            provider_id: Set(booking.provider_id),
            customer_id: Set(booking.customer_id),
            rating: Set(rating),
            comment: Set(comment),
            created_at: Set(ctx.now()),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "this booking has been reviewed already"))?;
        // One statement, so concurrent reviews of one provider cannot lose a count.
        provider::Entity::update_many()
            .col_expr(provider::Column::RatingSum, Expr::col(provider::Column::RatingSum).add(i64::from(rating)))
            .col_expr(provider::Column::ReviewCount, Expr::col(provider::Column::ReviewCount).add(1))
            .filter(provider::Column::TenantId.eq(auth.tenant_id))
            .filter(provider::Column::Id.eq(booking.provider_id))
            .exec(&txn)
            .await?;
        let entry = AuditEntry {
            action: "booking.reviewed",
            target_type: "booking",
            target_id: booking.id.to_string(),
            before: None,
            after: Some(serde_json::json!({ "rating": row.rating, "comment": row.comment })),
        };
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The tenant's bookings matching `filter`, ordered by start; with
    /// `booking:read_own` only those the actor takes part in.
    pub async fn bookings(
        &self,
        ctx: &RequestContext,
        filter: &BookingFilter,
        page: &PageRequest,
    ) -> Result<Page<Booking>> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.time_keyset()?;
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let mut select = booking::Entity::find().filter(booking::Column::TenantId.eq(auth.tenant_id));
        if let Some(within) = visible.bookings() {
            select = select.filter(within);
        }
        if let Some(from) = filter.from {
            select = select.filter(booking::Column::StartsAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(booking::Column::StartsAt.lt(to));
        }
        if let Some(provider_id) = filter.provider_id {
            select = select.filter(booking::Column::ProviderId.eq(provider_id));
        }
        if let Some(customer_id) = filter.customer_id {
            select = select.filter(booking::Column::CustomerId.eq(customer_id));
        }
        if !filter.statuses.is_empty() {
            select = select.filter(booking::Column::Status.is_in(filter.statuses.iter().copied()));
        }
        let rows = keyset.apply(select, booking::Column::StartsAt, booking::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Booking::from))
    }

    /// The next `limit` upcoming (scheduled or confirmed) bookings of each provider,
    /// from now, in one query for all of them.
    pub async fn upcoming_bookings_of(
        &self,
        ctx: &RequestContext,
        providers: &[ProviderId],
        limit: usize,
    ) -> Result<HashMap<ProviderId, Vec<Booking>>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::ProviderId.is_in(providers.iter().copied()))
            .filter(visible.bookings().unwrap_or_else(Condition::all))
            .filter(booking::Column::Status.is_in([BookingStatus::Scheduled, BookingStatus::Confirmed]))
            .filter(booking::Column::StartsAt.gte(ctx.now()))
            .order_by_asc(booking::Column::StartsAt)
            .order_by_asc(booking::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_provider: HashMap<ProviderId, Vec<Booking>> = HashMap::new();
        for row in rows {
            let list = by_provider.entry(row.provider_id).or_default();
            if list.len() < limit {
                list.push(row.into());
            }
        }
        Ok(by_provider)
    }

    /// Bookings by id (of the request's tenant only).
    pub async fn bookings_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Booking>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::Id.is_in(ids.iter().copied()))
            .filter(visible.bookings().unwrap_or_else(Condition::all))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.id, Booking::from(r))).collect())
    }

    /// The add-ons booked with several bookings.
    pub async fn addons_of_bookings(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Vec<BookedAddon>>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let ids = visible_ids(&txn, auth.tenant_id, ids, &visible).await?;
        let rows = booking_addon::Entity::find()
            .filter(booking_addon::Column::TenantId.eq(auth.tenant_id))
            .filter(booking_addon::Column::BookingId.is_in(ids))
            .order_by_asc(booking_addon::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_booking: HashMap<BookingId, Vec<BookedAddon>> = HashMap::new();
        for row in rows {
            by_booking.entry(row.booking_id).or_default().push(row.into());
        }
        Ok(by_booking)
    }

    /// The reviews of several bookings.
    pub async fn reviews_of_bookings(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Review>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let ids = visible_ids(&txn, auth.tenant_id, ids, &visible).await?;
        let rows = review::Entity::find()
            .filter(review::Column::TenantId.eq(auth.tenant_id))
            .filter(review::Column::BookingId.is_in(ids))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.booking_id, Review::from(r))).collect())
    }

    /// Reviews by id, of bookings the caller may read.
    pub async fn reviews_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[uuid::Uuid],
    ) -> Result<HashMap<uuid::Uuid, Review>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = review::Entity::find()
            .filter(review::Column::TenantId.eq(auth.tenant_id))
            .filter(review::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        let bookings: Vec<BookingId> = rows.iter().map(|r| r.booking_id).collect();
        let readable = visible_ids(&txn, auth.tenant_id, &bookings, &visible).await?;
        txn.commit().await?;
        Ok(rows.into_iter().filter(|r| readable.contains(&r.booking_id)).map(|r| (r.id, Review::from(r))).collect())
    }
}

/// The ids among `ids` of bookings within `visible`.
async fn visible_ids(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    ids: &[BookingId],
    visible: &Visible,
) -> Result<Vec<BookingId>> {
    let Some(within) = visible.bookings() else { return Ok(ids.to_vec()) };
    Ok(booking::Entity::find()
        .select_only()
        .column(booking::Column::Id)
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::Id.is_in(ids.iter().copied()))
        .filter(within)
        .into_tuple()
        .all(txn)
        .await?)
}

/// The customer record linked to the actor, made from `profile` on their first
/// booking in the tenant. Concurrent first bookings make one record.
async fn own_customer_record(
    txn: &DatabaseTransaction,
    auth: &Authorized,
    profile: &CustomerProfile,
    now: DateTime<Utc>,
) -> Result<CustomerId> {
    let user_id = auth.actor.ok_or_else(|| DomainError::Unauthenticated("sign in first".into()))?.user_id;
    if let Some(id) = reach::own_customer(txn, auth.tenant_id, user_id).await? {
        return Ok(id);
    }
    let row = customer::ActiveModel {
        id: Set(CustomerId::generate(now)),
        tenant_id: Set(auth.tenant_id),
        user_id: Set(Some(user_id)),
        name: Set(parse_name("name", &profile.name)?),
        email: Set(parse_email("email", profile.email.as_deref())?),
        phone: Set(None),
        notes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    customer::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([customer::Column::TenantId, customer::Column::UserId])
                .target_and_where(Expr::col(customer::Column::UserId).is_not_null())
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    reach::own_customer(txn, auth.tenant_id, user_id)
        .await?
        .ok_or_else(|| DomainError::Internal("the customer record made for a booking is missing".into()))
}

async fn find_by_key<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, key: &str) -> Result<Option<booking::Model>> {
    Ok(booking::Entity::find()
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?)
}

/// The earlier booking made with the same key, if the request is the same.
fn repeat_of(row: booking::Model, fingerprint: &str) -> Result<Booking> {
    if row.request_fingerprint.as_deref() == Some(fingerprint) {
        Ok(row.into())
    } else {
        Err(DomainError::Conflict("this idempotency key was used for a different booking request".into()))
    }
}

/// A digest of who asked what, to tell a repeat from a different request (or
/// another user's) that reuses a key.
fn fingerprint(ctx: &RequestContext, input: &NewBooking) -> String {
    let mut addons: Vec<String> = input.addon_ids.iter().map(ToString::to_string).collect();
    addons.sort();
    let customer = match &input.customer {
        BookingCustomer::Existing(id) => id.to_string(),
        BookingCustomer::Myself(_) => "myself".to_owned(),
    };
    let requester = ctx.actor().map(|a| a.user_id.to_string()).unwrap_or_default();
    let canonical = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        requester,
        input.service_id,
        input.provider_id,
        customer,
        input.starts_at.to_rfc3339(),
        addons.join(","),
        input.notes.as_deref().unwrap_or_default().trim()
    );
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Records a change to a booking in its transaction: an audit record of the
/// changed fields, the event subscribers receive, and the messages it causes
/// (`tenant` is the one the caller already loaded).
async fn announce(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    tenant: &Tenant,
    kind: EventKind,
    before: Option<&booking::Model>,
    row: &booking::Model,
) -> Result<()> {
    announce_with(txn, ctx, auth, tenant, kind, before, row, serde_json::json!({})).await
}

async fn announce_with(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    tenant: &Tenant,
    kind: EventKind,
    before: Option<&booking::Model>,
    row: &booking::Model,
    extra: serde_json::Value,
) -> Result<()> {
    let entry = AuditEntry {
        action: kind.as_str(),
        target_type: "booking",
        target_id: row.id.to_string(),
        before: before.map(audited),
        after: Some(audited(row)),
    };
    tessera_audit::append(txn, ctx, auth, entry).await?;
    let mut payload = serde_json::json!({
        "bookingId": row.id,
        "providerId": row.provider_id,
        "customerId": row.customer_id,
        "status": row.status.as_str(),
        "startsAt": row.starts_at,
        "endsAt": row.ends_at,
    });
    if let (Some(target), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
        target.extend(more);
    }
    let event = DomainEvent::new(ctx.now(), auth.tenant_id, kind, row.id.as_uuid(), payload);
    event::enqueue(txn, &event).await?;
    crate::notices::queue_booking_notices(txn, tenant, ctx.now(), kind, before, row, &event.payload).await
}

/// The fields of a booking the audit log compares.
fn audited(row: &booking::Model) -> serde_json::Value {
    serde_json::json!({
        "status": row.status.as_str(),
        "providerId": row.provider_id,
        "customerId": row.customer_id,
        "serviceId": row.service_id,
        "startsAt": row.starts_at,
        "endsAt": row.ends_at,
        "priceMinor": row.price_minor,
        "currency": row.currency,
        "notes": row.notes,
        "cancellationReason": row.cancellation_reason,
        "refundMinor": row.refund_minor,
    })
}
