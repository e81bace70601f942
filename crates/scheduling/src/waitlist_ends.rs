//! How a waitlist offer or entry ends: accepted, declined, left, or run
//! out (`lapse`, which frees the time like a lapsed payment hold), each
//! audited. The entry row is locked before its booking everywhere, so an
//! entry holds one offer at a time and a lapse never undoes an acceptance.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::event::EventKind;
use tessera_kernel::{BookingId, DomainError, RequestContext, Result, TenantId};
use tessera_tenant::Tenant;

use crate::booking_record::announce_by_system;
use crate::entity::{booking, waitlist_entry};
use crate::model::{BookingStatus, WaitlistEntry, WaitlistStatus};
use crate::service::not_found;

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
pub(crate) fn action_of(status: WaitlistStatus) -> &'static str {
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
