//! GraphQL for notifications, one file per area: the caller's inbox (`inbox`),
//! preferences (`preferences`), templates (`templates`), deliveries
//! (`deliveries`) and webhook endpoints (`webhooks`). This module merges their
//! roots.

mod deliveries;
mod inbox;
mod preferences;
mod templates;
mod webhooks;

use async_graphql::MergedObject;

pub(crate) use inbox::{NotificationObject, NotifySubscription};
pub(crate) use webhooks::WebhookEndpointObject;

/// Notifications' queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct NotifyQuery(
    inbox::InboxQueries,
    preferences::PreferenceQueries,
    templates::TemplateQueries,
    deliveries::DeliveryQueries,
    webhooks::WebhookQueries,
);

/// Notifications' mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct NotifyMutation(
    inbox::InboxMutations,
    preferences::PreferenceMutations,
    templates::TemplateMutations,
    webhooks::WebhookMutations,
);
