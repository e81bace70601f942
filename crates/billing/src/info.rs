//! A business's billing details: who its invoices are made out to, where
//! billing notices go, the currency it is billed in and the payment provider
//! it prefers. Read with `billing:read`, changed with `billing:manage`
//! (its owners), each change audited with what it was before.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId};

use crate::entity::tenant_billing;
use crate::model::{Address, BillingInfo, BillingInfoPatch, PaymentProvider};
use crate::money::currency_code;
use crate::service::{BillingService, live_row, lock_billing};

/// The currency a business is billed in until its owners choose another.
pub(crate) const DEFAULT_CURRENCY: &str = "USD";

/// The days after an invoice fell due on which a declined one is tried again.
pub(crate) const DEFAULT_RETRY_DAYS: &str = "1,3,5,7";

impl From<tenant_billing::Model> for BillingInfo {
    fn from(row: tenant_billing::Model) -> Self {
        Self {
            tenant_id: row.tenant_id,
            legal_name: row.legal_name,
            billing_email: row.billing_email,
            tax_id: row.tax_id,
            country: row.country,
            address: Address {
                line1: row.address_line1,
                line2: row.address_line2,
                city: row.city,
                region: row.region,
                postal_code: row.postal_code,
            },
            currency: row.currency,
            preferred_provider: row.preferred_provider,
            trial_used_at: row.trial_used_at,
            retry_days: crate::charging::retry_days(&row.retry_days),
            cancel_when_retries_fail: row.when_retries_fail == "cancel",
            updated_at: Some(row.updated_at),
        }
    }
}

impl BillingInfo {
    /// A business's details before its owners saved any.
    fn unsaved(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            legal_name: None,
            billing_email: None,
            tax_id: None,
            country: None,
            address: Address::default(),
            currency: DEFAULT_CURRENCY.to_owned(),
            preferred_provider: PaymentProvider::Stripe,
            trial_used_at: None,
            retry_days: crate::charging::retry_days(DEFAULT_RETRY_DAYS),
            cancel_when_retries_fail: false,
            updated_at: None,
        }
    }
}

/// The business's details row, when saved.
pub(crate) async fn find<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<Option<tenant_billing::Model>> {
    Ok(tenant_billing::Entity::find_by_id(tenant_id).one(conn).await?)
}

/// The business's details, saved or not.
pub(crate) async fn info_of<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<BillingInfo> {
    Ok(find(conn, tenant_id).await?.map_or_else(|| BillingInfo::unsaved(tenant_id), BillingInfo::from))
}

