//! Offering freed time to the waitlist.
//!
//! An offer is a booking made for the first waiting customer whose wish
//! the time fits (service, provider or anyone, dates), scheduled and
//! holding its time until `offer_expires_at` (the business's
//! `waitlistOfferMinutes`, never past the start). Because it is a booking,
//! the database's no-overlap rule holds it: the same time can never be
//! offered to two people, nor booked by someone else meanwhile, whatever
//! runs in parallel. The entry is locked while its offer is made, so it
//! holds one offer at a time.
//!
//! Time is offered when it frees (a cancellation, a reschedule, an offer
//! declined or run out: right after that commit, for that provider's day)
//! and by the waitlist job every minute (new opening hours, lapsed payment
//! holds, anything else), entries in the order they joined. An offer that
//! runs out is freed like a lapsed payment hold (by the next booking
//! wanting the time, or the job) and its entry is `EXPIRED`; the job then
//! offers the time to the next.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::EventKind;
use tessera_kernel::{BookingId, DomainError, ProviderId, RequestContext, Result, TenantId, WaitlistEntryId};
use tessera_tenant::Tenant;

use crate::availability::Slot;
use crate::bookable::{AvailabilityQuery, SlotSearch, minutes, timezone};
use crate::booking_record::announce_by_system;
use crate::classes::Placement;
use crate::entity::{booking, waitlist_entry};
use crate::model::{BookingStatus, WaitlistEntry, WaitlistStatus};
use crate::service::{SchedulingService, booking_write_error, not_found};

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

/// Whether `row` is a waitlist offer not accepted (nor ended) yet.
pub(crate) fn is_offer(row: &booking::Model) -> bool {
    row.status == BookingStatus::Scheduled && row.offer_expires_at.is_some()
}

/// `BAD_USER_INPUT` for a change only a booking can take (a move, a
/// status): an offer is accepted first.
pub(crate) fn check_not_offered(row: &booking::Model) -> Result<()> {
    if is_offer(row) {
        return Err(DomainError::invalid("id", "this time is offered from the waitlist: accept the offer first"));
    }
    Ok(())
}

/// Ends the offer of booking `id` as `to` (declined, left), in the
/// caller's transaction: its entry stops holding it, audited as `by`'s (the
/// system's when `None`). The entry, when it still held the offer.
pub(crate) async fn close_offer(
    txn: &DatabaseTransaction,
    by: Option<&RequestContext>,
    (tenant_id, id): (TenantId, BookingId),
    to: WaitlistStatus,
    now: DateTime<Utc>,
) -> Result<Option<waitlist_entry::Model>> {
    let Some(entry) = offered_entry(txn, tenant_id, id).await? else { return Ok(None) };
    let closed = close_entry(txn, by, entry, to, now).await?;
    Ok(Some(closed))
}

/// Moves `entry` to `to`, closed now, audited.
pub(crate) async fn close_entry(
    txn: &DatabaseTransaction,
    by: Option<&RequestContext>,
    entry: waitlist_entry::Model,
    to: WaitlistStatus,
    now: DateTime<Utc>,
) -> Result<waitlist_entry::Model> {
    let before = WaitlistEntry::from(entry.clone());
    let mut change = entry.into_active_model();
    change.status = Set(to);
    change.updated_at = Set(now);
    if !to.is_open() {
        change.closed_at = Set(Some(now));
    }
    let row = change.update(txn).await?;
    audit_entry(txn, by, row.tenant_id, action_of(to), (Some(&before), &row), now).await?;
    Ok(row)
}

/// Records a change of an entry in the audit log.
pub(crate) async fn audit_entry(
    txn: &DatabaseTransaction,
    by: Option<&RequestContext>,
    tenant_id: TenantId,
    action: &'static str,
    (before, row): (Option<&WaitlistEntry>, &waitlist_entry::Model),
    now: DateTime<Utc>,
) -> Result<()> {
    let after = WaitlistEntry::from(row.clone()).audited();
    let entry = AuditEntry::change(
        action,
        "waitlist_entry",
        row.id,
        before.map(WaitlistEntry::audited).as_ref(),
        Some(&after),
    )?;
    tessera_audit::append_by(txn, by, tenant_id, now, entry).await
}

/// The audit action of an entry reaching `status`.
fn action_of(status: WaitlistStatus) -> &'static str {
    match status {
        WaitlistStatus::Waiting => "waitlist.joined",
        WaitlistStatus::Offered => "waitlist.offered",
        WaitlistStatus::Booked => "waitlist.accepted",
        WaitlistStatus::Declined => "waitlist.declined",
        WaitlistStatus::Expired => "waitlist.expired",
        WaitlistStatus::Left => "waitlist.left",
    }
}

/// Frees the offer `row`, which ran out, in the caller's transaction: its
/// entry is `EXPIRED`, the booking cancelled as the system's, without a
/// message (the offer said until when it held). The entry is locked first,
/// as accepting does, and the booking changed only if still an expired
/// offer: one accepted meanwhile stays (`false`).
pub(crate) async fn lapse(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: booking::Model,
    now: DateTime<Utc>,
) -> Result<bool> {
    let entry = offered_entry(txn, tenant.id, row.id).await?;
    let cancelled = booking::ActiveModel {
        status: Set(BookingStatus::Cancelled),
        cancelled_at: Set(Some(now)),
        cancelled_by: Set(None),
        cancellation_reason: Set(Some("The waitlist offer was not taken in time, so the time was freed.".into())),
        refund_minor: Set(Some(0)),
        updated_at: Set(now),
        ..Default::default()
    };
    let changed = booking::Entity::update_many()
        .set(cancelled)
        .filter(booking::Column::TenantId.eq(tenant.id))
        .filter(booking::Column::Id.eq(row.id))
        .filter(booking::Column::Status.eq(BookingStatus::Scheduled))
        .filter(booking::Column::OfferExpiresAt.lte(now))
        .exec(txn)
        .await?;
    if changed.rows_affected == 0 {
        return Ok(false);
    }
    let entry_id = match entry {
        Some(entry) => Some(close_entry(txn, None, entry, WaitlistStatus::Expired, now).await?.id),
        None => None,
    };
    let after = booking::Entity::find_by_id((tenant.id, row.id)).one(txn).await?.ok_or(not_found("booking"))?;
    let extra = serde_json::json!({ "waitlistOffer": "expired", "waitlistEntryId": entry_id });
    announce_by_system(txn, tenant, now, (EventKind::BookingCancelled, Some(&row), &after), extra).await?;
    Ok(true)
}

