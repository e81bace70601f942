//! Resources booked with a person. A resource is a provider with a type
//! (`room`, `basin`): the same weekly hours and dated exceptions, never
//! booked on its own. A service that needs a type (a massage needs a room,
//! a colour a basin for its first 30 minutes) holds one resource of it for
//! that part of its time, chosen when the booking is made or moved: the
//! first, in id order, that works then and holds nothing else.
//!
//! The database keeps the rule: `booking_resources` rows are active while
//! their booking holds time (a trigger on `bookings` follows its status),
//! and two active holds of one resource never overlap (an exclusion
//! constraint on PostgreSQL, triggers under `BEGIN IMMEDIATE` on SQLite).
//! Each try is a savepoint, so a resource taken by a parallel request makes
//! this one try the next, and `CONFLICT` says none was free.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use tessera_kernel::{BookingId, DomainError, ProviderId, Result, TenantId};
use tessera_tenant::Tenant;

use crate::availability::{Busy, Calendar, overlaps_busy, within_working_time};
use crate::bookable::{Calendars, dates_around, timezone};
use crate::entity::{booking, booking_resource, provider, service};

/// The window of a booking starting at `starts_at` for `duration_minutes`
/// that `service` needs a resource for, if it needs one.
pub(crate) fn held_window(
    service: &service::Model,
    starts_at: DateTime<Utc>,
    duration_minutes: i64,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    service.resource_type.as_ref()?;
    let from = starts_at + Duration::minutes(i64::from(service.resource_offset_minutes));
    let minutes =
        service.resource_minutes.map_or(duration_minutes - i64::from(service.resource_offset_minutes), i64::from);
    Some((from, from + Duration::minutes(minutes.max(1))))
}

/// The resources of one type and what they are free for: their working
/// time and the holds in force around a window.
pub(crate) struct ResourceCalendars {
    ids: Vec<ProviderId>,
    calendars: Calendars,
    busy: HashMap<ProviderId, Vec<Busy>>,
    tz: Tz,
}

impl ResourceCalendars {
    /// The active resources of type `kind`, with their hours and
    /// exceptions, and the holds in force at `now` between `instants`.
    /// With `release`, the bookings among their holders whose own hold ran
    /// out (a payment, a waitlist offer) are freed on the way, so the
    /// database does not count their holds either (a booking about to hold
    /// one asks it).
    pub(crate) async fn load(
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        (kind, instants): (&str, (DateTime<Utc>, DateTime<Utc>)),
        now: DateTime<Utc>,
        release: bool,
    ) -> Result<Self> {
        let tz = timezone(tenant)?;
        let ids = resources_of(txn, tenant.id, kind).await?;
        let dates = dates_around(tz, instants.0, instants.1);
        let calendars = Calendars::load(txn, tenant.id, &ids, dates, instants, None).await?;
        let holds = holds_around(txn, tenant.id, &ids, instants).await?;
        if release && !holds.is_empty() {
            let lapsed = booking::Entity::find()
                .filter(booking::Column::TenantId.eq(tenant.id))
                .filter(booking::Column::Id.is_in(holds.iter().map(|h| h.booking_id)))
                .filter(crate::payment_holds::hold_ended_by(now))
                .all(txn)
                .await?;
            for row in lapsed {
                crate::payment_holds::release_lapsed(txn, tenant, row, now).await?;
            }
        }
        let holding: HashSet<BookingId> = if holds.is_empty() {
            HashSet::new()
        } else {
            booking::Entity::find()
                .select_only()
                .column(booking::Column::Id)
                .filter(booking::Column::TenantId.eq(tenant.id))
                .filter(booking::Column::Id.is_in(holds.iter().map(|h| h.booking_id)))
                .filter(crate::payment_holds::holds_time(now))
                .into_tuple()
                .all(txn)
                .await?
                .into_iter()
                .collect()
        };
        let mut busy: HashMap<ProviderId, Vec<Busy>> = HashMap::new();
        for hold in holds.into_iter().filter(|h| holding.contains(&h.booking_id)) {
            busy.entry(hold.resource_id).or_default().push((hold.held_from, hold.held_until));
        }
        for windows in busy.values_mut() {
            windows.sort_unstable();
        }
        Ok(Self { ids, calendars, busy, tz })
    }

