//! Per-request DataLoaders.
//!
//! Loaders are made for each request with that request's context (each on the
//! first field that needs it: a request or a subscription that needs none makes
//! none, and all of them share one copy of the context), so every batch
//! they run is a read in the request's scope (DataLoaders run in spawned tasks;
//! holding the request's context, a query's loaders read in its one shared
//! transaction, `kernel/src/txn.rs`). Nested fields go through them, so a page of
//! N bookings costs one query per related kind (provider, service, customer,
//! add-ons), not N. Each loader caches what it loaded for the rest of the request,
//! so a list resolver can prefetch related rows in one batch (see
//! `scheduling/prefetch.rs`) and the per-item fields find them there.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use tessera_identity::User;
use tessera_kernel::{
    BookingId, CustomerId, DeliveryId, GroupId, ProviderId, RequestContext, RoleId, ServiceId, TenantId, UserId,
};
use tessera_rbac::{Group, Role};
use tessera_scheduling::{Addon, BookedAddon, Customer, Offering, Provider, Review, Service, WeeklyInterval};
use tessera_tenant::Tenant;

use crate::error::ApiError;
use crate::services::Services;

/// Declares a loader: a struct holding the services and the request, and its
/// `Loader` impl, whose body turns the keys into a map.
macro_rules! loader {
    ($(#[$doc:meta])* $name:ident, $key:ty => $value:ty, |$services:ident, $request:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub(crate) struct $name {
            scope: Arc<LoaderScope>,
        }

        impl From<Arc<LoaderScope>> for $name {
            fn from(scope: Arc<LoaderScope>) -> Self {
                Self { scope }
            }
        }

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = ApiError;

            async fn load(&self, $keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let ($services, $request) = (&self.scope.services, &self.scope.request);
                let loaded: tessera_kernel::Result<HashMap<$key, $value>> = $body;
                loaded.map_err(ApiError::from)
            }
        }
    };
}

loader!(
    /// Users by id.
    UserLoader, UserId => User,
    |services, request, keys| services.identity.users_by_ids(request, keys).await.map(|users| users.into_iter().map(|u| (u.id, u)).collect())
);
loader!(
    /// Which users belong to the request's tenant (present: a member).
    MemberLoader, UserId => (),
    |services, request, keys| services.tenants.members_of_request_tenant(request, keys).await.map(|ids| ids.into_iter().map(|id| (id, ())).collect())
);
loader!(
    /// Tenants by id (only those the actor may read).
    TenantLoader, TenantId => Tenant,
    |services, request, keys| services.tenants.tenants_by_ids(request, keys).await
);
loader!(
    /// Providers by id.
    ProviderLoader, ProviderId => Provider,
    |services, request, keys| services.scheduling.providers_by_ids(request, keys).await
);
loader!(
    /// Services by id.
    ServiceLoader, ServiceId => Service,
    |services, request, keys| services.scheduling.services_by_ids(request, keys).await
);
loader!(
    /// Customers by id.
    CustomerLoader, CustomerId => Customer,
    |services, request, keys| services.scheduling.customers_by_ids(request, keys).await
);
loader!(
    /// Roles by id (deleted ones too, for history).
    RoleLoader, RoleId => Role,
    |services, request, keys| services.rbac.roles_by_ids(request, keys).await
);
loader!(
    /// Groups by id (deleted ones too).
    GroupLoader, GroupId => Group,
    |services, request, keys| services.rbac.groups_by_ids(request, keys).await
);
/// Gives every asked key a value (an empty list, or `None`), so that the loader's
/// cache remembers "nothing there" too and items without related rows do not ask
/// the database again.
fn every_key<K: Copy + std::hash::Hash + Eq, V: Default>(keys: &[K], mut found: HashMap<K, V>) -> HashMap<K, V> {
    keys.iter().map(|k| (*k, found.remove(k).unwrap_or_default())).collect()
}

loader!(
    /// Weekly hours by provider.
    WorkingHoursLoader, ProviderId => Vec<WeeklyInterval>,
    |services, request, keys| services.scheduling.working_hours_of(request, keys).await.map(|found| every_key(keys, found))
);
loader!(
    /// The services each provider offers, with their terms.
    OfferingsLoader, ProviderId => Vec<Offering>,
    |services, request, keys| services.scheduling.offerings_of_providers(request, keys).await.map(|found| every_key(keys, found))
);
loader!(
    /// Add-ons by service.
    AddonsLoader, ServiceId => Vec<Addon>,
    |services, request, keys| services.scheduling.addons_of_services(request, keys).await.map(|found| every_key(keys, found))
);
loader!(
    /// Booked add-ons by booking.
    BookedAddonsLoader, BookingId => Vec<BookedAddon>,
    |services, request, keys| services.scheduling.addons_of_bookings(request, keys).await.map(|found| every_key(keys, found))
);
loader!(
    /// Reviews by booking (`None` for a booking without one).
    ReviewLoader, BookingId => Option<Review>,
    |services, request, keys| services
        .scheduling
        .reviews_of_bookings(request, keys)
        .await
        .map(|found| every_key(keys, found.into_iter().map(|(k, v)| (k, Some(v))).collect()))
);

