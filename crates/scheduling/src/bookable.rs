//! What can be booked and when: a service with a provider on whose terms (the
//! offer), starts the tenant's notice and the provider's working time allow, and
//! the search for free slots across providers and dates. The slot arithmetic
//! itself is in `availability.rs`; making the booking, in `booking.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use tessera_kernel::db::Access;
use tessera_kernel::{AddonId, DomainError, Permission, ProviderId, RequestContext, Result, ServiceId, TenantId};
use tessera_tenant::Tenant;

use crate::availability::{self, Busy, Calendar, Slot, SlotQuery};
use crate::entity::{booking, provider, provider_service, schedule_exception, service, service_addon, working_hours};
use crate::model::{MAX_PRICE_MINOR, ScheduleException, WeeklyInterval};
use crate::service::{SchedulingService, not_found};

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

/// The most providers a calendar's reads name (see [`Calendars::load`]).
const NAMED_PROVIDERS_MAX: usize = 8;

/// Everything availability needs about some providers, loaded in a fixed number of
/// queries whatever the number of providers or days.
pub(crate) struct Calendars {
    hours: HashMap<ProviderId, Vec<WeeklyInterval>>,
    exceptions: Vec<ScheduleException>,
    busy: HashMap<ProviderId, Vec<Busy>>,
}

impl Calendars {
    pub(crate) async fn load(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        providers: &[ProviderId],
        dates: (NaiveDate, NaiveDate),
        instants: (DateTime<Utc>, DateTime<Utc>),
        busy_at: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        // A few providers are named in the reads; for more, the tenant's rows
        // are read and the others' never looked at: PostgreSQL matches each row
        // against a list of bound ids one by one, which cost a month of fifty
        // providers' bookings 3.7 ms in the database against 1.9 ms without it.
        let named = (providers.len() <= NAMED_PROVIDERS_MAX).then_some(providers);
        let rows = working_hours::Entity::find()
            .filter(working_hours::Column::TenantId.eq(tenant_id))
            .apply_if(named, |q, ids| q.filter(working_hours::Column::ProviderId.is_in(ids.iter().copied())))
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
        // What holds time then, when asked (working time alone needs none).
        let busy = match busy_at {
            Some(now) => Self::busy(txn, tenant_id, named, instants, now).await?,
            None => HashMap::new(),
        };
        Ok(Self { hours, exceptions, busy })
    }

    /// The windows that bookings holding time at `now` and class sessions
    /// block between `instants`, per provider, in order.
    async fn busy(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        named: Option<&[ProviderId]>,
        instants: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Result<HashMap<ProviderId, Vec<Busy>>> {
        let bookings = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(tenant_id))
            .apply_if(named, |q, ids| q.filter(booking::Column::ProviderId.is_in(ids.iter().copied())))
            .filter(crate::payment_holds::holds_time(now))
            // A seat shares its session's time, which the session holds.
            .filter(booking::Column::ClassSessionId.is_null())
            .filter(booking::Column::BlockedUntil.gt(instants.0))
            .filter(booking::Column::BlockedFrom.lt(instants.1));
        // Only the three columns the calendar needs: a month of a busy chain
        // is thousands of rows, and whole models would be most of the search.
        let rows: Vec<(ProviderId, DateTime<Utc>, DateTime<Utc>)> = bookings
            .select_only()
            .columns([booking::Column::ProviderId, booking::Column::BlockedFrom, booking::Column::BlockedUntil])
            .order_by_asc(booking::Column::BlockedFrom)
            .into_tuple()
            .all(txn)
            .await?;
        let sessions = crate::classes::sessions_blocking(txn, tenant_id, named, instants).await?;
        let mut busy: HashMap<ProviderId, Vec<Busy>> = HashMap::new();
        for (provider_id, blocked_from, blocked_until) in rows.into_iter().chain(sessions) {
            busy.entry(provider_id).or_default().push((blocked_from, blocked_until));
        }
        // The slot search walks each calendar in order.
        for windows in busy.values_mut() {
            windows.sort_unstable();
        }
        Ok(busy)
    }