    /// The resources free for `[from, until)` as read, in order.
    pub(crate) fn free_for(&self, (from, until): (DateTime<Utc>, DateTime<Utc>)) -> Vec<ProviderId> {
        self.ids
            .iter()
            .copied()
            .filter(|id| {
                let busy = self.busy.get(id).map_or(&[][..], Vec::as_slice);
                let calendar = Calendar { busy, ..self.calendars.of(*id) };
                within_working_time(&calendar, self.tz, from, until) && !overlaps_busy(busy, from, until)
            })
            .collect()
    }
}

/// The active resources of type `kind`, in id order.
async fn resources_of(txn: &DatabaseTransaction, tenant_id: TenantId, kind: &str) -> Result<Vec<ProviderId>> {
    Ok(provider::Entity::find()
        .select_only()
        .column(provider::Column::Id)
        .filter(provider::Column::TenantId.eq(tenant_id))
        .filter(provider::Column::ResourceType.eq(kind))
        .filter(provider::Column::Active.eq(true))
        .order_by_asc(provider::Column::Id)
        .into_tuple()
        .all(txn)
        .await?)
}

/// The active holds of `ids` overlapping `instants`.
async fn holds_around(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    ids: &[ProviderId],
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<booking_resource::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(booking_resource::Entity::find()
        .filter(booking_resource::Column::TenantId.eq(tenant_id))
        .filter(booking_resource::Column::ResourceId.is_in(ids.iter().copied()))
        .filter(booking_resource::Column::Active.eq(true))
        .filter(booking_resource::Column::HeldUntil.gt(from))
        .filter(booking_resource::Column::HeldFrom.lt(until))
        .all(txn)
        .await?)
}

/// [`hold_resource`] for a booking that moved: what it held is let go
/// first (whether or not its service still needs a resource).
pub(crate) async fn move_resource_hold(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: &booking::Model,
    service: &service::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    booking_resource::Entity::delete_many()
        .filter(booking_resource::Column::TenantId.eq(tenant.id))
        .filter(booking_resource::Column::BookingId.eq(row.id))
        .exec(txn)
        .await?;
    hold_resource(txn, tenant, row, service, now).await
}

/// Holds a resource for the new booking `row` in the caller's transaction,
/// if `service` needs one: the first free of its type, freeing on the way
/// bookings whose own hold ran out (a payment, a waitlist offer).
/// `CONFLICT` when none is free. Nothing is read when it needs none.
pub(crate) async fn hold_resource(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: &booking::Model,
    service: &service::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(window) = held_window(service, row.starts_at, i64::from(row.duration_minutes)) else { return Ok(()) };
    let kind = service.resource_type.clone().unwrap_or_default();
    let resources = ResourceCalendars::load(txn, tenant, (&kind, window), now, true).await?;
    for resource_id in resources.free_for(window) {
        // A savepoint: a refused try leaves the booking's transaction usable.
        let attempt = txn.begin().await?;
        let hold = booking_resource::ActiveModel {
            tenant_id: Set(tenant.id),
            booking_id: Set(row.id),
            resource_id: Set(resource_id),
            held_from: Set(window.0),
            held_until: Set(window.1),
            active: Set(true),
        };
        match hold.insert(&attempt).await {
            Ok(_) => return Ok(attempt.commit().await?),
            // Taken by a parallel request since it was read: the next one.
            Err(err) if err.to_string().contains("booking_resources_no_overlap") => attempt.rollback().await?,
            Err(err) => return Err(err.into()),
        }
    }
    let local = |at: DateTime<Utc>| at.with_timezone(&resources.tz).format("%Y-%m-%d %H:%M").to_string();
    Err(DomainError::Conflict(format!(
        "no {kind} is free from {} until {} ({}); choose another slot",
        local(window.0),
        local(window.1),
        resources.tz
    )))
}

impl crate::service::SchedulingService {
    /// The resources booking `id` holds (or held, once it ended), in id
    /// order, for whoever reads bookings.
    pub async fn resources_of_booking(
        &self,
        ctx: &tessera_kernel::RequestContext,
        id: BookingId,
    ) -> Result<Vec<ProviderId>> {
        let (auth, txn, _) = self.open_bookings(ctx).await?;
        let held = booking_resource::Entity::find()
            .select_only()
            .column(booking_resource::Column::ResourceId)
            .filter(booking_resource::Column::TenantId.eq(auth.tenant_id))
            .filter(booking_resource::Column::BookingId.eq(id))
            .order_by_asc(booking_resource::Column::ResourceId)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(held)
    }
}
