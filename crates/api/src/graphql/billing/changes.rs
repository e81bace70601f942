//! Changing a business's plan or seats by a quote: `previewSubscriptionChange`
//! prices it, `applySubscriptionChange` makes it for exactly that price (or
//! `QUOTE_EXPIRED`), and `discardScheduledChange` drops one waiting for the
//! period's end.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{ChangeApplied, Quote, ScheduledChange};
use tessera_kernel::Permission;

use super::invoices::{InvoiceLineObject, InvoiceObject, line};
use super::subscriptions::{BillingSubscriptionObject, PlanObject};
use crate::error::ApiResult;
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{Requires, parse_id, request, services};

/// When a change of plan or seats takes effect.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ChangeTiming", remote = "tessera_billing::ChangeTiming")]
pub(crate) enum ChangeTimingEnum {
    /// Now, charged now: another plan costing at least as much per period
    /// (which starts a new period, crediting the unused part of the current
    /// one), or more seats (charged for the rest of the period).
    Now,
    /// At the end of the current period, with no refund: a cheaper plan, or
    /// fewer seats.
    PeriodEnd,
    /// Now and free of charge: the subscription is in its trial.
    Trial,
}

/// What a change of the subscription costs, kept for 15 minutes (and never
/// past the period's end).
pub(crate) struct QuoteObject(Quote);

#[Object(name = "SubscriptionChangeQuote")]
impl QuoteObject {
    /// Its id, for `applySubscriptionChange`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The plan after the change.
    async fn plan(&self) -> PlanObject {
        PlanObject(self.0.plan.clone())
    }
    /// The seats after the change.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// When it takes effect.
    async fn timing(&self) -> ChangeTimingEnum {
        self.0.timing.into()
    }
    /// The instant it takes effect.
    async fn effective_at(&self) -> DateTime<Utc> {
        self.0.effective_at
    }
    /// What applying it charges now, exactly.
    async fn amount_due(&self) -> ApiResult<MoneyObject> {
        money(self.0.amount_due_minor, &self.0.currency)
    }
    /// The lines: what is charged now (the new plan, the credit for the
    /// unused part of what was paid, or the added seats), or, for a change at
    /// the period's end, what the next invoice holds.
    async fn lines(&self) -> ApiResult<Vec<InvoiceLineObject>> {
        self.0.lines.iter().cloned().map(|l| line(l, &self.0.currency)).collect()
    }
    /// The instant it was priced at.
    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
    /// After this, applying it is `QUOTE_EXPIRED`.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
}

/// A change waiting for the end of the current period.
pub(crate) struct ScheduledChangeObject(pub(super) ScheduledChange);

#[Object(name = "ScheduledSubscriptionChange")]
impl ScheduledChangeObject {
    /// The plan it moves to.
    async fn plan(&self) -> PlanObject {
        PlanObject(self.0.plan.clone())
    }
    /// The seats it moves to.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// When.
    async fn effective_at(&self) -> DateTime<Utc> {
        self.0.effective_at
    }
}

/// What applying a quote did.
pub(crate) struct SubscriptionChangeObject(ChangeApplied);

#[Object(name = "SubscriptionChange")]
impl SubscriptionChangeObject {
    /// The subscription now.
    async fn subscription(&self) -> BillingSubscriptionObject {
        BillingSubscriptionObject(self.0.subscription.clone())
    }
    /// The invoice that charged the change; null when nothing is charged now.
    async fn invoice(&self) -> Option<InvoiceObject> {
        self.0.invoice.clone().map(InvoiceObject)
    }
}

/// Mutations that change the subscription's plan or seats.
#[derive(Default)]
pub(super) struct SubscriptionChangeMutations;

#[operations]
#[Object]
impl SubscriptionChangeMutations {
    /// Prices a change to `planCode` (the current plan when omitted) and
    /// `quantity` seats (the current ones when omitted): the lines, the
    /// amount due now and when it takes effect. Nothing changes until
    /// `applySubscriptionChange`. `CONFLICT` while the subscription cannot
    /// change (past due, set to end, a change being paid) or when a change
    /// charged now has no card to charge.
    #[access(Requires(Permission::BillingManage))]
    async fn preview_subscription_change(
        &self,
        ctx: &Context<'_>,
        plan_code: Option<String>,
        quantity: Option<i32>,
    ) -> ApiResult<QuoteObject> {
        let quote =
            services(ctx)?.billing.preview_subscription_change(request(ctx)?, plan_code.as_deref(), quantity).await?;
        Ok(QuoteObject(quote))
    }

    /// Makes the change a quote priced, charging exactly its amount due to
    /// the default card. `QUOTE_EXPIRED` when it expired or the subscription
    /// changed since (preview again); `PAYMENT_DECLINED` when the bank
    /// refuses, and then nothing changed. Applying the same quote again
    /// answers what the first time did.
    #[access(Requires(Permission::BillingManage))]
    async fn apply_subscription_change(&self, ctx: &Context<'_>, quote_id: ID) -> ApiResult<SubscriptionChangeObject> {
        let id: uuid::Uuid = parse_id("quoteId", &quote_id)?;
        Ok(SubscriptionChangeObject(services(ctx)?.billing.apply_subscription_change(request(ctx)?, id).await?))
    }

    /// Drops the change waiting for the period's end; the subscription renews
    /// as it is.
    #[access(Requires(Permission::BillingManage))]
    async fn discard_scheduled_change(&self, ctx: &Context<'_>) -> ApiResult<BillingSubscriptionObject> {
        Ok(BillingSubscriptionObject(services(ctx)?.billing.discard_scheduled_change(request(ctx)?).await?))
    }
}