    pub(crate) fn of(&self, provider_id: ProviderId) -> Calendar<'_> {
        Calendar {
            provider_id,
            weekly: self.hours.get(&provider_id).map_or(&[], Vec::as_slice),
            exceptions: &self.exceptions,
            busy: self.busy.get(&provider_id).map_or(&[], Vec::as_slice),
        }
    }
}

/// What a slot search needs, read in the caller's transaction; the search
/// itself runs in memory after it ends ([`SlotSearch::first`]).
pub(crate) struct SlotSearch {
    offer: Offer,
    terms: HashMap<ProviderId, provider_service::Model>,
    providers: Vec<ProviderId>,
    calendars: Calendars,
    query: SlotQuery,
    /// The resources of the type the service needs, if it needs one.
    resources: Option<crate::resource_holds::ResourceCalendars>,
}

impl SlotSearch {
    /// Reads what searching `query` at `now` needs: the offer (an
    /// appointment, not a class), the providers offering it with their own
    /// terms, and their calendars.
    pub(crate) async fn load(
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        query: &AvailabilityQuery,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let tz = timezone(tenant)?;
        let (from, to) = search_dates(query.from, query.to, now, tz)?;
        let offer =
            SchedulingService::bookable_offer(txn, tenant.id, query.service_id, query.provider_id, &query.addon_ids)
                .await?;
        offer.check_appointment()?;
        // The active providers offering the service, with their own terms, in one read.
        let terms: HashMap<ProviderId, provider_service::Model> = provider_service::Entity::find()
            .inner_join(provider::Entity)
            .filter(provider_service::Column::TenantId.eq(tenant.id))
            .filter(provider_service::Column::ServiceId.eq(query.service_id))
            .filter(provider::Column::TenantId.eq(tenant.id))
            .filter(provider::Column::Active.eq(true))
            .all(txn)
            .await?
            .into_iter()
            .filter(|row| query.provider_id.is_none_or(|wanted| wanted == row.provider_id))
            .map(|row| (row.provider_id, row))
            .collect();
        let mut providers: Vec<ProviderId> = terms.keys().copied().collect();
        providers.sort();
        let dates = (from.pred_opt().unwrap_or(from), to.succ_opt().unwrap_or(to));
        let instants = (
            dates.0.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::days(1),
            dates.1.and_time(chrono::NaiveTime::MIN).and_utc() + Duration::days(2),
        );
        let calendars = Calendars::load(txn, tenant.id, &providers, dates, instants, Some(now)).await?;
        let settings = &tenant.settings;
        let query = SlotQuery {
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
        };
        let resources = match offer.service.resource_type.as_deref() {
            Some(kind) => {
                Some(crate::resource_holds::ResourceCalendars::load(txn, tenant, (kind, instants), now, false).await?)
            }
            None => None,
        };
        Ok(Self { offer, terms, providers, calendars, query, resources })
    }

    /// The first `limit` free starts, by start then provider.
    pub(crate) fn first(&self, limit: usize) -> Vec<Slot> {
        // Each provider quotes their own terms.
        let searches = self.providers.iter().filter_map(|p| {
            let own = self.terms.get(p);
            // Not bookable (creating it is refused), so not offered.
            (self.offer.price_with(own) <= MAX_PRICE_MINOR).then(|| {
                let query = SlotQuery {
                    duration: minutes(self.offer.duration_with(own)),
                    price_minor: self.offer.price_with(own),
                    ..self.query
                };
                (self.calendars.of(*p), query)
            })
        });
        // A start is offered only when a resource it needs is free too.
        let resource_free = |slot: &Slot| {
            let minutes = (slot.ends_at - slot.starts_at).num_minutes();
            match (&self.resources, crate::resource_holds::held_window(&self.offer.service, slot.starts_at, minutes)) {
                (Some(resources), Some(window)) => !resources.free_for(window).is_empty(),
                _ => true,
            }
        };
        availability::first_slots_where(searches, limit, resource_free)
    }
}

