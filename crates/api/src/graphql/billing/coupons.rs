//! Coupons a business redeemed (`Billing.coupons`) and `redeemCoupon`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::CouponRedemption;
use tessera_kernel::Permission;

use crate::error::ApiResult;
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{Requires, request, services};

/// How long a coupon lasts.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CouponDuration", remote = "tessera_billing::CouponDuration")]
pub(crate) enum CouponDurationEnum {
    /// One invoice that bills a period; a fixed amount lasts until it is used up.
    Once,
    /// Some periods (`durationPeriods`).
    Repeating,
    /// Every invoice.
    Forever,
}

/// Whether a redeemed coupon still discounts.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CouponRedemptionStatus", remote = "tessera_billing::RedemptionStatus")]
pub(crate) enum RedemptionStatusEnum {
    /// It discounts the next invoices.
    Active,
    /// Used up.
    Exhausted,
}

/// A coupon the business redeemed.
pub(crate) struct CouponRedemptionObject(CouponRedemption);

#[Object(name = "CouponRedemption")]
impl CouponRedemptionObject {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The coupon's code.
    async fn code(&self) -> &str {
        &self.0.coupon.code
    }
    /// The coupon's name.
    async fn name(&self) -> &str {
        &self.0.coupon.name
    }
    /// Percent off, in basis points (2000 is 20 %); null for an amount off.
    async fn percent_off_basis_points(&self) -> Option<i32> {
        self.0.coupon.percent_bps
    }
    /// Amount off; null for a percent off.
    async fn amount_off(&self) -> ApiResult<Option<MoneyObject>> {
        match (self.0.coupon.amount_off_minor, &self.0.coupon.currency) {
            (Some(amount), Some(currency)) => Ok(Some(money(amount, currency)?)),
            _ => Ok(None),
        }
    }
    /// How long it lasts.
    async fn duration(&self) -> CouponDurationEnum {
        self.0.coupon.duration.into()
    }
    /// A repeating coupon's periods.
    async fn duration_periods(&self) -> Option<i32> {
        self.0.coupon.duration_periods
    }
    /// Periods left of a repeating coupon.
    async fn periods_remaining(&self) -> Option<i32> {
        self.0.periods_remaining
    }
    /// What is left of a fixed amount used once.
    async fn amount_remaining(&self) -> ApiResult<Option<MoneyObject>> {
        match (self.0.amount_remaining_minor, &self.0.coupon.currency) {
            (Some(amount), Some(currency)) => Ok(Some(money(amount, currency)?)),
            _ => Ok(None),
        }
    }
    /// Whether it still discounts.
    async fn status(&self) -> RedemptionStatusEnum {
        self.0.status.into()
    }
    /// When it was redeemed.
    async fn redeemed_at(&self) -> DateTime<Utc> {
        self.0.redeemed_at
    }
}

/// The business's coupons (a field of `Billing`).
pub(super) async fn redemptions(ctx: &Context<'_>) -> ApiResult<Vec<CouponRedemptionObject>> {
    let found = services(ctx)?.billing.coupon_redemptions(request(ctx)?).await?;
    Ok(found.into_iter().map(CouponRedemptionObject).collect())
}

/// Mutations of coupons.
#[derive(Default)]
pub(super) struct CouponMutations;

#[operations]
#[Object]
impl CouponMutations {
    /// Redeems a coupon for the business: its next invoices take the
    /// discount, the oldest coupon first, never below zero. `BAD_USER_INPUT`
    /// (`couponCode`) for an unknown code or another currency; `CONFLICT`
    /// when it was redeemed as often as it may be, is past its date, was
    /// redeemed by this business already, or the business holds 5.
    #[access(Requires(Permission::BillingManage))]
    async fn redeem_coupon(&self, ctx: &Context<'_>, code: String) -> ApiResult<CouponRedemptionObject> {
        Ok(CouponRedemptionObject(services(ctx)?.billing.redeem_coupon(request(ctx)?, &code).await?))
    }
}
