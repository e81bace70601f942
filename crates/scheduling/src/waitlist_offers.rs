//! Offering freed time to the waitlist.
//!
//! An offer is a booking made for the first waiting customer whose wish
//! the time fits (service, provider or anyone, dates), scheduled and
//! holding its time until `offer_expires_at` (the business's
//! `waitlistOfferMinutes`, never past the start). Because it is a booking,
//! the database's no-overlap rule holds it: the same time can never be
//! offered to two people, nor booked by someone else meanwhile, whatever
//! runs in parallel. The entry is locked while its offer is made, so it
//! holds one offer at a time. For a class the offer is a seat in the first
//! session with one left, counted by the session like any seat.
//!
//! Time is offered when it frees (a cancellation, a reschedule, an offer
//! declined or run out: right after that commit, for that provider's day)
//! and by the waitlist job every minute (new opening hours, lapsed payment
//! holds, anything else), entries in the order they joined. An offer that
//! runs out is freed like a lapsed payment hold (by the next booking
//! wanting the time, or the job) and its entry is `EXPIRED`; the job then
//! offers the time to the next.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::EventKind;
use tessera_kernel::{BookingId, ClassSessionId, DomainError, ProviderId, Result, TenantId, WaitlistEntryId};
use tessera_tenant::Tenant;

use crate::availability::Slot;
use crate::bookable::{AvailabilityQuery, SlotSearch, minutes, timezone};
use crate::booking_record::announce_by_system;
use crate::classes::Placement;
use crate::entity::{booking, class_session, service, waitlist_entry};
use crate::model::{BookingStatus, WaitlistEntry, WaitlistStatus};
use crate::recurrence::local_instant;
use crate::service::{SchedulingService, booking_write_error};
use crate::waitlist_ends::{action_of, audit_entry, is_offer, lapse};

/// The most waiting entries one pass over a business looks at.
const ENTRIES_PER_PASS: u64 = 50;

/// The most free starts tried for one entry when the first are taken
/// meanwhile.
const STARTS_TRIED: usize = 5;

/// The most offers that ran out one job run frees.
const LAPSES_PER_RUN: u64 = 200;

/// The most businesses with people waiting one job run looks at.
const BUSINESSES_PER_RUN: u64 = 100;

/// How many days from its first one an entry's wish covers at most (one
/// availability search).
pub const MAX_WAITLIST_DAYS: i64 = crate::bookable::MAX_AVAILABILITY_DAYS;

/// Time a booking freed: its provider's blocked window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Freed {
    pub(crate) provider_id: ProviderId,
    pub(crate) window: (DateTime<Utc>, DateTime<Utc>),
}

impl Freed {
    /// The time `row` held.
    pub(crate) fn of(row: &booking::Model) -> Self {
        Self { provider_id: row.provider_id, window: (row.blocked_from, row.blocked_until) }
    }
}

/// What one waitlist job run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitlistRun {
    /// Offers that ran out and were freed.
    pub lapsed: usize,
    /// Offers made.
    pub offered: usize,
}

