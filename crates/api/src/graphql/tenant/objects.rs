//! The tenant types other domains show: a business's tier (a plan's, in
//! billing).

use async_graphql::Enum;

/// A tenant's service tier.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantTier", remote = "tessera_tenant::TenantTier")]
pub(crate) enum TenantTierEnum {
    Free,
    Basic,
    Premium,
    Enterprise,
}
