//! Counting what the worker sends against the business's tier: each email,
//! text message and webhook delivery once, when the worker is about to send it, under the
//! delivery's id (a retry counts nothing), so a hard limit is checked before
//! the provider is called rather than after. Over the limit, the message is
//! not sent and the delivery log says why; its other copies (email, in-app)
//! carry it. A unit counted for a message that ends unsent (refused for good,
//! no provider) is given back, in the transaction that records how it ended. The platform's own notice to the owners about
//! their usage is not counted: a business over its email limit must still
//! hear of it.

use sea_orm::DatabaseTransaction;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Result};
use tessera_ledger::{Metric, Usage};

use crate::entity::{delivery, notification};
use crate::model::{Channel, Topic};
use crate::worker::DeliveryWorker;

/// Whether a message may go, as far as the business's tier goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reservation {
    /// This channel or topic is not counted.
    NotCounted,
    /// Counted (now, or by an earlier try of the same delivery).
    Reserved,
    /// Over a hard limit: why, for the delivery log.
    Over(&'static str),
}

/// What sending `delivery` of `notification` uses, if anything.
fn metric_of(delivery: &delivery::Model, notification: &notification::Model) -> Option<Metric> {
    // The platform's own messages to the owners about their limits and what
    // they pay go out whatever the business used.
    let platform_notices = [
        Topic::UsageThresholdReached,
        Topic::BillingTrialEnding,
        Topic::BillingSubscriptionChanged,
        Topic::BillingPaymentFailed,
        Topic::BillingPaymentSucceeded,
    ];
    if platform_notices.iter().any(|t| notification.topic == t.as_str()) {
        return None;
    }
    match delivery.channel {
        Channel::Email => Some(Metric::Emails),
        Channel::Sms => Some(Metric::Sms),
        Channel::Webhook => Some(Metric::WebhookDeliveries),
        Channel::Push | Channel::InApp => None,
    }
}

fn over(metric: Metric) -> &'static str {
    match metric {
        Metric::Sms => "over the business's text-message limit for this month: sent by email and in the app instead",
        Metric::WebhookDeliveries => "over the business's webhook delivery limit for this month",
        _ => "over the business's email limit for this month: sent in the app instead",
    }
}

impl DeliveryWorker {
    /// Counts the message `delivery` is about to send (once per delivery).
    pub(crate) async fn reserve(
        &self,
        delivery: &delivery::Model,
        notification: &notification::Model,
    ) -> Result<Reservation> {
        let Some(metric) = metric_of(delivery, notification) else { return Ok(Reservation::NotCounted) };
        let usage = Usage {
            metric,
            quantity: 1,
            at: self.clock.now(),
            source_kind: "delivery",
            source_id: Some(delivery.id.to_string()),
            key: format!("delivery:{}", delivery.id),
        };
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        match tessera_ledger::count_with(&txn, &*self.usage, delivery.tenant_id, usage).await {
            Ok(_) => {
                txn.commit().await?;
                Ok(Reservation::Reserved)
            }
            // Nothing was counted: the transaction rolls back as it drops.
            Err(DomainError::QuotaExceeded { .. }) => Ok(Reservation::Over(over(metric))),
            Err(err) => Err(err),
        }
    }

    /// Gives back the unit counted for `delivery`, which ended unsent, in the
    /// transaction that records how it ended.
    pub(crate) async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        delivery: &delivery::Model,
        notification: &notification::Model,
    ) -> Result<()> {
        let Some(metric) = metric_of(delivery, notification) else { return Ok(()) };
        let usage = Usage {
            metric,
            quantity: -1,
            at: self.clock.now(),
            source_kind: "delivery",
            source_id: Some(delivery.id.to_string()),
            key: format!("delivery:{}:unsent", delivery.id),
        };
        tessera_ledger::count_with(txn, &*self.usage, delivery.tenant_id, usage).await?;
        Ok(())
    }
}