loader!(
    /// The attempts of notification deliveries (an empty list for none yet).
    DeliveryAttemptsLoader, DeliveryId => Vec<tessera_notify::Attempt>,
    |services, request, keys| services.notify.attempts(request, keys).await.map(|found| every_key(keys, found))
);

loader!(
    /// Each plan version's overage prices (none where it has none).
    PlanOverageLoader, tessera_kernel::PlanId => Vec<tessera_billing::OveragePrice>,
    |services, request, keys| services.billing.overage_prices_of(request, keys).await
);

loader!(
    /// What customers paid for bookings, by booking (an empty list for none).
    BookingPaymentsLoader, BookingId => Vec<tessera_ledger::payments::BookingPayment>,
    |services, request, keys| services.billing.payments_of_bookings(request, keys).await
);

loader!(
    /// What was given back of booking payments, by payment.
    BookingRefundsLoader, uuid::Uuid => Vec<tessera_ledger::refunds::BookingRefund>,
    |services, request, keys| services.billing.refunds_of_payments(request, keys).await
);

loader!(
    /// Partner clients of the request's tenant by id (the ids audit records
    /// carry where a session id would be).
    PartnerClientLoader, tessera_kernel::OAuthClientId => tessera_identity::OAuthClient,
    |services, request, keys| services.identity.oauth_clients_by_ids(request, keys).await
);

/// The next bookings of providers, keyed by provider and how many are asked for.
pub(crate) struct UpcomingBookingsLoader {
    scope: Arc<LoaderScope>,
}

impl From<Arc<LoaderScope>> for UpcomingBookingsLoader {
    fn from(scope: Arc<LoaderScope>) -> Self {
        Self { scope }
    }
}

impl Loader<(ProviderId, usize)> for UpcomingBookingsLoader {
    type Value = Vec<tessera_scheduling::Booking>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(ProviderId, usize)],
    ) -> Result<HashMap<(ProviderId, usize), Self::Value>, Self::Error> {
        // Fields of one page ask for the same count; load once per distinct count.
        let mut out = HashMap::new();
        let mut limits: Vec<usize> = keys.iter().map(|(_, n)| *n).collect();
        limits.sort_unstable();
        limits.dedup();
        for limit in limits {
            let providers: Vec<ProviderId> = keys.iter().filter(|(_, n)| *n == limit).map(|(p, _)| *p).collect();
            let mut found = self
                .scope
                .services
                .scheduling
                .upcoming_bookings_of(&self.scope.request, &providers, limit)
                .await
                .map_err(ApiError::from)?;
            out.extend(providers.into_iter().map(|p| ((p, limit), found.remove(&p).unwrap_or_default())));
        }
        Ok(out)
    }
}

/// The services and the request every loader of one request reads with,
/// shared by all of them.
pub(crate) struct LoaderScope {
    services: Arc<Services>,
    request: RequestContext,
}

/// Declares [`Loaders`]: one DataLoader of each kind, made on first use, so a
/// request (or a subscription, for its whole life) that needs none of them
/// allocates none.
macro_rules! loaders {
    ($($(#[$doc:meta])* $field:ident: $loader:ident,)+) => {
        /// A request's DataLoaders, each made the first time a field asks for it.
        pub struct Loaders {
            scope: Arc<LoaderScope>,
            $($field: OnceLock<DataLoader<$loader, HashMapCache>>,)+
        }

        impl Loaders {
            /// Loaders reading on behalf of `request`.
            pub fn new(services: Arc<Services>, request: RequestContext) -> Self {
                Self { scope: Arc::new(LoaderScope { services, request }), $($field: OnceLock::new(),)+ }
            }

            $(
                $(#[$doc])*
                pub(crate) fn $field(&self) -> &DataLoader<$loader, HashMapCache> {
                    self.$field.get_or_init(|| {
                        DataLoader::with_cache($loader::from(self.scope.clone()), tokio::spawn, HashMapCache::default())
                    })
                }
            )+
        }
    };
}

loaders! {
    users: UserLoader,
    members: MemberLoader,
    tenants: TenantLoader,
    providers: ProviderLoader,
    services: ServiceLoader,
    customers: CustomerLoader,
    working_hours: WorkingHoursLoader,
    offerings: OfferingsLoader,
    addons: AddonsLoader,
    booked_addons: BookedAddonsLoader,
    reviews: ReviewLoader,
    upcoming_bookings: UpcomingBookingsLoader,
    roles: RoleLoader,
    groups: GroupLoader,
    delivery_attempts: DeliveryAttemptsLoader,
    partner_clients: PartnerClientLoader,
    plan_overage_prices: PlanOverageLoader,
    booking_payments: BookingPaymentsLoader,
    booking_refunds: BookingRefundsLoader,
}
