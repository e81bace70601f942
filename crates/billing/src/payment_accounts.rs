//! The business's own account at a payment provider, which its customers'
//! booking payments go to, and its payment terms. Seen with `payment:read`,
//! set with `payment:manage` (owners only: where the money goes is theirs to
//! say), audited.
//!
//! Onboarding (Stripe Connect's account links) needs the real provider; an
//! owner names the connected account (`acct_…`) the platform made for them.

use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result};
use tessera_ledger::PaymentTerms;
use tessera_ledger::payments::{self, PaymentAccount};

use crate::methods::provider_name;
use crate::model::PaymentProvider;
use crate::service::BillingService;

/// What the audit log keeps of an account.
fn audited(account: &PaymentAccount) -> serde_json::Value {
    json!({
        "provider": account.provider,
        "accountId": account.account_id,
        "enabled": account.enabled,
        "terms": serde_json::to_value(&account.terms).unwrap_or_default(),
    })
}

/// Checks a Stripe connected account id (`acct_` and letters or digits).
fn parse_account_id(raw: &str) -> Result<String> {
    let id = raw.trim();
    let valid = id.len() <= 100
        && id
            .strip_prefix("acct_")
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if valid {
        Ok(id.to_owned())
    } else {
        Err(DomainError::invalid("accountId", "must be a Stripe connected account id (acct_…)"))
    }
}

impl BillingService {
    /// The business's payment account and terms (`payment:read`); `None`
    /// before one is set.
    pub async fn payment_account(&self, ctx: &RequestContext) -> Result<Option<PaymentAccount>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentRead, Access::Read).await?;
        let account = payments::account_of(&*txn, auth.tenant_id).await?;
        txn.commit().await?;
        Ok(account)
    }

    /// Sets the business's payment account (`payment:manage`). Only Stripe
    /// takes booking payments (its browser library pays a payment made
    /// beforehand), and only when the platform has configured it. An account
    /// another business named is a `CONFLICT`.
    pub async fn set_payment_account(
        &self,
        ctx: &RequestContext,
        provider: PaymentProvider,
        account_id: &str,
        enabled: bool,
    ) -> Result<PaymentAccount> {
        if provider != PaymentProvider::Stripe {
            return Err(DomainError::invalid("provider", "booking payments are taken through Stripe only"));
        }
        let account_id = parse_account_id(account_id)?;
        self.gateway(provider)?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentManage, Access::Write).await?;
        let set = (provider_name(provider), account_id.as_str(), enabled);
        let (before, after) = payments::set_account(&txn, auth.tenant_id, set, ctx.now()).await?;
        let entry = AuditEntry {
            action: "payment_account.set",
            target_type: "payment_account",
            target_id: auth.tenant_id.to_string(),
            before: before.as_ref().map(audited),
            after: Some(audited(&after)),
        };
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Sets what the business's customers pay when they book
    /// (`payment:manage`); needs the payment account first.
    pub async fn set_payment_terms(&self, ctx: &RequestContext, terms: PaymentTerms) -> Result<PaymentAccount> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentManage, Access::Write).await?;
        let (before, after) = payments::set_terms(&txn, auth.tenant_id, &terms, ctx.now()).await?;
        let entry = AuditEntry {
            action: "payment_terms.set",
            target_type: "payment_account",
            target_id: auth.tenant_id.to_string(),
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(&after).unwrap_or_default()),
        };
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        let account = payments::account_of(&*txn, auth.tenant_id)
            .await?
            .ok_or(DomainError::NotFound { entity: "payment account" })?;
        txn.commit().await?;
        Ok(account)
    }
}
