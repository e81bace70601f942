//! Availability: the bookable starts of a service, with each provider's price and end.

use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::paging::{decode_time_cursor, encode_time_cursor};
use tessera_kernel::{DomainError, Permission, ProviderId, ServiceId};
use tessera_scheduling::{AvailabilityQuery, MAX_AVAILABILITY_SLOTS, Slot};

use super::objects::ProviderObject;
use crate::error::ApiResult;
use crate::graphql::local_time::{LocalTimeObject, local_time, start_of_day, tenant_zone};
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{RequiresOrOwn, loaders, parse_id, request, services};

/// A bookable start.
#[derive(SimpleObject)]
#[graphql(name = "AvailableSlot", complex)]
pub(crate) struct AvailableSlotObject {
    /// Start.
    starts_at: DateTime<Utc>,
    /// End of the service and add-ons.
    ends_at: DateTime<Utc>,
    /// The provider's id.
    provider_id: ID,
    #[graphql(skip)]
    provider: ProviderId,
    #[graphql(skip)]
    service: ServiceId,
    #[graphql(skip)]
    price_minor: i64,
}

/// A filter bound given as an instant or as a local date: the start of that
/// date plus `days_after` days in the tenant's timezone. Not both.
pub(super) async fn instant_or_local_day(
    instant_field: &str,
    instant: Option<DateTime<Utc>>,
    date_field: &str,
    date: Option<NaiveDate>,
    ctx: &Context<'_>,
    days_after: i64,
) -> ApiResult<Option<DateTime<Utc>>> {
    match (instant, date) {
        (Some(_), Some(_)) => {
            Err(DomainError::invalid(date_field, format!("give {instant_field} or {date_field}, not both")).into())
        }
        (None, Some(date)) => {
            Ok(Some(start_of_day(date + chrono::Duration::days(days_after), tenant_zone(ctx).await?)))
        }
        (instant, None) => Ok(instant),
    }
}

/// How many starts `availability` returns when `first` is not given.
const DEFAULT_SLOTS: usize = 200;

/// The complexity of an availability search: its page size times one start's.
fn slot_page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let size = first.map_or(DEFAULT_SLOTS, |n| usize::try_from(n).unwrap_or(0));
    size.clamp(1, MAX_AVAILABILITY_SLOTS).saturating_mul(child_complexity).saturating_add(1)
}

#[ComplexObject]
impl AvailableSlotObject {
    /// Where this start stands in the list: pass it as `after` for the starts that follow.
    async fn cursor(&self) -> String {
        encode_time_cursor(self.starts_at, self.provider.as_uuid())
    }

    /// The provider.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        Ok(loaders(ctx)?.providers().load_one(self.provider).await?.map(ProviderObject))
    }

    /// What the appointment costs with this provider, add-ons included.
    async fn price(&self, ctx: &Context<'_>) -> ApiResult<MoneyObject> {
        let service = loaders(ctx)?.services().load_one(self.service).await?;
        let service = service.ok_or(DomainError::NotFound { entity: "service" })?;
        money(self.price_minor, &service.currency)
    }

    /// The start as the tenant's clocks show it.
    async fn starts_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTimeObject> {
        local_time(ctx, self.starts_at).await
    }

    /// The end as the tenant's clocks show it.
    async fn ends_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTimeObject> {
        local_time(ctx, self.ends_at).await
    }
}

impl AvailableSlotObject {
    fn new(s: Slot, service: ServiceId) -> Self {
        Self {
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            provider_id: ID(s.provider_id.to_string()),
            provider: s.provider_id,
            service,
            price_minor: s.price_minor,
        }
    }
}

/// Queries about availability.
#[derive(Default)]
pub(super) struct AvailabilityQueries;

#[operations]
#[Object]
impl AvailabilityQueries {
    /// Bookable starts for a service between two local dates (at most 31 days;
    /// this week from today when omitted), for
    /// one provider or all who offer it, honouring hours, exceptions, bookings,
    /// buffers, notice, horizon and the tenant's slot step and timezone. Sorted
    /// by start, then provider; at most `first` (default 200, at most 500): for
    /// more, ask again with `after` set to the last one's `cursor`.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    #[graphql(complexity = "slot_page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn availability(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        provider_id: Option<ID>,
        addon_ids: Option<Vec<ID>>,
        #[graphql(desc = "First local date; today in the tenant's timezone when omitted.")] from: Option<NaiveDate>,
        #[graphql(desc = "Last local date (inclusive); a week from `from` when omitted.")] to: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Vec<AvailableSlotObject>> {
        let addon_ids = addon_ids.unwrap_or_default();
        let after = after
            .map(|cursor| decode_time_cursor("after", &cursor).map(|(at, provider)| (at, ProviderId(provider))))
            .transpose()?;
        let service_id = parse_id("serviceId", &service_id)?;
        let query = AvailabilityQuery {
            service_id,
            provider_id: provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            addon_ids: addon_ids.iter().map(|id| parse_id("addonIds", id)).collect::<ApiResult<_>>()?,
            from,
            to,
            after,
            limit: first.map_or(DEFAULT_SLOTS, |n| usize::try_from(n).unwrap_or(0)),
        };
        let slots = services(ctx)?.scheduling.availability(request(ctx)?, query).await?;
        Ok(slots.into_iter().map(|slot| AvailableSlotObject::new(slot, service_id)).collect())
    }
}
