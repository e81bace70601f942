//! The plan catalogue and a business's subscription: `Query.billing` (its
//! details, subscription and the plans on offer) and starting, cancelling and
//! resuming the subscription, for its owners.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{OveragePrice, Plan, Subscription};
use tessera_kernel::Permission;

use super::changes::ScheduledChangeObject;
use super::coupons::{CouponRedemptionObject, redemptions};
use super::details::{BillingDetailsObject, details};
use super::invoices::{InvoiceObject, UpcomingInvoiceObject, invoice, invoices};
use super::methods::{PaymentCustomersObject, PaymentMethodObject, customers, methods};
use crate::error::ApiResult;
use crate::graphql::connection::page_cost;
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::tenant::objects::{TenantTierEnum, UsageMetricEnum};
use crate::graphql::{Requires, loaders, request, services};

/// How often a plan is paid for.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BillingInterval", remote = "tessera_billing::Interval")]
pub(crate) enum BillingIntervalEnum {
    /// Every calendar month from the day it started (the 31st renews on the
    /// month's last day).
    Monthly,
    /// Every year from the day it started.
    Yearly,
}

/// Where a subscription stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SubscriptionStatus", remote = "tessera_billing::SubscriptionStatus")]
pub(crate) enum SubscriptionStatusEnum {
    /// In its free trial; the plan's tier applies.
    Trialing,
    /// Paid up; the plan's tier applies.
    Active,
    /// A renewal failed and is being retried; the plan's tier still applies.
    PastDue,
    /// The retries ran out; the free tier applies until the invoice is paid.
    Unpaid,
    /// Not paid for yet (the trial ended without a payment method, or the plan
    /// started without a trial); the free tier applies until it is paid.
    Inactive,
    /// Ended.
    Canceled,
}

/// One version of a plan.
pub(crate) struct PlanObject(pub(super) Plan);

#[Object(name = "Plan")]
impl PlanObject {
    /// This version's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The plan's code (`premium-monthly`), which `startSubscription` takes.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The version: a new price is a new version; a subscription keeps the
    /// price it started with.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The tier a subscriber has.
    async fn tier(&self) -> TenantTierEnum {
        self.0.tier.into()
    }
    /// How often it is paid for.
    async fn interval(&self) -> BillingIntervalEnum {
        self.0.interval.into()
    }
    /// The price of one period (per seat when `perSeat`).
    async fn price(&self) -> ApiResult<MoneyObject> {
        money(self.0.price_minor, &self.0.currency)
    }
    /// The free trial in days, for a business that has not had one (0: none).
    async fn trial_days(&self) -> i32 {
        self.0.trial_days
    }
    /// Priced per seat (the subscription's quantity), or flat.
    async fn per_seat(&self) -> bool {
        self.0.per_seat
    }
    /// What each unit used beyond the tier's soft limit costs, per metric,
    /// billed at the renewal after each month ends (none: overage is counted
    /// but not billed).
    async fn overage_prices(&self, ctx: &Context<'_>) -> ApiResult<Vec<OveragePriceObject>> {
        let prices = loaders(ctx)?.plan_overage_prices().load_one(self.0.id).await?.unwrap_or_default();
        prices.into_iter().map(|price| OveragePriceObject::new(price, &self.0.currency)).collect()
    }
}

/// What a plan charges per unit of a metric used beyond a soft limit.
#[derive(SimpleObject)]
#[graphql(name = "OveragePrice")]
pub(crate) struct OveragePriceObject {
    /// The metric, counted per month.
    metric: UsageMetricEnum,
    /// Per unit beyond the limit.
    unit_price: MoneyObject,
}

impl OveragePriceObject {
    fn new(price: OveragePrice, currency: &str) -> ApiResult<Self> {
        Ok(Self { metric: price.metric.into(), unit_price: money(price.unit_price_minor, currency)? })
    }
}

/// A business's subscription to a plan.
pub(crate) struct BillingSubscriptionObject(pub(super) Subscription);

