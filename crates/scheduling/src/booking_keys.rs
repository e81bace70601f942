//! A booking's idempotency key: the booking an earlier request made with
//! it, and the digest that tells a repeat of that request from a different
//! request (or another user's) reusing the key.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use tessera_kernel::{DomainError, RequestContext, Result, TenantId};

use crate::booking::Placing;
use crate::entity::booking;
use crate::model::{Booking, BookingCustomer, NewBooking};

pub(crate) async fn find_by_key<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    key: &str,
) -> Result<Option<booking::Model>> {
    Ok(booking::Entity::find()
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?)
}

/// The earlier booking made with the same key, if the request is the same.
pub(crate) fn repeat_of(row: booking::Model, fingerprint: &str) -> Result<Booking> {
    if row.request_fingerprint.as_deref() == Some(fingerprint) {
        Ok(row.into())
    } else {
        Err(DomainError::Conflict("this idempotency key was used for a different booking request".into()))
    }
}

/// A digest of who asked what, to tell a repeat from a different request (or
/// another user's) that reuses a key.
pub(crate) fn fingerprint(ctx: &RequestContext, input: &NewBooking, placing: Placing) -> String {
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
    let canonical = match (placing.seat, placing.series) {
        (Some((session, seats)), _) => format!("{canonical}|seat:{session}:{seats}"),
        (None, Some(series)) => format!("{canonical}|series:{series}"),
        (None, None) => canonical,
    };
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
