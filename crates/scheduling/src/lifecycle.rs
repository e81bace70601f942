//! The rules a booking's life follows besides its status machine: what the clock
//! allows (no no-show before the start, no start long before it), how far ahead a
//! customer may still move their own booking, and why a time is taken (so a
//! `CONFLICT` names the booking and buffer in the way).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use tessera_kernel::{BookingId, DomainError, ProviderId, Result, TenantId};
use tessera_tenant::Tenant;

use crate::booking::ACTIVE;
use crate::entity::booking;
use crate::model::BookingStatus;

/// How early a booking may be started: a customer who arrives a little early
/// can be seen at once, but nobody starts tomorrow's appointment today.
pub(crate) const EARLIEST_START_MINUTES: i64 = 30;

/// A local wall time for messages (`2026-03-04 10:40`).
fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// Checks that moving `booking` to `to` at `now` makes sense in time: a no-show
/// only once it should have started, a start at most
/// [`EARLIEST_START_MINUTES`] before it begins. Completing needs a start first,
/// which the status machine already asks for.
pub(crate) fn check_status_timing(
    booking: &booking::Model,
    to: BookingStatus,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<()> {
    let starts = local(booking.starts_at, tz);
    match to {
        BookingStatus::NoShow if now < booking.starts_at => Err(DomainError::invalid(
            "status",
            format!("the booking starts at {starts} ({tz}); a no-show can only be recorded once it has begun"),
        )),
        BookingStatus::InProgress if now < booking.starts_at - Duration::minutes(EARLIEST_START_MINUTES) => {
            Err(DomainError::invalid(
                "status",
                format!(
                    "the booking starts at {starts} ({tz}); it can be started at most {EARLIEST_START_MINUTES} minutes before"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Checks that a customer moving their own booking does so at least the
/// tenant's reschedule notice before its current start.
pub(crate) fn check_customer_reschedule(booking: &booking::Model, now: DateTime<Utc>, tenant: &Tenant) -> Result<()> {
    let hours = tenant.settings.customer_reschedule_notice_hours;
    if booking.starts_at - now < Duration::hours(i64::from(hours)) {
        return Err(DomainError::invalid(
            "id",
            format!("a booking can be moved by its customer up to {hours} hours before it starts; ask the business"),
        ));
    }
    Ok(())
}

/// The first active booking of `provider_id` taking time in `[from, until)`
/// (but `except`), as the database's no-overlap rule counts them.
pub(crate) async fn first_taking(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    provider_id: ProviderId,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    except: Option<BookingId>,
) -> Result<Option<booking::Model>> {
    let mut select = booking::Entity::find()
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::ProviderId.eq(provider_id))
        .filter(booking::Column::Status.is_in(ACTIVE))
        // Seats share their session's time: the session holds it.
        .filter(booking::Column::ClassSessionId.is_null())
        .filter(booking::Column::BlockedFrom.lt(until))
        .filter(booking::Column::BlockedUntil.gt(from))
        .order_by_asc(booking::Column::BlockedFrom);
    if let Some(id) = except {
        select = select.filter(booking::Column::Id.ne(id));
    }
    Ok(select.one(txn).await?)
}

/// The `CONFLICT` a person understands for a slot `taken` takes.
pub(crate) fn conflict_with(taken: &booking::Model, tz: Tz) -> DomainError {
    let before = (taken.starts_at - taken.blocked_from).num_minutes();
    let after = (taken.blocked_until - taken.ends_at).num_minutes();
    let buffers = match (before, after) {
        (0, 0) => String::new(),
        (0, after) => format!(", including a {after}-minute buffer after a booking"),
        (before, 0) => format!(", including a {before}-minute buffer before a booking"),
        (before, after) => format!(", including buffers of {before} minutes before and {after} after a booking"),
    };
    DomainError::Conflict(format!(
        "the provider is already booked from {} until {} ({tz}){buffers}; choose another slot",
        local(taken.blocked_from, tz),
        local(taken.blocked_until, tz),
    ))
}
