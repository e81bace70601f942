//! Everything a business holds about one customer, as one JSON document
//! (the GDPR right of access, article 15): the record, every booking with
//! its add-ons and payments, reviews, waitlist entries, calendar feeds (not
//! their secret) and the card kept, if any. The export is audited as whoever
//! asked. Bounded: at most [`MAX_EXPORTED_BOOKINGS`] bookings, newest
//! first, and `bookingsTruncated` says when there were more.

use std::collections::HashMap;

use sea_orm::{ActiveEnum, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{BookingId, CustomerId, Permission, RequestContext, Result, TenantId};

use crate::entity::{booking, booking_addon, calendar_feed, customer, review, waitlist_entry};
use crate::model::WaitlistEntry;
use crate::reach::Own;
use crate::service::{SchedulingService, not_found};

/// The most bookings one export lists (newest first).
pub const MAX_EXPORTED_BOOKINGS: u64 = 5_000;

/// Bookings named per read of their add-ons and payments (bound parameters
/// stay well under every database's limit).
const IDS_PER_READ: usize = 500;

impl SchedulingService {
    /// Everything the business holds about customer `id`, as JSON; audited
    /// (`customer.exported`). `customer:manage` for any customer of the
    /// business; `customer:read_own` for one's own record. Others are
    /// `NOT_FOUND`.
    pub async fn export_customer(&self, ctx: &RequestContext, id: CustomerId) -> Result<Value> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::CustomerManage, Permission::CustomerReadOwn, Own::Customer, Access::Write)
            .await?;
        if !visible.allows_customer(id) {
            return Err(not_found("customer"));
        }
        let person =
            customer::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?.ok_or(not_found("customer"))?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let mut rows = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::CustomerId.eq(id))
            .order_by_desc(booking::Column::Id)
            .limit(MAX_EXPORTED_BOOKINGS + 1)
            .all(&txn)
            .await?;
        let truncated = rows.len() as u64 > MAX_EXPORTED_BOOKINGS;
        rows.truncate(MAX_EXPORTED_BOOKINGS as usize);
        let bookings = bookings_of(&txn, auth.tenant_id, rows).await?;
        let reviews: Vec<Value> = review::Entity::find()
            .filter(review::Column::TenantId.eq(auth.tenant_id))
            .filter(review::Column::CustomerId.eq(id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|r| json!({ "bookingId": r.booking_id, "rating": r.rating, "comment": r.comment, "createdAt": r.created_at }))
            .collect();
        let waitlist: Vec<Value> = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::TenantId.eq(auth.tenant_id))
            .filter(waitlist_entry::Column::CustomerId.eq(id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|row| exported_entry(WaitlistEntry::from(row)))
            .collect();
        let feeds: Vec<Value> = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TenantId.eq(auth.tenant_id))
            .filter(calendar_feed::Column::CustomerId.eq(id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|f| json!({ "id": f.id, "createdAt": f.created_at, "revokedAt": f.revoked_at }))
            .collect();
        let card = match tessera_ledger::payments::account_of(&txn, auth.tenant_id).await? {
            Some(account) => {
                tessera_ledger::cards::card_at(&txn, auth.tenant_id, id, (&account.provider, &account.account_id))
                    .await?
                    .map(|c| json!({ "brand": c.brand, "last4": c.last4, "keptAt": c.kept_at, "provider": c.provider }))
            }
            None => None,
        };
        let counts = json!({ "bookings": bookings.len(), "bookingsTruncated": truncated });
        let entry = AuditEntry::change("customer.exported", "customer", id, None, Some(&counts))?;
        tessera_audit::append_in(&txn, ctx, auth.tenant_id, entry).await?;
        txn.commit().await?;
        Ok(json!({
            "exportedAt": ctx.now(),
            "business": { "name": tenant.name, "slug": tenant.slug },
            "customer": {
                "id": person.id,
                "name": person.name,
                "email": person.email,
                "phone": person.phone,
                "notes": person.notes,
                "language": person.language,
                "userId": person.user_id,
                "createdAt": person.created_at,
                "updatedAt": person.updated_at,
            },
            "bookings": bookings,
            "bookingsTruncated": truncated,
            "reviews": reviews,
            "waitlistEntries": waitlist,
            "calendarFeeds": feeds,
            "keptCard": card,
        }))
    }
}

/// `rows` as exported, each with its add-ons and payments (read in a few
/// batches, whatever their number).
async fn bookings_of(txn: &DatabaseTransaction, tenant_id: TenantId, rows: Vec<booking::Model>) -> Result<Vec<Value>> {
    let ids: Vec<BookingId> = rows.iter().map(|r| r.id).collect();
    let mut addons: HashMap<BookingId, Vec<Value>> = HashMap::new();
    let mut payments = HashMap::new();
    for chunk in ids.chunks(IDS_PER_READ) {
        let found = booking_addon::Entity::find()
            .filter(booking_addon::Column::TenantId.eq(tenant_id))
            .filter(booking_addon::Column::BookingId.is_in(chunk.iter().copied()))
            .all(txn)
            .await?;
        for a in found {
            let addon = json!({ "name": a.name, "priceMinor": a.price_minor, "durationMinutes": a.duration_minutes });
            addons.entry(a.booking_id).or_default().push(addon);
        }
        payments.extend(tessera_ledger::payments::of_bookings(txn, tenant_id, chunk).await?);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let paid: Vec<Value> = payments
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| {
                    json!({
                        "kind": p.kind.to_value().to_uppercase(),
                        "status": p.status.to_value().to_uppercase(),
                        "amountMinor": p.amount_minor,
                        "capturedMinor": p.captured_minor,
                        "refundedMinor": p.refunded_minor,
                        "currency": p.currency,
                        "createdAt": p.created_at,
                    })
                })
                .collect();
            json!({
                "id": r.id,
                "serviceName": r.service_name,
                "providerId": r.provider_id,
                "status": r.status.as_str(),
                "startsAt": r.starts_at,
                "endsAt": r.ends_at,
                "priceMinor": r.price_minor,
                "currency": r.currency,
                "notes": r.notes,
                "createdAt": r.created_at,
                "cancelledAt": r.cancelled_at,
                "cancellationReason": r.cancellation_reason,
                "refundMinor": r.refund_minor,
                "classSessionId": r.class_session_id,
                "seriesId": r.series_id,
                "offerExpiresAt": r.offer_expires_at,
                "addons": addons.remove(&r.id).unwrap_or_default(),
                "payments": paid,
            })
        })
        .collect())
}

/// One waitlist entry as exported.
fn exported_entry(entry: WaitlistEntry) -> Value {
    json!({
        "id": entry.id,
        "serviceId": entry.service_id,
        "providerId": entry.provider_id,
        "earliestDate": entry.earliest_date,
        "latestDate": entry.latest_date,
        "notes": entry.notes,
        "status": entry.status.as_str(),
        "createdAt": entry.created_at,
        "closedAt": entry.closed_at,
    })
}
