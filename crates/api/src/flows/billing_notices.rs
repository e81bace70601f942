//! What billing asks of the gateway: to tell a business's owners about its
//! subscription (the trial ending, a start, a cancellation, an end, a payment
//! declined or made), inside
//! the transaction that made the change: a message to each owner by email and
//! in the app, and one by email to the billing address when no owner has it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use tessera_billing::{BillingHooks, BillingNotice, NoticeKind};
use tessera_kernel::{Result, TenantId};
use tessera_notify::{NewNotification, Priority, Recipient, Topic};

/// The gateway's [`BillingHooks`]: the business's owners (rbac), their
/// addresses (identity) and the messages (notify).
#[derive(Debug, Default)]
pub(crate) struct GatewayBillingHooks;

#[async_trait]
impl BillingHooks for GatewayBillingHooks {
    async fn notice(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        notice: BillingNotice,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        let owners = tessera_rbac::owners_in(txn, tenant_id, at).await?;
        let people = tessera_identity::users_in(txn, &owners).await?;
        let (topic, priority) = match notice.kind {
            NoticeKind::TrialEnding => (Topic::BillingTrialEnding, None),
            NoticeKind::SubscriptionChanged => (Topic::BillingSubscriptionChanged, None),
            // Before the last try the owners hear of it past quiet hours.
            NoticeKind::PaymentFailed { last_try } => {
                (Topic::BillingPaymentFailed, last_try.then_some(Priority::Urgent))
            }
            NoticeKind::PaymentSucceeded => (Topic::BillingPaymentSucceeded, None),
        };
        let message = |recipient: Recipient, who: String| NewNotification {
            topic,
            priority,
            recipient,
            variables: notice.variables.clone(),
            subject: Some(("subscription", notice.dedupe_key.clone())),
            not_before: None,
            dedupe_key: Some(format!("{}:{who}", notice.dedupe_key)),
            sent_by: None,
            calendar: None,
        };
        let mut messages: Vec<NewNotification> = people
            .iter()
            .map(|person| {
                let recipient = Recipient {
                    user_id: Some(person.id),
                    name: Some(person.display_name.clone()),
                    email: Some(person.email.clone()),
                    phone: None,
                };
                message(recipient, person.id.to_string())
            })
            .collect();
        if let Some(address) = notice.billing_email.as_deref()
            && !people.iter().any(|p| p.email.eq_ignore_ascii_case(address))
        {
            let recipient = Recipient { email: Some(address.to_owned()), ..Recipient::default() };
            messages.push(message(recipient, address.to_owned()));
        }
        if !messages.is_empty() {
            tessera_notify::queue_all(txn, tenant_id, &tenant.locale, at, messages).await?;
        }
        Ok(())
    }
}
