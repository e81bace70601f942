//! What the ledger asks of the gateway inside a using transaction: a
//! tenant's terms (tier and timezone) for the domains that cannot read the
//! tenant, and telling a business's owners it reached a usage alert's threshold, inside
//! the transaction whose use reached it (the ledger fires each threshold once
//! per period): a message to each owner by email and in the app (urgent, so
//! quiet hours do not hold it, once the limit itself is reached), and a
//! `usage.threshold_reached` event to the business's webhook endpoints.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseTransaction;
use serde_json::json;
use tessera_kernel::{DomainError, Result, TenantId};
use tessera_ledger::{Reached, UsageHooks, UsageTerms};
use tessera_notify::{NewNotification, Priority, Recipient, Topic};

/// The gateway's [`UsageHooks`]: the tenant's terms (tenant); for a reached
/// threshold, its owners (rbac), their addresses (identity), the messages and
/// the webhook event (notify).
#[derive(Debug, Default)]
pub(crate) struct GatewayUsageHooks;

#[async_trait]
impl UsageHooks for GatewayUsageHooks {
    async fn terms(&self, txn: &DatabaseTransaction, tenant_id: TenantId) -> Result<UsageTerms> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        Ok(UsageTerms { tenant_id, tier: tenant.tier, timezone: timezone_of(&tenant)? })
    }

    async fn reached(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        reached: &[Reached],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        let timezone = timezone_of(&tenant)?;
        let owners = tessera_rbac::owners_in(txn, tenant_id, at).await?;
        let people = tessera_identity::users_in(txn, &owners).await?;
        let mut notices = Vec::new();
        for one in reached {
            let metric = one.metric.as_str();
            let resets_at =
                one.period.resets_at.map(|r| r.with_timezone(&timezone).format("%Y-%m-%d %H:%M").to_string());
            let variables = json!({
                "businessName": tenant.name,
                "metric": metric,
                "threshold": one.threshold.key(),
                "used": one.used,
                "limit": one.limit,
                "resetsAt": resets_at,
            });
            for person in &people {
                notices.push(NewNotification {
                    topic: Topic::UsageThresholdReached,
                    priority: one.at_limit().then_some(Priority::Urgent),
                    recipient: Recipient {
                        user_id: Some(person.id),
                        name: Some(person.display_name.clone()),
                        email: Some(person.email.clone()),
                        phone: None,
                    },
                    variables: variables.clone(),
                    subject: Some(("usage", metric.to_owned())),
                    not_before: None,
                    dedupe_key: Some(format!(
                        "usage:{metric}:{}:{}:{}",
                        one.period.key,
                        one.threshold.key(),
                        person.id
                    )),
                    sent_by: None,
                    calendar: None,
                });
            }
            let data = json!({
                "metric": metric,
                "threshold": one.threshold.key(),
                "level": one.level,
                "used": one.used,
                "limit": one.limit,
                "period": one.period.key,
                "resetsAt": one.period.resets_at,
            });
            let subject = ("usage", format!("{metric}:{}", one.period.key));
            tessera_notify::queue_event(txn, tenant_id, at, Topic::UsageThresholdReached.as_str(), subject, data)
                .await?;
        }
        if !notices.is_empty() {
            tessera_notify::queue_all(txn, tenant_id, &tenant.locale, at, notices).await?;
        }
        Ok(())
    }
}

fn timezone_of(tenant: &tessera_tenant::Tenant) -> Result<Tz> {
    tenant
        .timezone
        .parse()
        .map_err(|_| DomainError::Internal(format!("tenant timezone {} is invalid", tenant.timezone)))
}
