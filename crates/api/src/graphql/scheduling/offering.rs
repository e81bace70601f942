//! GraphQL for a provider's terms: the services a provider offers, each at the
//! service's price and length or the provider's own.

use async_graphql::{Context, InputObject, MaybeUndefined, Object};
use tessera_scheduling::{Offering, OfferingTerms, Service};

use super::services::ServiceObject;
use crate::error::ApiResult;
use crate::graphql::loaders;
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::patch::kept_cleared_or_set;

/// A service a provider offers, with what they charge and take for it.
pub(crate) struct ServiceOfferingObject {
    pub(crate) offering: Offering,
    pub(crate) service: Service,
}

#[Object(name = "ServiceOffering")]
impl ServiceOfferingObject {
    /// The service.
    async fn service(&self) -> ServiceObject {
        ServiceObject(self.service.clone())
    }
    /// What this provider charges for it, before add-ons: their own price or the service's.
    async fn price(&self) -> ApiResult<MoneyObject> {
        money(self.offering.price_of(&self.service), &self.service.currency)
    }
    /// How long this provider takes, in minutes, before add-ons: their own time or the service's.
    async fn duration_minutes(&self) -> i32 {
        self.offering.duration_of(&self.service)
    }
    /// Whether the price is the provider's own rather than the service's.
    async fn has_own_price(&self) -> bool {
        self.offering.price_minor.is_some()
    }
    /// Whether the length is the provider's own rather than the service's.
    async fn has_own_duration(&self) -> bool {
        self.offering.duration_minutes.is_some()
    }
}

/// The services `provider` offers (not deleted ones), oldest service first.
pub(crate) async fn offerings_of(
    ctx: &Context<'_>,
    provider: tessera_kernel::ProviderId,
) -> ApiResult<Vec<ServiceOfferingObject>> {
    let loaders = loaders(ctx)?;
    let offered = loaders.offerings().load_one(provider).await?.unwrap_or_default();
    let mut found = loaders.services().load_many(offered.iter().map(|o| o.service_id)).await?;
    let mut listed: Vec<ServiceOfferingObject> = offered
        .into_iter()
        .filter_map(|offering| {
            let service = found.remove(&offering.service_id).filter(|s| s.deleted_at.is_none())?;
            Some(ServiceOfferingObject { offering, service })
        })
        .collect();
    listed.sort_by_key(|o| o.service.id);
    Ok(listed)
}

/// What a provider charges and takes for a service. An omitted term is kept (the
/// service's for a new offering); `null` returns it to the service's.
#[derive(InputObject, Default)]
pub(crate) struct OfferingTermsInput {
    /// The provider's own price in minor units, before add-ons.
    price_minor: MaybeUndefined<i32>,
    /// The provider's own length in minutes, before add-ons.
    duration_minutes: MaybeUndefined<i32>,
}

impl From<OfferingTermsInput> for OfferingTerms {
    fn from(input: OfferingTermsInput) -> Self {
        Self {
            price_minor: kept_cleared_or_set(input.price_minor).map(|p| p.map(i64::from)),
            duration_minutes: kept_cleared_or_set(input.duration_minutes),
        }
    }
}
