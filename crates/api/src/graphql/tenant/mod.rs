//! GraphQL for tenants, one file per area: the business itself (`tenants`), its
//! settings (`settings`), members (`members`), security policy
//! (`security_policy`), its limits and usage (`usage`) and the live feed of its
//! changes (`events`). This module
//! merges their roots.

mod events;
mod members;
pub(crate) mod objects;
mod security_policy;
mod settings;
mod tenants;
mod usage;

use async_graphql::MergedObject;

pub(crate) use events::TenantSubscription;
pub(crate) use tenants::TenantObject;

/// Tenants' queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct TenantQuery(tenants::TenantQueries, members::MemberQueries, usage::UsageQueries);

/// Tenants' mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct TenantMutation(
    tenants::TenantMutations,
    security_policy::SecurityPolicyMutations,
    usage::UsageMutations,
);