/// What `entry` waits for now: its provider (or anyone) and local dates
/// from today (at most [`MAX_WAITLIST_DAYS`]), narrowed to `freed`'s
/// provider and days when given. `None` when nothing is left to search.
fn wish_of(
    entry: &waitlist_entry::Model,
    freed: Option<Freed>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<Option<(Option<ProviderId>, NaiveDate, NaiveDate)>> {
    let tz = timezone(tenant)?;
    let today = now.with_timezone(&tz).date_naive();
    let mut from = entry.earliest_date.map_or(today, |d| d.max(today));
    let mut to = entry.latest_date.unwrap_or(from + Duration::days(MAX_WAITLIST_DAYS - 1));
    to = to.min(from + Duration::days(MAX_WAITLIST_DAYS - 1));
    let mut provider_id = entry.provider_id;
    if let Some(freed) = freed {
        from = from.max(freed.window.0.with_timezone(&tz).date_naive());
        to = to.min(freed.window.1.with_timezone(&tz).date_naive());
        provider_id = Some(freed.provider_id);
    }
    Ok((from <= to).then_some((provider_id, from, to)))
}

/// Where an offer goes: a free start of an appointment, or a seat in a
/// session of a class (its id, instructor and start).
#[derive(Debug, Clone, Copy)]
enum Spot {
    Start(Slot),
    Seat(ClassSessionId, ProviderId, DateTime<Utc>),
}

/// The first free spots `entry` waits for: sessions of its class with a
/// seat left, or free starts of its appointment; none when the service
/// or provider is no longer bookable.
async fn free_spots(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    entry: &waitlist_entry::Model,
    (provider_id, from, to): (Option<ProviderId>, NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Result<Vec<Spot>> {
    let found = service::Entity::find_by_id((tenant.id, entry.service_id)).one(txn).await?;
    let Some(service) = found.filter(|s| s.active && s.deleted_at.is_none()) else { return Ok(Vec::new()) };
    if service.class_capacity.is_some() {
        // Here only: its `min` and `max` would shadow `Ord`'s elsewhere.
        use sea_orm::sea_query::ExprTrait;
        let tz = timezone(tenant)?;
        let earliest = now + Duration::minutes(i64::from(tenant.settings.booking_min_notice_minutes));
        let mut sessions = class_session::Entity::find()
            .filter(class_session::Column::TenantId.eq(tenant.id))
            .filter(class_session::Column::ServiceId.eq(entry.service_id))
            .filter(class_session::Column::Status.eq(crate::classes::SCHEDULED))
            .filter(class_session::Column::StartsAt.gte(earliest))
            .filter(class_session::Column::StartsAt.gte(local_instant(tz, from, 0)?))
            .filter(class_session::Column::StartsAt.lt(local_instant(tz, to + Duration::days(1), 0)?))
            .filter(Expr::col(class_session::Column::SeatsTaken).lt(Expr::col(class_session::Column::Capacity)));
        if let Some(provider_id) = provider_id {
            sessions = sessions.filter(class_session::Column::ProviderId.eq(provider_id));
        }
        let rows = sessions.order_by_asc(class_session::Column::StartsAt).limit(STARTS_TRIED as u64).all(txn).await?;
        return Ok(rows.into_iter().map(|s| Spot::Seat(s.id, s.provider_id, s.starts_at)).collect());
    }
    let query = AvailabilityQuery {
        service_id: entry.service_id,
        provider_id,
        addon_ids: Vec::new(),
        from: Some(from),
        to: Some(to),
        after: None,
        limit: STARTS_TRIED,
    };
    match SlotSearch::load(txn, tenant, &query, now).await {
        Ok(search) => Ok(search.first(STARTS_TRIED).into_iter().map(Spot::Start).collect()),
        // The provider no longer offers it, or is away: nothing to offer.
        Err(DomainError::InvalidInput { .. } | DomainError::NotFound { .. }) => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

impl SchedulingService {
    /// Offers the time `freed` (or, when `None`, anything free) to the
    /// business's waiting entries, in the order they joined; how many
    /// offers it made. Each offer in its own transaction.
    pub(crate) async fn offer_to_waitlist(
        &self,
        tenant_id: TenantId,
        freed: Option<Freed>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let scope = Scope::Tenant { tenant_id, user_id: None };
        let txn = self.db.begin(scope, Access::Read).await?;
        let mut waiting = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
            .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Waiting));
        let mut tenant = None;
        if let Some(freed) = freed {
            let loaded = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
            let tz = timezone(&loaded)?;
            let days = (freed.window.0.with_timezone(&tz).date_naive(), freed.window.1.with_timezone(&tz).date_naive());
            let id = waitlist_entry::Column::ProviderId;
            let (earliest, latest) = (waitlist_entry::Column::EarliestDate, waitlist_entry::Column::LatestDate);
            waiting = waiting
                .filter(Condition::any().add(id.is_null()).add(id.eq(freed.provider_id)))
                .filter(Condition::any().add(earliest.is_null()).add(earliest.lte(days.1)))
                .filter(Condition::any().add(latest.is_null()).add(latest.gte(days.0)));
            tenant = Some(loaded);
        }
        let waiting = waiting.order_by_asc(waitlist_entry::Column::Id).limit(ENTRIES_PER_PASS).all(&txn).await?;
        if waiting.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        let tenant = match tenant {
            Some(tenant) => tenant,
            None => tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?,
        };
        txn.commit().await?;
        let mut offered = 0;
        for entry in waiting {
            match Box::pin(self.offer_entry(&tenant, &entry, freed, now)).await {
                Ok(true) => offered += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%tenant_id, entry = %entry.id, error = %err, "offering time to a waitlist entry failed")
                }
            }
        }
        Ok(offered)
    }

    /// Offers `entry` the first free time (or seat) it waits for, if any:
    /// searched, then held in its own transaction, where the database
    /// decides; a time or seat taken meanwhile makes it try the next.
    pub(crate) async fn offer_entry(
        &self,
        tenant: &Tenant,
        entry: &waitlist_entry::Model,
        freed: Option<Freed>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some(wish) = wish_of(entry, freed, tenant, now)? else { return Ok(false) };
        let txn = self.db.begin(Scope::Tenant { tenant_id: tenant.id, user_id: None }, Access::Read).await?;
        let spots = free_spots(&txn, tenant, entry, wish, now).await?;
        txn.commit().await?;
        for spot in spots {
            match Box::pin(self.hold_offer(tenant, entry.id, spot, now)).await {
                // Taken meanwhile: the next one.
                Err(DomainError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Ok(false)
    }

    /// Makes the offer of `spot` to entry `id` if it still waits: the
    /// booking holding the time (or seat) and the entry naming it, in one
    /// transaction. `CONFLICT` when it was taken meanwhile.
    async fn hold_offer(&self, tenant: &Tenant, id: WaitlistEntryId, spot: Spot, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Tenant { tenant_id: tenant.id, user_id: None }, Access::Write).await?;
        // Locked: another replica offering it at once waits, then finds it offered.
        let found = waitlist_entry::Entity::find_by_id((tenant.id, id)).lock_exclusive().one(&txn).await?;
        let Some(entry) = found.filter(|e| e.status == WaitlistStatus::Waiting) else { return Ok(false) };
        let tz = timezone(tenant)?;
        let (provider_id, starts_at) = match spot {
            Spot::Start(slot) => (slot.provider_id, slot.starts_at),
            Spot::Seat(_, provider_id, starts_at) => (provider_id, starts_at),
        };
        let mut offer = Self::bookable_offer(&txn, tenant.id, entry.service_id, Some(provider_id), &[]).await?;
        let place = match spot {
            Spot::Seat(session, ..) => {
                crate::classes::seat_placement(&txn, tenant, (session, 1), &mut offer, now).await?
            }
            Spot::Start(_) => {
                Self::check_start(starts_at, now, tenant)?;
                let ends_at = starts_at + minutes(offer.duration_minutes());
                let blocked = (
                    starts_at - minutes(offer.service.buffer_before_minutes),
                    ends_at + minutes(offer.service.buffer_after_minutes),
                );
                Self::check_working_time(&txn, tenant.id, tz, provider_id, blocked.0, blocked.1).await?;
                crate::payment_holds::free_window(&txn, tenant, (provider_id, blocked, None), now, tz).await?;
                Placement { ends_at, blocked, session: None, seats: 1 }
            }
        };
        // Held for the business's minutes, never past the start.
        let hold = i64::from(tenant.settings.waitlist_offer_minutes);
        let until = (now + Duration::minutes(hold)).min(starts_at);
        let booking_id = BookingId::generate(now);
        let mut row = crate::booking::fresh_row(
            (tenant.id, booking_id),
            (provider_id, entry.customer_id),
            starts_at,
            &offer,
            &place,
            now,
        );
        row.offer_expires_at = Set(Some(until));
        let row = row
            .insert(&txn)
            .await
            .map_err(|e| crate::classes::seat_refusal(&e).unwrap_or_else(|| booking_write_error(e)))?;
        if place.session.is_none() {
            crate::resource_holds::hold_resource(&txn, tenant, &row, &offer.service, now).await?;
        }
        let before = WaitlistEntry::from(entry.clone());
        let mut change = entry.into_active_model();
        change.status = Set(WaitlistStatus::Offered);
        change.offer_booking_id = Set(Some(booking_id));
        change.offered_at = Set(Some(now));
        change.offer_expires_at = Set(Some(until));
        change.updated_at = Set(now);
        let entry = change.update(&txn).await?;
        audit_entry(&txn, None, tenant.id, action_of(WaitlistStatus::Offered), (Some(&before), &entry), now).await?;
        let mut extra = serde_json::json!({ "waitlistEntryId": entry.id, "offerExpiresAt": until });
        if let Spot::Seat(session, ..) = spot {
            extra["classSessionId"] = serde_json::json!(session);
            extra["seats"] = serde_json::json!(1);
        }
        announce_by_system(&txn, tenant, now, (EventKind::BookingCreated, None, &row), extra).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Offers `freed` to the waitlist after the change that freed it
    /// committed. A failure is logged, not the request's: the waitlist job
    /// offers it within a minute.
    pub(crate) async fn offer_freed(&self, tenant_id: TenantId, freed: Freed, now: DateTime<Utc>) {
        // Boxed: the request's future would otherwise carry the whole pass.
        if let Err(err) = Box::pin(self.offer_to_waitlist(tenant_id, Some(freed), now)).await {
            tracing::warn!(%tenant_id, error = %err, "offering freed time to the waitlist failed");
        }
    }

    /// The waitlist job: frees every business's offers that ran out by
    /// `now` and offers their time to the next, then offers whatever is
    /// free to the businesses' waiting entries (new opening hours, lapsed
    /// payment holds, …).
    pub async fn run_waitlist(&self, now: DateTime<Utc>) -> Result<WaitlistRun> {
        let mut run = WaitlistRun::default();
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let lapsed: Vec<(TenantId, BookingId)> = booking::Entity::find()
            .select_only()
            .columns([booking::Column::TenantId, booking::Column::Id])
            .filter(booking::Column::Status.eq(BookingStatus::Scheduled))
            .filter(booking::Column::OfferExpiresAt.lte(now))
            .order_by_asc(booking::Column::OfferExpiresAt)
            .limit(LAPSES_PER_RUN)
            .into_tuple()
            .all(&txn)
            .await?;
        let businesses: Vec<TenantId> = waitlist_entry::Entity::find()
            .select_only()
            .column(waitlist_entry::Column::TenantId)
            .distinct()
            .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Waiting))
            .order_by_asc(waitlist_entry::Column::TenantId)
            .limit(BUSINESSES_PER_RUN)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        for (tenant_id, id) in lapsed {
            match Box::pin(self.lapse_offer(tenant_id, id, now)).await {
                Ok(Some(freed)) => {
                    run.lapsed += 1;
                    run.offered += Box::pin(self.offer_to_waitlist(tenant_id, Some(freed), now)).await.unwrap_or(0);
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(%tenant_id, booking = %id, error = %err, "freeing a lapsed waitlist offer failed")
                }
            }
        }
        for tenant_id in businesses {
            match Box::pin(self.offer_to_waitlist(tenant_id, None, now)).await {
                Ok(made) => run.offered += made,
                Err(err) => tracing::warn!(%tenant_id, error = %err, "offering time to the waitlist failed"),
            }
        }
        Ok(run)
    }

    /// Frees the offer `id` if it ran out and is still held, in its own
    /// transaction; the time it freed.
    async fn lapse_offer(&self, tenant_id: TenantId, id: BookingId, now: DateTime<Utc>) -> Result<Option<Freed>> {
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: None }, Access::Write).await?;
        // Read again in the writing transaction: it may have been accepted meanwhile.
        let row = booking::Entity::find_by_id((tenant_id, id)).one(&txn).await?;
        let Some(row) = row.filter(|r| is_offer(r) && crate::payment_holds::hold_ended(r, now)) else {
            return Ok(None);
        };
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
        let freed = Freed::of(&row);
        let lapsed = lapse(&txn, &tenant, row, now).await?;
        txn.commit().await?;
        Ok(lapsed.then_some(freed))
    }
}
