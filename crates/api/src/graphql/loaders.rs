//! Per-request DataLoaders.
//!
//! Loaders are built for each request with that request's context, so every batch
//! they run is a read in the request's scope (DataLoaders run in spawned tasks,
//! outside any resolver's transaction). Nested fields go through them, so a page of
//! N bookings costs one query per related kind (provider, service, customer,
//! add-ons), not N. Each loader caches what it loaded for the rest of the request,
//! so a list resolver can prefetch related rows in one batch (see
//! `scheduling/prefetch.rs`) and the per-item fields find them there.

use std::collections::HashMap;
use std::sync::Arc;

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
            services: Arc<Services>,
            request: RequestContext,
        }

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = ApiError;

            async fn load(&self, $keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let ($services, $request) = (&self.services, &self.request);
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
    /// Partner clients of the request's tenant by id (the ids audit records
    /// carry where a session id would be).
    PartnerClientLoader, tessera_kernel::OAuthClientId => tessera_identity::OAuthClient,
    |services, request, keys| services.identity.oauth_clients_by_ids(request, keys).await
);

/// The next bookings of providers, keyed by provider and how many are asked for.
pub(crate) struct UpcomingBookingsLoader {
    services: Arc<Services>,
    request: RequestContext,
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
                .services
                .scheduling
                .upcoming_bookings_of(&self.request, &providers, limit)
                .await
                .map_err(ApiError::from)?;
            out.extend(providers.into_iter().map(|p| ((p, limit), found.remove(&p).unwrap_or_default())));
        }
        Ok(out)
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub(crate) users: DataLoader<UserLoader, HashMapCache>,
    pub(crate) members: DataLoader<MemberLoader, HashMapCache>,
    pub(crate) tenants: DataLoader<TenantLoader, HashMapCache>,
    pub(crate) providers: DataLoader<ProviderLoader, HashMapCache>,
    pub(crate) services: DataLoader<ServiceLoader, HashMapCache>,
    pub(crate) customers: DataLoader<CustomerLoader, HashMapCache>,
    pub(crate) working_hours: DataLoader<WorkingHoursLoader, HashMapCache>,
    pub(crate) offerings: DataLoader<OfferingsLoader, HashMapCache>,
    pub(crate) addons: DataLoader<AddonsLoader, HashMapCache>,
    pub(crate) booked_addons: DataLoader<BookedAddonsLoader, HashMapCache>,
    pub(crate) reviews: DataLoader<ReviewLoader, HashMapCache>,
    pub(crate) upcoming_bookings: DataLoader<UpcomingBookingsLoader, HashMapCache>,
    pub(crate) roles: DataLoader<RoleLoader, HashMapCache>,
    pub(crate) groups: DataLoader<GroupLoader, HashMapCache>,
    pub(crate) delivery_attempts: DataLoader<DeliveryAttemptsLoader, HashMapCache>,
    pub(crate) partner_clients: DataLoader<PartnerClientLoader, HashMapCache>,
}

impl Loaders {
    /// Loaders reading on behalf of `request`.
    pub fn new(services: Arc<Services>, request: RequestContext) -> Self {
        macro_rules! make {
            ($loader:ident) => {
                DataLoader::with_cache(
                    $loader { services: services.clone(), request: request.clone() },
                    tokio::spawn,
                    HashMapCache::default(),
                )
            };
        }
        Self {
            users: make!(UserLoader),
            members: make!(MemberLoader),
            tenants: make!(TenantLoader),
            providers: make!(ProviderLoader),
            services: make!(ServiceLoader),
            customers: make!(CustomerLoader),
            working_hours: make!(WorkingHoursLoader),
            offerings: make!(OfferingsLoader),
            addons: make!(AddonsLoader),
            booked_addons: make!(BookedAddonsLoader),
            reviews: make!(ReviewLoader),
            upcoming_bookings: make!(UpcomingBookingsLoader),
            roles: make!(RoleLoader),
            groups: make!(GroupLoader),
            delivery_attempts: make!(DeliveryAttemptsLoader),
            partner_clients: make!(PartnerClientLoader),
        }
    }
}