pub(crate) fn timezone(tenant: &Tenant) -> Result<Tz> {
    tenant
        .timezone
        .parse::<Tz>()
        .map_err(|_| DomainError::Internal(format!("tenant timezone {} is invalid", tenant.timezone)))
}

/// Local dates around `instant`'s, wide enough for any timezone offset.
pub(crate) fn dates_around(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = from.with_timezone(&tz).date_naive();
    let last = until.with_timezone(&tz).date_naive();
    (first.pred_opt().unwrap_or(first), last.succ_opt().unwrap_or(last))
}

pub(crate) fn minutes(n: i32) -> Duration {
    Duration::minutes(i64::from(n))
}

/// The service, provider and add-ons of a booking, checked against each other.
pub(crate) struct Offer {
    pub(crate) service: service::Model,
    pub(crate) addons: Vec<service_addon::Model>,
    /// The named provider's terms for the service.
    terms: Option<provider_service::Model>,
    /// The named provider.
    pub(crate) provider: Option<provider::Model>,
    /// Seats booked (of a class session; 1 for an appointment): the price
    /// is per seat.
    pub(crate) seats: i32,
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
    pub(crate) fn duration_minutes(&self) -> i32 {
        self.duration_with(self.terms.as_ref())
    }

    /// Price with the named provider's terms, for every seat booked.
    pub(crate) fn price_minor(&self) -> i64 {
        self.price_with(self.terms.as_ref()) * i64::from(self.seats)
    }
}

impl Offer {
    /// `BAD_USER_INPUT` for a class: it is booked seat by seat in its
    /// sessions, not at a free start.
    pub(crate) fn check_appointment(&self) -> Result<()> {
        match self.service.class_capacity {
            Some(_) => {
                Err(DomainError::invalid("serviceId", "this service is a class: book a seat in one of its sessions"))
            }
            None => Ok(()),
        }
    }
}

impl SchedulingService {
    pub(crate) async fn bookable_offer(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        service_id: ServiceId,
        provider_id: Option<ProviderId>,
        addon_ids: &[AddonId],
    ) -> Result<Offer> {
        let service = service::Entity::find_by_id((tenant_id, service_id))
            .filter(service::Column::DeletedAt.is_null())
            .one(txn)
            .await?
            .ok_or(not_found("service"))?;
        if !service.active {
            return Err(DomainError::invalid("serviceId", "this service is not bookable at the moment"));
        }
        let (mut terms, mut named) = (None, None);
        if let Some(provider_id) = provider_id {
            let provider =
                provider::Entity::find_by_id((tenant_id, provider_id)).one(txn).await?.ok_or(not_found("provider"))?;
            if !provider.active {
                return Err(DomainError::invalid("providerId", "this provider is not taking bookings"));
            }
            terms = provider_service::Entity::find_by_id((tenant_id, provider_id, service_id)).one(txn).await?;
            if terms.is_none() {
                return Err(DomainError::invalid("providerId", "this provider does not offer the service"));
            }
            named = Some(provider);
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
        let offer = Offer { service, addons, terms, provider: named, seats: 1 };
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
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let search = SlotSearch::load(&txn, &tenant, &query, ctx.now()).await?;
        txn.commit().await?;
        Ok(search.first(query.limit))
    }

    pub(crate) fn check_start(starts_at: DateTime<Utc>, now: DateTime<Utc>, tenant: &Tenant) -> Result<()> {
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
    pub(crate) async fn check_working_time(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        tz: Tz,
        provider_id: ProviderId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        let dates = dates_around(tz, from, until);
        // Only hours and exceptions: what holds the time is checked apart.
        let calendars = Calendars::load(txn, tenant_id, &[provider_id], dates, (from, until), None).await?;
        if !availability::within_working_time(&calendars.of(provider_id), tz, from, until) {
            return Err(DomainError::invalid("startsAt", "the provider does not work then"));
        }
        Ok(())
    }
}
