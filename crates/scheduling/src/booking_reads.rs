//! Reading bookings: the tenant's list with its filters, a provider's upcoming
//! ones, and the batches DataLoaders ask for (bookings, their add-ons), each
//! limited to what the caller may see (`reach`).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{
    BookingId, CustomerId, Page, PageRequest, Permission, ProviderId, Reach, RequestContext, Result, ServiceId,
    TenantId,
};

use crate::entity::{booking, booking_addon, customer, provider, service};
use crate::model::{BookedAddon, Booking, BookingFilter, BookingStatus, Customer, Provider, Service};
use crate::reach::Visible;
use crate::service::SchedulingService;

/// The ids among `ids` of bookings within `visible`.
pub(crate) async fn visible_ids(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    ids: &[BookingId],
    visible: &Visible,
) -> Result<Vec<BookingId>> {
    let Some(within) = visible.bookings() else { return Ok(ids.to_vec()) };
    Ok(booking::Entity::find()
        .select_only()
        .column(booking::Column::Id)
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::Id.is_in(ids.iter().copied()))
        .filter(within)
        .into_tuple()
        .all(txn)
        .await?)
}

/// The tenant's bookings matching `filter` within `visible`, unordered.
fn filtered(tenant_id: TenantId, visible: &Visible, filter: &BookingFilter) -> Select<booking::Entity> {
    let mut select = booking::Entity::find().filter(booking::Column::TenantId.eq(tenant_id));
    if let Some(within) = visible.bookings() {
        select = select.filter(within);
    }
    if let Some(from) = filter.from {
        select = select.filter(booking::Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(booking::Column::StartsAt.lt(to));
    }
    if let Some(provider_id) = filter.provider_id {
        select = select.filter(booking::Column::ProviderId.eq(provider_id));
    }
    if let Some(customer_id) = filter.customer_id {
        select = select.filter(booking::Column::CustomerId.eq(customer_id));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(booking::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(session_id) = filter.class_session_id {
        select = select.filter(booking::Column::ClassSessionId.eq(session_id));
    }
    if let Some(series_id) = filter.series_id {
        select = select.filter(booking::Column::SeriesId.eq(series_id));
    }
    select
}

/// The providers, services and customers of a page of bookings, as
/// [`SchedulingService::bookings_with_parties`] read them.
#[derive(Debug, Default)]
pub struct BookingParties {
    /// By id.
    pub providers: HashMap<ProviderId, Provider>,
    /// By id.
    pub services: HashMap<ServiceId, Service>,
    /// By id.
    pub customers: HashMap<CustomerId, Customer>,
}

impl SchedulingService {
    /// The tenant's bookings matching `filter`, ordered by start; with
    /// `booking:read_own` only those the actor takes part in.
    pub async fn bookings(
        &self,
        ctx: &RequestContext,
        filter: &BookingFilter,
        page: &PageRequest,
    ) -> Result<Page<Booking>> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.time_keyset()?;
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let select = filtered(auth.tenant_id, &visible, filter);
        let rows = keyset.apply(select, booking::Column::StartsAt, booking::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Booking::from))
    }

    /// [`Self::bookings`], with each booking's provider, service and customer
    /// read in the same statement (a page shown with its people, as calendars
    /// are, costs one query instead of four). Each kind is returned only when
    /// the caller could read it on its own: `provider:read`, `service:read`,
    /// and `customer:read` tenant-wide; with a narrower reach customers are
    /// left to their own query, which applies it.
    pub async fn bookings_with_parties(
        &self,
        ctx: &RequestContext,
        filter: &BookingFilter,
        page: &PageRequest,
    ) -> Result<(Page<Booking>, BookingParties)> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.time_keyset()?;
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let select =
            keyset.apply(filtered(auth.tenant_id, &visible, filter), booking::Column::StartsAt, booking::Column::Id);
        let rows = select
            .find_also_related(provider::Entity)
            .find_also(booking::Entity, service::Entity)
            .find_also(booking::Entity, customer::Entity)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let providers_readable = ctx.authorize(Permission::ProviderRead).is_ok();
        let services_readable = ctx.authorize(Permission::ServiceRead).is_ok();
        let customers_readable = matches!(
            ctx.authorize_reach(Permission::CustomerRead, Permission::CustomerReadOwn),
            Ok((_, Reach::Tenant))
        );
        let mut parties = BookingParties::default();
        let page = keyset.finish(rows).map(|(row, provider, service, customer)| {
            if let Some(provider) = provider.filter(|_| providers_readable) {
                parties.providers.insert(provider.id, provider.into());
            }
            if let Some(service) = service.filter(|_| services_readable) {
                parties.services.insert(service.id, service.into());
            }
            if let Some(customer) = customer.filter(|_| customers_readable) {
                parties.customers.insert(customer.id, customer.into());
            }
            Booking::from(row)
        });
        Ok((page, parties))
    }

    /// The next `limit` upcoming (scheduled or confirmed) bookings of each provider,
    /// from now, in one query for all of them.
    pub async fn upcoming_bookings_of(
        &self,
        ctx: &RequestContext,
        providers: &[ProviderId],
        limit: usize,
    ) -> Result<HashMap<ProviderId, Vec<Booking>>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::ProviderId.is_in(providers.iter().copied()))
            .filter(visible.bookings().unwrap_or_else(Condition::all))
            .filter(booking::Column::Status.is_in([BookingStatus::Scheduled, BookingStatus::Confirmed]))
            .filter(booking::Column::StartsAt.gte(ctx.now()))
            .order_by_asc(booking::Column::StartsAt)
            .order_by_asc(booking::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_provider: HashMap<ProviderId, Vec<Booking>> = HashMap::new();
        for row in rows {
            let list = by_provider.entry(row.provider_id).or_default();
            if list.len() < limit {
                list.push(row.into());
            }
        }
        Ok(by_provider)
    }

    /// Bookings by id (of the request's tenant only).
    pub async fn bookings_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Booking>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::Id.is_in(ids.iter().copied()))
            .filter(visible.bookings().unwrap_or_else(Condition::all))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.id, Booking::from(r))).collect())
    }

    /// The add-ons booked with several bookings.
    pub async fn addons_of_bookings(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Vec<BookedAddon>>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let ids = visible_ids(&txn, auth.tenant_id, ids, &visible).await?;
        let rows = booking_addon::Entity::find()
            .filter(booking_addon::Column::TenantId.eq(auth.tenant_id))
            .filter(booking_addon::Column::BookingId.is_in(ids))
            .order_by_asc(booking_addon::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_booking: HashMap<BookingId, Vec<BookedAddon>> = HashMap::new();
        for row in rows {
            by_booking.entry(row.booking_id).or_default().push(row.into());
        }
        Ok(by_booking)
    }
}
