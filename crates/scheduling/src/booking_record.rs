//! What a change to a booking records in its transaction: an audit record
//! of the changed fields, the event live subscribers and webhooks receive,
//! and the messages it causes. A change a person makes is recorded as
//! theirs; one the system makes (a payment settling, a hold ending) as the
//! system's.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::{RequestContext, Result};
use tessera_tenant::Tenant;

use crate::entity::booking;
use crate::notices::Parties;

/// A change: what happened, the booking before (none when made) and after.
pub(crate) type Change<'a> = (EventKind, Option<&'a booking::Model>, &'a booking::Model);

/// Records a change a request made (`tenant` is the one the caller already
/// loaded).
pub(crate) async fn announce(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    tenant: &Tenant,
    kind: EventKind,
    before: Option<&booking::Model>,
    row: &booking::Model,
) -> Result<()> {
    announce_with(txn, ctx, auth, tenant, (kind, before, row), Parties::default(), serde_json::json!({})).await
}

/// [`announce`], with the parties the change read already and more for the
/// event's payload.
pub(crate) async fn announce_with(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    tenant: &Tenant,
    change: Change<'_>,
    known: Parties<'_>,
    extra: serde_json::Value,
) -> Result<()> {
    debug_assert_eq!(auth.tenant_id, tenant.id);
    record(txn, Some(ctx), tenant, ctx.now(), change, known, extra).await
}

/// Records a change the system made at `at`.
pub(crate) async fn announce_by_system(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    at: DateTime<Utc>,
    change: Change<'_>,
    extra: serde_json::Value,
) -> Result<()> {
    record(txn, None, tenant, at, change, Parties::default(), extra).await
}

async fn record(
    txn: &DatabaseTransaction,
    by: Option<&RequestContext>,
    tenant: &Tenant,
    at: DateTime<Utc>,
    (kind, before, row): Change<'_>,
    known: Parties<'_>,
    extra: serde_json::Value,
) -> Result<()> {
    let entry = AuditEntry {
        action: kind.as_str(),
        target_type: "booking",
        target_id: row.id.to_string(),
        before: before.map(audited),
        after: Some(audited(row)),
    };
    tessera_audit::append_by(txn, by, tenant.id, at, entry).await?;
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
    let event = DomainEvent::new(at, tenant.id, kind, row.id.as_uuid(), payload);
    event::enqueue(txn, &event).await?;
    crate::notices::queue_booking_notices(txn, tenant, at, (kind, before, row), known, &event.payload).await
}

/// The fields of a booking the audit log compares.
fn audited(row: &booking::Model) -> serde_json::Value {
    let mut fields = serde_json::json!({
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
    });
    if let Some(due) = row.payment_due_by {
        fields["paymentDueBy"] = serde_json::json!(due);
    }
    if let Some(until) = row.offer_expires_at {
        fields["offerExpiresAt"] = serde_json::json!(until);
    }
    fields
}