/// The entry holding the offer of booking `id`, locked for a change.
pub(crate) async fn offered_entry(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: BookingId,
) -> Result<Option<waitlist_entry::Model>> {
    Ok(waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
        .filter(waitlist_entry::Column::OfferBookingId.eq(id))
        .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Offered))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// The availability search that finds `entry` its time: its service with
/// its provider (or anyone), over its dates from today (at most
/// [`MAX_WAITLIST_DAYS`]), narrowed to `freed`'s provider and days when
/// given. `None` when nothing is left to search.
fn search_of(
    entry: &waitlist_entry::Model,
    freed: Option<Freed>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<Option<AvailabilityQuery>> {
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
    if from > to {
        return Ok(None);
    }
    Ok(Some(AvailabilityQuery {
        service_id: entry.service_id,
        provider_id,
        addon_ids: Vec::new(),
        from: Some(from),
        to: Some(to),
        after: None,
        limit: STARTS_TRIED,
    }))
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

    /// Offers `entry` the first free time it waits for, if any: searched,
    /// then held in its own transaction, where the database decides; a
    /// time taken meanwhile makes it try the next.
    pub(crate) async fn offer_entry(
        &self,
        tenant: &Tenant,
        entry: &waitlist_entry::Model,
        freed: Option<Freed>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some(query) = search_of(entry, freed, tenant, now)? else { return Ok(false) };
        let txn = self.db.begin(Scope::Tenant { tenant_id: tenant.id, user_id: None }, Access::Read).await?;
        let search = SlotSearch::load(&txn, tenant, &query, now).await;
        txn.commit().await?;
        let search = match search {
            Ok(search) => search,
            // The service or provider is no longer bookable: nothing to offer.
            Err(DomainError::InvalidInput { .. } | DomainError::NotFound { .. }) => return Ok(false),
            Err(err) => return Err(err),
        };
        for slot in search.first(query.limit) {
            match Box::pin(self.hold_offer(tenant, entry.id, slot, now)).await {
                // Taken meanwhile: the next start.
                Err(DomainError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Ok(false)
    }

    /// Makes the offer of `slot` to entry `id` if it still waits: the
    /// booking holding the time and the entry naming it, in one
    /// transaction. `CONFLICT` when the time was taken meanwhile.
    async fn hold_offer(&self, tenant: &Tenant, id: WaitlistEntryId, slot: Slot, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Tenant { tenant_id: tenant.id, user_id: None }, Access::Write).await?;
        // Locked: another replica offering it at once waits, then finds it offered.
        let found = waitlist_entry::Entity::find_by_id((tenant.id, id)).lock_exclusive().one(&txn).await?;
        let Some(entry) = found.filter(|e| e.status == WaitlistStatus::Waiting) else { return Ok(false) };
        let tz = timezone(tenant)?;
        let offer = Self::bookable_offer(&txn, tenant.id, entry.service_id, Some(slot.provider_id), &[]).await?;
        Self::check_start(slot.starts_at, now, tenant)?;
        let ends_at = slot.starts_at + minutes(offer.duration_minutes());
        let blocked = (
            slot.starts_at - minutes(offer.service.buffer_before_minutes),
            ends_at + minutes(offer.service.buffer_after_minutes),
        );
        Self::check_working_time(&txn, tenant.id, tz, slot.provider_id, blocked.0, blocked.1).await?;
        crate::payment_holds::free_window(&txn, tenant, (slot.provider_id, blocked, None), now, tz).await?;
        // Held for the business's minutes, never past the start.
        let until =
            (now + minutes(tenant.settings.waitlist_offer_minutes.min(i32::MAX as u32) as i32)).min(slot.starts_at);
        let place = Placement { ends_at, blocked, session: None, seats: 1 };
        let booking_id = BookingId::generate(now);
        let mut row = crate::booking::fresh_row(
            (tenant.id, booking_id),
            (slot.provider_id, entry.customer_id),
            slot.starts_at,
            &offer,
            &place,
            now,
        );
        row.offer_expires_at = Set(Some(until));
        let row = row.insert(&txn).await.map_err(booking_write_error)?;
        let before = WaitlistEntry::from(entry.clone());
        let mut change = entry.into_active_model();
        change.status = Set(WaitlistStatus::Offered);
        change.offer_booking_id = Set(Some(booking_id));
        change.offered_at = Set(Some(now));
        change.offer_expires_at = Set(Some(until));
        change.updated_at = Set(now);
        let entry = change.update(&txn).await?;
        audit_entry(&txn, None, tenant.id, action_of(WaitlistStatus::Offered), (Some(&before), &entry), now).await?;
        let extra = serde_json::json!({ "waitlistEntryId": entry.id, "offerExpiresAt": until });
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
