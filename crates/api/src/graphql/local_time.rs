//! Tenant-local times beside instants: a booking or a free slot carries its start
//! and end as the tenant's clocks show them (wall time, offset, zone), and the
//! bookings filter takes local dates, so no client re-implements the tenant's
//! timezone rules. Instants stay UTC `DateTime`s; see the README's "Scalars".

use async_graphql::{Context, SimpleObject};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use tessera_kernel::DomainError;

use super::{loaders, request};
use crate::error::ApiResult;

/// An instant as the tenant's clocks show it.
#[derive(SimpleObject)]
#[graphql(name = "LocalTime")]
pub(crate) struct LocalTimeObject {
    /// The wall time with the offset in force then, RFC 3339
    /// (`2026-03-04T10:00:00+01:00`).
    date_time: String,
    /// The local date (`2026-03-04`).
    date: NaiveDate,
    /// The wall-clock time, `HH:MM`.
    time: String,
    /// The UTC offset in force then (`+01:00`).
    offset: String,
    /// The tenant's IANA timezone (`Europe/Madrid`).
    timezone: String,
}

/// The request tenant's timezone (its row is loaded once per request).
pub(crate) async fn tenant_zone(ctx: &Context<'_>) -> ApiResult<Tz> {
    let scope = request(ctx)?
        .tenant()
        .ok_or_else(|| DomainError::invalid("X-Tenant", "this field needs a tenant: send the X-Tenant header"))?;
    let tenant =
        loaders(ctx)?.tenants().load_one(scope.tenant_id).await?.ok_or(DomainError::NotFound { entity: "tenant" })?;
    Ok(tenant.timezone.parse().unwrap_or(chrono_tz::UTC))
}

/// `at` in the request tenant's timezone.
pub(crate) async fn local_time(ctx: &Context<'_>, at: DateTime<Utc>) -> ApiResult<LocalTimeObject> {
    let tz = tenant_zone(ctx).await?;
    let local = at.with_timezone(&tz);
    Ok(LocalTimeObject {
        date_time: local.to_rfc3339(),
        date: local.date_naive(),
        time: local.format("%H:%M").to_string(),
        offset: local.format("%:z").to_string(),
        timezone: tz.name().to_owned(),
    })
}

/// The instant the local `date` begins in `tz` (its first existing minute, where
/// a clock change skips midnight).
pub(crate) fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|hour| tz.from_local_datetime(&date.and_time(NaiveTime::MIN + Duration::hours(hour))).earliest())
        .map_or_else(|| date.and_time(NaiveTime::MIN).and_utc(), |local| local.with_timezone(&Utc))
}
