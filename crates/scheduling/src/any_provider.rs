//! "Any available staff": a booking that names no provider goes to one of
//! the providers who offer the service and are free at its start, chosen
//! fairly by the business's `staffAssignment` setting: the least booked
//! that day, or in turn (round robin: the one whose last booking was made
//! longest ago). Each choice is then booked as usual, so the database's
//! no-overlap rule still decides: a parallel request that takes a provider
//! first makes this one try the next.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, ProviderId, RequestContext, Result, TenantId};
use tessera_tenant::StaffAssignment;

use crate::bookable::{AvailabilityQuery, timezone};
use crate::booking::ACTIVE;
use crate::entity::booking;
use crate::model::{BookedAddon, Booking, NewBooking};
use crate::service::SchedulingService;

/// The most providers one "any available staff" booking tries.
const MOST_TRIED: usize = 50;

/// The order the business's setting gives `providers` (each once): the
/// fewest active bookings starting in `day` first, or the one last booked
/// longest ago first (never booked before all); ties by id. One grouped
/// read, only of what the setting looks at.
async fn fair_order(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    mut providers: Vec<ProviderId>,
    assignment: StaffAssignment,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<ProviderId>> {
    if providers.len() < 2 {
        return Ok(providers);
    }
    let theirs = booking::Entity::find()
        .select_only()
        .column(booking::Column::ProviderId)
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::ProviderId.is_in(providers.iter().copied()))
        .group_by(booking::Column::ProviderId);
    match assignment {
        StaffAssignment::LeastBooked => {
            let counts: HashMap<ProviderId, i64> = theirs
                .column_as(booking::Column::Id.count(), "n")
                .filter(booking::Column::Status.is_in(ACTIVE))
                .filter(booking::Column::StartsAt.gte(from))
                .filter(booking::Column::StartsAt.lt(until))
                .into_tuple()
                .all(txn)
                .await?
                .into_iter()
                .collect();
            providers.sort_by_key(|p| (counts.get(p).copied().unwrap_or(0), *p));
        }
        StaffAssignment::RoundRobin => {
            let latest: HashMap<ProviderId, Option<DateTime<Utc>>> = theirs
                .column_as(booking::Column::CreatedAt.max(), "latest")
                .into_tuple()
                .all(txn)
                .await?
                .into_iter()
                .collect();
            providers.sort_by_key(|p| (latest.get(p).copied().flatten(), *p));
        }
    }
    Ok(providers)
}

impl SchedulingService {
    /// The providers free to take `input` at its start (its provider is not
    /// looked at), in the order the business's setting gives them.
    pub async fn providers_free_for(&self, ctx: &RequestContext, input: &NewBooking) -> Result<Vec<ProviderId>> {
        // Each read in its own transaction: a request holds one connection
        // at a time.
        let tenant = {
            let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
            let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
            txn.commit().await?;
            tenant
        };
        let tz = timezone(&tenant)?;
        let date = input.starts_at.with_timezone(&tz).date_naive();
        let free = self
            .availability(
                ctx,
                AvailabilityQuery {
                    service_id: input.service_id,
                    provider_id: None,
                    addon_ids: input.addon_ids.clone(),
                    from: Some(date),
                    to: Some(date),
                    // From the wanted start on: slots are ordered by start, then provider.
                    after: Some((input.starts_at - Duration::seconds(1), ProviderId(uuid::Uuid::nil()))),
                    limit: MOST_TRIED,
                },
            )
            .await?;
        let providers: Vec<ProviderId> =
            free.into_iter().take_while(|slot| slot.starts_at == input.starts_at).map(|s| s.provider_id).collect();
        let day = (
            crate::recurrence::local_instant(tz, date, 0)?,
            crate::recurrence::local_instant(tz, date.succ_opt().unwrap_or(date), 0)?,
        );
        let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
        let providers = fair_order(&txn, auth.tenant_id, providers, tenant.settings.staff_assignment, day).await?;
        txn.commit().await?;
        Ok(providers)
    }

    /// Books `input` with whichever qualified provider is free at its start
    /// (its `provider_id` is not looked at), fairly: see the module. A
    /// repeat with the same idempotency key answers the booking made
    /// first. `CONFLICT` when nobody is free then.
    pub async fn create_booking_any_provider(
        &self,
        ctx: &RequestContext,
        input: NewBooking,
    ) -> Result<(Booking, Option<Vec<BookedAddon>>)> {
        if let Some(key) = input.idempotency_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
            let earlier = crate::booking_keys::find_by_key(&txn, auth.tenant_id, key).await?;
            txn.commit().await?;
            if let Some(row) = earlier {
                let again = NewBooking { provider_id: row.provider_id, ..input };
                return self.create_booking_with_addons(ctx, again).await;
            }
        }
        for provider_id in self.providers_free_for(ctx, &input).await? {
            match self.create_booking_with_addons(ctx, NewBooking { provider_id, ..input.clone() }).await {
                // Taken meanwhile by a parallel request: the next one.
                Err(DomainError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(DomainError::Conflict("no provider who offers this service is free then; choose another slot".into()))
    }
}
