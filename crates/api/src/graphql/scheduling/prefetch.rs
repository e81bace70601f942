//! Look-ahead loading for pages: the rows a query asks for under a page of providers or
//! bookings, loaded in one batch per kind before the per-item fields run, so the
//! statements do not grow with the page.

use async_graphql::Context;
use tessera_kernel::{ProviderId, ServiceId};
use tessera_scheduling::{Booking, Provider};

use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders;

/// `keys` sorted, each once.
pub(super) fn unique<K: Ord + Copy>(keys: impl Iterator<Item = K>) -> Vec<K> {
    let mut keys: Vec<K> = keys.collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Loads `keys` into a loader's cache when `wanted`.
pub(super) async fn prefetch<L, K>(
    wanted: bool,
    loader: &async_graphql::dataloader::DataLoader<L, async_graphql::dataloader::HashMapCache>,
    keys: &[K],
) -> ApiResult<()>
where
    L: async_graphql::dataloader::Loader<K, Error = ApiError>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    if wanted {
        loader.load_many(keys.iter().cloned()).await?;
    }
    Ok(())
}

/// Loads, in one batch per kind, the hours, services and upcoming bookings a
/// query asks for under a page of providers (see [`prefetch_for_bookings`]).
pub(super) async fn prefetch_for_providers(ctx: &Context<'_>, providers: &[Provider]) -> ApiResult<()> {
    if providers.is_empty() {
        return Ok(());
    }
    let node = ctx.look_ahead().field("edges").field("node");
    let loaders = loaders(ctx)?;
    let ids = unique(providers.iter().map(|p| p.id));
    let upcoming = node.field("upcomingBookings");
    let limit = upcoming_limit(ctx).unwrap_or(5);
    let upcoming_keys: Vec<(ProviderId, usize)> = ids.iter().map(|p| (*p, limit)).collect();
    let offered = async {
        if node.field("services").exists() || node.field("offerings").exists() {
            let offered = loaders.offerings().load_many(ids.iter().copied()).await?;
            loaders.services().load_many(unique(offered.into_values().flatten().map(|o| o.service_id))).await?;
        }
        Ok::<_, ApiError>(())
    };
    let (a, b, c) = futures_util::join!(
        prefetch(node.field("workingHours").exists(), loaders.working_hours(), &ids),
        prefetch(upcoming.exists() && (1..=20).contains(&limit), loaders.upcoming_bookings(), &upcoming_keys),
        offered,
    );
    a?;
    b?;
    c
}

/// The `first` argument of `edges.node.upcomingBookings` in the current selection.
fn upcoming_limit(ctx: &Context<'_>) -> Option<usize> {
    let field = ctx.field();
    let node = field.selection_set().find(|f| f.name() == "edges")?.selection_set().find(|f| f.name() == "node")?;
    let upcoming = node.selection_set().find(|f| f.name() == "upcomingBookings")?;
    first_or_default(upcoming.arguments().ok()?)
}

/// The `first` argument among a field's `arguments` (5 when absent); `None` when
/// it is no count, which the field itself then refuses.
fn first_or_default(arguments: Vec<(async_graphql::Name, async_graphql::Value)>) -> Option<usize> {
    match arguments.into_iter().find(|(name, _)| name.as_str() == "first").map(|(_, value)| value) {
        None => Some(5),
        Some(async_graphql::Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(_) => None,
    }
}

/// Loads, in one batch per kind, the rows the query asks for under a page of
/// bookings. DataLoaders batch what is requested within a short window; on a large
/// page, late fields can miss it and cost another query. Loading up front from the
/// query's selection makes the number of statements independent of the page size;
/// the per-item fields then find the rows in the loaders' cache.
pub(super) async fn prefetch_for_bookings(ctx: &Context<'_>, bookings: &[Booking]) -> ApiResult<()> {
    if bookings.is_empty() {
        return Ok(());
    }
    let node = ctx.look_ahead().field("edges").field("node");
    let (provider, service) = (node.field("provider"), node.field("service"));
    let loaders = loaders(ctx)?;
    let providers = unique(bookings.iter().map(|b| b.provider_id));
    let services = unique(bookings.iter().map(|b| b.service_id));
    let customers = unique(bookings.iter().map(|b| b.customer_id));
    let ids = unique(bookings.iter().map(|b| b.id));
    let offered = async {
        if provider.field("services").exists() || provider.field("offerings").exists() {
            loaders.offerings().load_many(providers.iter().copied()).await
        } else {
            Ok(Default::default())
        }
    };
    let (a, b, c, d, e, f, offered) = futures_util::join!(
        prefetch(provider.exists(), loaders.providers(), &providers),
        prefetch(provider.field("workingHours").exists(), loaders.working_hours(), &providers),
        prefetch(service.field("addons").exists(), loaders.addons(), &services),
        prefetch(node.field("customer").exists(), loaders.customers(), &customers),
        prefetch(node.field("addons").exists(), loaders.booked_addons(), &ids),
        prefetch(node.field("review").exists(), loaders.reviews(), &ids),
        offered,
    );
    for result in [a, b, c, d, e, f] {
        result?;
    }
    // One load of services: the bookings' own and those their providers offer.
    let offered: Vec<ServiceId> = offered?.into_values().flatten().map(|o| o.service_id).collect();
    let wanted = if service.exists() { services.clone() } else { Vec::new() };
    let all = unique(wanted.into_iter().chain(offered));
    prefetch(!all.is_empty(), loaders.services(), &all).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, Value};

    use super::{first_or_default, unique};

    #[test]
    fn keys_are_loaded_once_each_in_order() {
        assert_eq!(unique([3, 1, 3, 2, 1].into_iter()), [1, 2, 3]);
        assert!(unique(std::iter::empty::<u8>()).is_empty());
    }

    #[test]
    fn the_look_ahead_reads_first_as_the_field_will() {
        let first = |value: Value| vec![(Name::new("after"), Value::Null), (Name::new("first"), value)];
        assert_eq!(first_or_default(Vec::new()), Some(5), "the field's default");
        assert_eq!(first_or_default(first(Value::from(3))), Some(3));
        assert_eq!(first_or_default(first(Value::from(-1))), None, "a negative count is refused, not prefetched");
        assert_eq!(first_or_default(first(Value::from("3"))), None);
    }
}
