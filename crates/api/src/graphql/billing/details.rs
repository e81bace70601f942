//! A business's billing details: who its invoices are made out to, where
//! billing notices go, its currency and preferred payment provider.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{BillingInfo, BillingInfoPatch};
use tessera_kernel::Permission;

use super::objects::PaymentProviderEnum;
use crate::error::ApiResult;
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set};
use crate::graphql::{Requires, request, services};

/// A postal address.
#[derive(SimpleObject)]
#[graphql(name = "PostalAddress")]
pub(crate) struct PostalAddressObject {
    /// First line.
    line1: Option<String>,
    /// Second line.
    line2: Option<String>,
    /// City.
    city: Option<String>,
    /// State, province or region.
    region: Option<String>,
    /// Postal code.
    postal_code: Option<String>,
}

/// Who a business's invoices are made out to, and how it pays.
#[derive(SimpleObject)]
#[graphql(name = "BillingDetails")]
pub(crate) struct BillingDetailsObject {
    /// Legal name.
    legal_name: Option<String>,
    /// Where invoices and billing notices go, besides the owners.
    billing_email: Option<String>,
    /// Tax id (VAT number, RFC, EIN…).
    tax_id: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    country: Option<String>,
    /// Postal address.
    address: PostalAddressObject,
    /// The currency it is billed in (ISO 4217); plans in other currencies
    /// cannot be chosen.
    currency: String,
    /// The payment provider it prefers.
    preferred_provider: PaymentProviderEnum,
    /// When it started its one free trial; null while unused.
    trial_used_at: Option<DateTime<Utc>>,
    /// The days after an invoice fell due on which a declined one is tried
    /// again (1, 3, 5, 7 by default).
    retry_days: Vec<i64>,
    /// When the tries run out: true ends the subscription; false keeps it,
    /// unpaid, on the free tier until the invoice is paid.
    cancel_when_retries_fail: bool,
    /// When the details last changed; null while never saved.
    updated_at: Option<DateTime<Utc>>,
}

impl From<BillingInfo> for BillingDetailsObject {
    fn from(info: BillingInfo) -> Self {
        Self {
            legal_name: info.legal_name,
            billing_email: info.billing_email,
            tax_id: info.tax_id,
            country: info.country,
            address: PostalAddressObject {
                line1: info.address.line1,
                line2: info.address.line2,
                city: info.address.city,
                region: info.address.region,
                postal_code: info.address.postal_code,
            },
            currency: info.currency,
            preferred_provider: info.preferred_provider.into(),
            trial_used_at: info.trial_used_at,
            retry_days: info.retry_days,
            cancel_when_retries_fail: info.cancel_when_retries_fail,
            updated_at: info.updated_at,
        }
    }
}

/// Changes to billing details: an omitted field keeps its value, `null`
/// clears it (currency and provider cannot be cleared).
#[derive(InputObject)]
pub(crate) struct UpdateBillingDetailsInput {
    /// Legal name, up to 200 characters.
    legal_name: MaybeUndefined<String>,
    /// Billing email address.
    billing_email: MaybeUndefined<String>,
    /// Tax id, up to 50 characters.
    tax_id: MaybeUndefined<String>,
    /// ISO 3166-1 alpha-2 country code.
    country: MaybeUndefined<String>,
    /// Address, first line.
    line1: MaybeUndefined<String>,
    /// Address, second line.
    line2: MaybeUndefined<String>,
    /// City.
    city: MaybeUndefined<String>,
    /// State, province or region.
    region: MaybeUndefined<String>,
    /// Postal code.
    postal_code: MaybeUndefined<String>,
    /// ISO 4217 currency; cannot change while a subscription is billed in
    /// another.
    currency: MaybeUndefined<String>,
    /// The preferred payment provider.
    preferred_provider: MaybeUndefined<PaymentProviderEnum>,
    /// Days after an invoice fell due to try a declined one again: up to 8,
    /// each 1 to 60, increasing (`[]`: no retries).
    retry_days: MaybeUndefined<Vec<i64>>,
    /// When the tries run out, end the subscription (else keep it unpaid).
    cancel_when_retries_fail: MaybeUndefined<bool>,
}

impl UpdateBillingDetailsInput {
    fn into_patch(self) -> ApiResult<BillingInfoPatch> {
        Ok(BillingInfoPatch {
            legal_name: kept_cleared_or_set(self.legal_name),
            billing_email: kept_cleared_or_set(self.billing_email),
            tax_id: kept_cleared_or_set(self.tax_id),
            country: kept_cleared_or_set(self.country),
            line1: kept_cleared_or_set(self.line1),
            line2: kept_cleared_or_set(self.line2),
            city: kept_cleared_or_set(self.city),
            region: kept_cleared_or_set(self.region),
            postal_code: kept_cleared_or_set(self.postal_code),
            currency: kept_or_set("currency", self.currency)?,
            preferred_provider: kept_or_set("preferredProvider", self.preferred_provider)?.map(Into::into),
            retry_days: kept_or_set("retryDays", self.retry_days)?,
            cancel_when_retries_fail: kept_or_set("cancelWhenRetriesFail", self.cancel_when_retries_fail)?,
        })
    }
}

/// The business's billing details (a field of `Billing`).
pub(super) async fn details(ctx: &Context<'_>) -> ApiResult<BillingDetailsObject> {
    Ok(services(ctx)?.billing.billing_info(request(ctx)?).await?.into())
}

/// Mutations of billing details.
#[derive(Default)]
pub(super) struct BillingDetailsMutations;

#[operations]
#[Object]
impl BillingDetailsMutations {
    /// Changes the business's billing details (its owners). Audited.
    #[access(Requires(Permission::BillingManage))]
    async fn update_billing_details(
        &self,
        ctx: &Context<'_>,
        input: UpdateBillingDetailsInput,
    ) -> ApiResult<BillingDetailsObject> {
        let patch = input.into_patch()?;
        Ok(services(ctx)?.billing.update_billing_info(request(ctx)?, patch).await?.into())
    }
}
