//! GraphQL for what a business pays the platform, one file per area: its
//! billing details (`details`) and its plan and subscription
//! (`subscriptions`). This module merges their roots; `Query.billing` is the
//! entry to everything a business's owners read here.

mod details;
mod methods;
mod subscriptions;

use async_graphql::MergedObject;

/// Billing's queries.
#[derive(MergedObject, Default)]
pub(crate) struct BillingQuery(subscriptions::BillingQueries);

/// Billing's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct BillingMutation(
    details::BillingDetailsMutations,
    subscriptions::SubscriptionMutations,
    methods::PaymentMethodMutations,
);