#[Object(name = "BillingSubscription")]
impl BillingSubscriptionObject {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where it stands.
    async fn status(&self) -> SubscriptionStatusEnum {
        self.0.status.into()
    }
    /// The plan version it is on.
    async fn plan(&self) -> PlanObject {
        PlanObject(self.0.plan.clone())
    }
    /// Seats (1 on a flat plan).
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// The price of one period per seat, fixed when it started.
    async fn unit_price(&self) -> ApiResult<MoneyObject> {
        money(self.0.unit_price_minor, &self.0.currency)
    }
    /// How often it renews.
    async fn interval(&self) -> BillingIntervalEnum {
        self.0.interval.into()
    }
    /// When the current period (or the trial) began.
    async fn current_period_start(&self) -> DateTime<Utc> {
        self.0.current_period_start
    }
    /// When the current period (or the trial) ends.
    async fn current_period_end(&self) -> DateTime<Utc> {
        self.0.current_period_end
    }
    /// When the trial ends; null without one.
    async fn trial_end(&self) -> Option<DateTime<Utc>> {
        self.0.trial_end
    }
    /// Whether it ends at the current period's end instead of renewing.
    async fn cancel_at_period_end(&self) -> bool {
        self.0.cancel_at_period_end
    }
    /// When it was cancelled.
    async fn canceled_at(&self) -> Option<DateTime<Utc>> {
        self.0.canceled_at
    }
    /// When it ended.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// A change of plan or seats waiting for the current period's end.
    async fn scheduled_change(&self) -> Option<ScheduledChangeObject> {
        self.0.scheduled_change.clone().map(ScheduledChangeObject)
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What a business pays the platform.
pub(crate) struct BillingObject;

#[Object(name = "Billing")]
impl BillingObject {
    /// Its billing details.
    async fn details(&self, ctx: &Context<'_>) -> ApiResult<BillingDetailsObject> {
        details(ctx).await
    }
    /// Its live subscription; null when it has none (it is on the tier the
    /// platform gave it).
    async fn subscription(&self, ctx: &Context<'_>) -> ApiResult<Option<BillingSubscriptionObject>> {
        Ok(services(ctx)?.billing.subscription(request(ctx)?).await?.map(BillingSubscriptionObject))
    }
    /// Its customers at the payment providers.
    async fn payment_customers(&self, ctx: &Context<'_>) -> ApiResult<PaymentCustomersObject> {
        customers(ctx).await
    }
    /// The cards it keeps for its subscription, the default first.
    async fn payment_methods(&self, ctx: &Context<'_>) -> ApiResult<Vec<PaymentMethodObject>> {
        methods(ctx).await
    }
    /// Its invoices, oldest first (`last: 10` for the newest).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, InvoiceObject>> {
        invoices(ctx, first, after, last, before).await
    }
    /// One of its invoices.
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> ApiResult<InvoiceObject> {
        invoice(ctx, &id).await
    }
    /// The invoice the subscription's next period will get, as it will be
    /// issued (a change waiting for the period's end and coupons included);
    /// null when none is coming (the subscription ends, or is not running).
    async fn upcoming_invoice(&self, ctx: &Context<'_>) -> ApiResult<Option<UpcomingInvoiceObject>> {
        Ok(services(ctx)?.billing.upcoming_invoice(request(ctx)?).await?.map(UpcomingInvoiceObject))
    }
    /// The coupons it redeemed, the newest first (at most 50).
    async fn coupons(&self, ctx: &Context<'_>) -> ApiResult<Vec<CouponRedemptionObject>> {
        redemptions(ctx).await
    }
    /// The plans on offer, each at its latest version.
    async fn plans(&self, ctx: &Context<'_>) -> ApiResult<Vec<PlanObject>> {
        Ok(services(ctx)?.billing.plans(request(ctx)?).await?.into_iter().map(PlanObject).collect())
    }
}

/// Billing's queries.
#[derive(Default)]
pub(super) struct BillingQueries;

#[operations]
#[Object]
impl BillingQueries {
    /// What the current business pays the platform: its details, its
    /// subscription and the plans on offer.
    #[access(Requires(Permission::BillingRead))]
    async fn billing(&self) -> BillingObject {
        BillingObject
    }
}

/// Mutations of the subscription.
#[derive(Default)]
pub(super) struct SubscriptionMutations;

#[operations]
#[Object]
impl SubscriptionMutations {
    /// Subscribes the business to the plan `planCode` (its latest version):
    /// trialing when the plan has a trial and the business never had one,
    /// else inactive (on the free tier) until its first payment. The business
    /// takes the plan's tier, and its limits, at once. `quantity` is the
    /// seats of a per-seat plan; `couponCode` is redeemed with it (see
    /// `redeemCoupon`). `CONFLICT` when it already has a subscription.
    #[access(Requires(Permission::BillingManage))]
    async fn start_subscription(
        &self,
        ctx: &Context<'_>,
        plan_code: String,
        quantity: Option<i32>,
        coupon_code: Option<String>,
    ) -> ApiResult<BillingSubscriptionObject> {
        let billing = &services(ctx)?.billing;
        let started = billing.start_subscription(request(ctx)?, &plan_code, quantity, coupon_code.as_deref()).await?;
        Ok(BillingSubscriptionObject(started))
    }

    /// Cancels the business's subscription: at the end of the current period
    /// (`atPeriodEnd: true`: it keeps its status and tier until then and can
    /// be resumed), or now (it ends, and the business returns to the free
    /// tier).
    #[access(Requires(Permission::BillingManage))]
    async fn cancel_subscription(
        &self,
        ctx: &Context<'_>,
        at_period_end: bool,
    ) -> ApiResult<BillingSubscriptionObject> {
        let canceled = services(ctx)?.billing.cancel_subscription(request(ctx)?, at_period_end).await?;
        Ok(BillingSubscriptionObject(canceled))
    }

    /// Undoes a cancellation set for the period's end, before it ends.
    #[access(Requires(Permission::BillingManage))]
    async fn resume_subscription(&self, ctx: &Context<'_>) -> ApiResult<BillingSubscriptionObject> {
        Ok(BillingSubscriptionObject(services(ctx)?.billing.resume_subscription(request(ctx)?).await?))
    }
}