/// The business's details row, saved with the defaults first if it had none.
pub(crate) async fn ensure<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<tenant_billing::Model> {
    if let Some(row) = find(conn, tenant_id).await? {
        return Ok(row);
    }
    Ok(tenant_billing::ActiveModel {
        tenant_id: Set(tenant_id),
        legal_name: Set(None),
        billing_email: Set(None),
        tax_id: Set(None),
        country: Set(None),
        address_line1: Set(None),
        address_line2: Set(None),
        city: Set(None),
        region: Set(None),
        postal_code: Set(None),
        currency: Set(DEFAULT_CURRENCY.to_owned()),
        preferred_provider: Set(PaymentProvider::Stripe),
        trial_used_at: Set(None),
        retry_days: Set(DEFAULT_RETRY_DAYS.to_owned()),
        when_retries_fail: Set("unpaid".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

impl BillingService {
    /// The request's business's billing details (`billing:read`).
    pub async fn billing_info(&self, ctx: &RequestContext) -> Result<BillingInfo> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let info = info_of(&*txn, auth.tenant_id).await?;
        txn.commit().await?;
        Ok(info)
    }

    /// Changes the request's business's billing details (`billing:manage`).
    /// The currency cannot change while a subscription is billed in another.
    pub async fn update_billing_info(&self, ctx: &RequestContext, patch: BillingInfoPatch) -> Result<BillingInfo> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let now = crate::service::stamp(ctx.now());
        let before = ensure(&*txn, auth.tenant_id, now).await?;
        let mut row = before.clone().into_active_model();
        let text = |field: &str, value: Option<String>, max: usize| -> Result<Option<String>> {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            match value {
                Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => {
                    Err(DomainError::invalid(field, format!("must be at most {max} characters, on one line")))
                }
                other => Ok(other),
            }
        };
        if let Some(v) = patch.legal_name {
            row.legal_name = Set(text("legalName", v, 200)?);
        }
        if let Some(v) = patch.billing_email {
            row.billing_email = Set(checked_email(text("billingEmail", v, 254)?)?);
        }
        if let Some(v) = patch.tax_id {
            row.tax_id = Set(text("taxId", v, 50)?);
        }
        if let Some(v) = patch.country {
            row.country = Set(checked_country(text("country", v, 60)?)?);
        }
        if let Some(v) = patch.line1 {
            row.address_line1 = Set(text("line1", v, 200)?);
        }
        if let Some(v) = patch.line2 {
            row.address_line2 = Set(text("line2", v, 200)?);
        }
        if let Some(v) = patch.city {
            row.city = Set(text("city", v, 100)?);
        }
        if let Some(v) = patch.region {
            row.region = Set(text("region", v, 100)?);
        }
        if let Some(v) = patch.postal_code {
            row.postal_code = Set(text("postalCode", v, 20)?);
        }
        if let Some(v) = patch.currency {
            let currency = currency_code(&v).ok_or_else(|| DomainError::invalid("currency", "use ISO 4217 (USD)"))?;
            if let Some(live) = live_row(&*txn, auth.tenant_id).await?
                && live.currency != currency
            {
                return Err(DomainError::Conflict(format!(
                    "the subscription is billed in {}; the currency can change once it ends",
                    live.currency
                )));
            }
            row.currency = Set(currency);
        }
        if let Some(v) = patch.preferred_provider {
            row.preferred_provider = Set(v);
        }
        if let Some(days) = patch.retry_days {
            let valid =
                days.len() <= 8 && days.windows(2).all(|w| w[0] < w[1]) && days.iter().all(|d| (1..=60).contains(d));
            if !valid {
                return Err(DomainError::invalid("retryDays", "up to 8 days, each 1 to 60, increasing"));
            }
            row.retry_days = Set(days.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
        }
        if let Some(cancel) = patch.cancel_when_retries_fail {
            row.when_retries_fail = Set(if cancel { "cancel" } else { "unpaid" }.to_owned());
        }
        row.updated_at = Set(now);
        let after = row.update(&*txn).await?;
        let (old, new) = (snapshot(&before), snapshot(&after));
        if old != new {
            let entry = AuditEntry::change(
                "billing.details_changed",
                "tenant_billing",
                auth.tenant_id,
                Some(&old),
                Some(&new),
            )?;
            tessera_audit::append(&txn, ctx, &auth, entry).await?;
        }
        txn.commit().await?;
        Ok(after.into())
    }
}

fn snapshot(row: &tenant_billing::Model) -> serde_json::Value {
    json!({
        "legalName": row.legal_name,
        "billingEmail": row.billing_email,
        "taxId": row.tax_id,
        "country": row.country,
        "address": [row.address_line1, row.address_line2, row.city, row.region, row.postal_code],
        "currency": row.currency,
        "preferredProvider": format!("{:?}", row.preferred_provider).to_ascii_lowercase(),
        "retryDays": row.retry_days,
        "whenRetriesFail": row.when_retries_fail,
    })
}

fn checked_email(email: Option<String>) -> Result<Option<String>> {
    let Some(email) = email else { return Ok(None) };
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace)
        && email.matches('@').count() == 1;
    if !valid {
        return Err(DomainError::invalid("billingEmail", "is not an email address"));
    }
    Ok(Some(email.to_ascii_lowercase()))
}

fn checked_country(country: Option<String>) -> Result<Option<String>> {
    let Some(country) = country else { return Ok(None) };
    let code = country.to_ascii_uppercase();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(DomainError::invalid("country", "use an ISO 3166-1 alpha-2 code (MX, ES, US)"));
    }
    Ok(Some(code))
}
