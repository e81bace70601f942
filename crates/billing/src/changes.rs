//! Changing a subscription's plan or seats by a quote (`billing:manage`).
//!
//! `preview_subscription_change` prices the change (`quotes.rs`) and keeps
//! the quote for [`QUOTE_TTL`]; `apply_subscription_change` prices it again
//! as of the quote's instant and refuses (`QUOTE_EXPIRED`) unless it comes
//! out the same against the same version of the subscription, claims the
//! quote once, and applies it in one transaction with the invoice that
//! charges it (one invoice per quote, by a unique index). The card is charged
//! after that commits; a decline, or a provider that did not take the charge,
//! undoes the change in the transaction that records it (`change_undo.rs`).
//! A change at the period's end waits on the subscription and is
//! taken on by the renewal (`take_scheduled`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result};
use uuid::Uuid;

use crate::catalogue;
use crate::change_undo::Before;
use crate::charging::Collected;
use crate::discounts;
use crate::entity::{invoice, invoice_line, subscription, subscription_quote};
use crate::info;
use crate::invoices::{self, totals, with_lines};
use crate::methods::default_method;
use crate::model::{InvoiceReason, InvoiceStatus, LineKind, Plan, SubscriptionStatus};
use crate::proration::{Paid, after_discount};
use crate::quotes::{ChangeApplied, ChangeTiming, Priced, Quote, price_change, shown, store_lines};
use crate::service::{BillingService, live_row, lock_billing, stamp, timezone_of, with_plan};
use crate::subscriptions::{changed_notice, checked_quantity, save};

/// How long a quote can be applied.
pub const QUOTE_TTL: Duration = Duration::minutes(15);

/// The most unapplied quotes a subscription keeps; a new preview drops the
/// oldest beyond it.
const MAX_OPEN_QUOTES: usize = 10;

impl BillingService {
    /// Prices a change of the request's business's subscription to `plan_code`
    /// (the current plan when `None`) and `quantity` seats (the current ones,
    /// or 1 on a flat plan, when `None`), and keeps the quote
    /// (`billing:manage`).
    pub async fn preview_subscription_change(
        &self,
        ctx: &RequestContext,
        plan_code: Option<&str>,
        quantity: Option<i32>,
    ) -> Result<Quote> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        let tenant_id = auth.tenant_id;
        lock_billing(&txn, tenant_id).await?;
        let now = stamp(ctx.now());
        let sub = changeable(&txn, tenant_id, now).await?;
        let target = match plan_code {
            Some(code) => catalogue::offered(&*txn, code.trim()).await?,
            None => catalogue::by_id(&*txn, sub.plan_id).await?,
        };
        if target.currency != sub.currency {
            return Err(DomainError::invalid(
                "planCode",
                format!(
                    "the subscription is billed in {}, and this plan is priced in {}",
                    sub.currency, target.currency
                ),
            ));
        }
        let quantity = checked_quantity(&target, quantity.or(target.per_seat.then_some(sub.quantity)))?;
        if target.id == sub.plan_id && quantity == sub.quantity {
            return Err(DomainError::invalid("planCode", "that is the subscription as it is"));
        }
        let priced = self.price(&txn, &sub, &target, quantity, now).await?;
        if priced.timing == ChangeTiming::Now
            && priced.amount_due_minor > 0
            && default_method(&txn, tenant_id).await?.is_none()
        {
            return Err(DomainError::Conflict("keep a card first: setupPaymentMethod".into()));
        }
        prune_quotes(&txn, &sub, now).await?;
        let row = subscription_quote::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(Uuid::now_v7()),
            subscription_id: Set(sub.id),
            subscription_version: Set(sub.version),
            plan_id: Set(target.id),
            quantity: Set(quantity),
            timing: Set(priced.timing),
            computed_at: Set(now),
            expires_at: Set((now + QUOTE_TTL).min(sub.current_period_end)),
            currency: Set(sub.currency.clone()),
            amount_due_minor: Set(priced.amount_due_minor),
            lines: Set(store_lines(&priced.lines)?),
            before: Set(None),
            applied_at: Set(None),
            created_at: Set(now),
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        Ok(quote_of(row, target, priced))
    }

    /// Applies a quote of the request's business (`billing:manage`): charges
    /// exactly its amount, or refuses with `QUOTE_EXPIRED` when it expired or
    /// the subscription changed since. Applying it again answers what the
    /// first application did.
    pub async fn apply_subscription_change(&self, ctx: &RequestContext, quote_id: Uuid) -> Result<ChangeApplied> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        let tenant_id = auth.tenant_id;
        lock_billing(&txn, tenant_id).await?;
        let now = stamp(ctx.now());
        let quote = subscription_quote::Entity::find_by_id((tenant_id, quote_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "quote" })?;
        if quote.applied_at.is_none() {
            let expired = |why: &str| DomainError::QuoteExpired(format!("{why}; preview the change again"));
            if now >= quote.expires_at {
                return Err(expired("the quote expired"));
            }
            let sub = live_row(&*txn, tenant_id)
                .await?
                .filter(|s| s.id == quote.subscription_id && s.version == quote.subscription_version)
                .ok_or_else(|| expired("the subscription changed since the quote"))?;
            let target = catalogue::by_id(&*txn, quote.plan_id).await?;
            let priced = self.price(&txn, &sub, &target, quote.quantity, quote.computed_at).await?;
            if store_lines(&priced.lines)? != quote.lines || priced.amount_due_minor != quote.amount_due_minor {
                return Err(expired("the change no longer comes to the quoted price"));
            }
            self.apply(&txn, ctx, &quote, sub, &target, &priced, now).await?;
        }
        let invoice = invoice::Entity::find()
            .filter(invoice::Column::TenantId.eq(tenant_id))
            .filter(invoice::Column::QuoteId.eq(quote_id))
            .one(&txn)
            .await?;
        if invoice.as_ref().is_some_and(|i| i.status == InvoiceStatus::Void) {
            return Err(DomainError::Conflict(
                "this quote's charge did not go through; preview the change again".into(),
            ));
        }
        txn.commit().await?;

        if let Some(open) = invoice.as_ref().filter(|i| i.status == InvoiceStatus::Open) {
            match self.collect(tenant_id, open.id, false, Some(ctx), now).await? {
                Collected::Declined(code) => return Err(DomainError::PaymentDeclined { code }),
                Collected::Unavailable => {
                    return Err(DomainError::ProviderUnavailable("the provider did not take a change's charge".into()));
                }
                Collected::NoCard => {
                    self.undo_unpaid_change(ctx, open.id, now).await?;
                    return Err(DomainError::Conflict("keep a card first: setupPaymentMethod".into()));
                }
                Collected::Paid | Collected::Pending | Collected::Unknown | Collected::InFlight => {}
            }
        }
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let quote_sub = quote.subscription_id;
        let row = subscription::Entity::find_by_id((tenant_id, quote_sub))
            .one(&*txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "subscription" })?;
        let subscription = with_plan(&*txn, row).await?;
        let invoice = match invoice {
            Some(found) => {
                let fresh = invoice::Entity::find_by_id((tenant_id, found.id)).one(&*txn).await?.unwrap_or(found);
                with_lines(&*txn, vec![fresh]).await?.pop()
            }
            None => None,
        };
        txn.commit().await?;
        Ok(ChangeApplied { subscription, invoice })
    }

    /// Drops a change waiting for the period's end (`billing:manage`).
    pub async fn discard_scheduled_change(&self, ctx: &RequestContext) -> Result<crate::model::Subscription> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let before = live_row(&*txn, auth.tenant_id).await?.ok_or(DomainError::NotFound { entity: "subscription" })?;
        if before.pending_quantity.is_none() {
            return Err(DomainError::Conflict("no change is waiting for the period's end".into()));
        }
        let plan = catalogue::by_id(&*txn, before.plan_id).await?;
        let now = stamp(ctx.now());
        let mut row: subscription::ActiveModel = before.clone().into();
        row.pending_plan_id = Set(None);
        row.pending_quantity = Set(None);
        let after = save(row, &before, now, &txn).await?;
        let action = ("subscription.change_discarded", None);
        self.record(&txn, Some(ctx), action, &before, &after, &plan, now).await?;
        let subscription = with_plan(&*txn, after).await?;
        txn.commit().await?;
        Ok(subscription)
    }

    /// Prices a change of `sub` as of `at`.
    async fn price(
        &self,
        txn: &DatabaseTransaction,
        sub: &subscription::Model,
        target: &Plan,
        quantity: i32,
        at: DateTime<Utc>,
    ) -> Result<Priced> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, sub.tenant_id).await?;
        let paid = paid_this_period(txn, sub).await?;
        let mut priced = price_change(sub, target, quantity, &paid, at, timezone_of(&tenant)?)?;
        // What the business's coupons take off, as the invoice will.
        let applied = discounts::on_lines(txn, sub.tenant_id, &priced.lines).await?;
        priced.lines.extend(applied.lines());
        if priced.timing == ChangeTiming::Now {
            priced.amount_due_minor = totals(&priced.lines)?.2;
        }
        Ok(priced)
    }

    /// Claims `quote` and applies it to `sub`, with its invoice when it
    /// charges now.
    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        quote: &subscription_quote::Model,
        sub: subscription::Model,
        target: &Plan,
        priced: &Priced,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let claimed = subscription_quote::Entity::update_many()
            .col_expr(subscription_quote::Column::AppliedAt, sea_orm::sea_query::Expr::value(now))
            .col_expr(
                subscription_quote::Column::Before,
                sea_orm::sea_query::Expr::value(serde_json::to_string(&Before::of(&sub)).ok()),
            )
            .filter(subscription_quote::Column::TenantId.eq(quote.tenant_id))
            .filter(subscription_quote::Column::Id.eq(quote.id))
            .filter(subscription_quote::Column::AppliedAt.is_null())
            .exec(txn)
            .await?;
        if claimed.rows_affected != 1 {
            return Err(DomainError::Conflict("the quote is being applied".into()));
        }
        let current = catalogue::by_id(txn, sub.plan_id).await?;
        let mut row: subscription::ActiveModel = sub.clone().into();
        let (action, change) = if priced.timing == ChangeTiming::PeriodEnd {
            row.pending_plan_id = Set((target.id != sub.plan_id).then_some(target.id));
            row.pending_quantity = Set(Some(quote.quantity));
            ("subscription.change_scheduled", "change_scheduled")
        } else {
            row.plan_id = Set(target.id);
            row.unit_price_minor = Set(priced.unit_price_minor);
            row.interval = Set(target.interval);
            row.quantity = Set(quote.quantity);
            row.pending_plan_id = Set(None);
            row.pending_quantity = Set(None);
            if priced.starts_period {
                row.anchor_at = Set(Some(priced.period.0));
                row.period_number = Set(0);
                row.current_period_start = Set(priced.period.0);
                row.current_period_end = Set(priced.period.1);
            }
            ("subscription.changed", "changed")
        };
        let after = save(row, &sub, now, txn).await?;
        if priced.timing == ChangeTiming::Now {
            let period = (priced.effective_at, priced.period.1);
            let lines = priced.lines.clone();
            let issued =
                invoices::issue(txn, &after, InvoiceReason::Change, period, lines, Some(quote.id), now).await?;
            if issued.quote_id != Some(quote.id) || issued.total_minor != quote.amount_due_minor {
                return Err(DomainError::Internal("a change's invoice differs from its quote".into()));
            }
        }
        if priced.timing != ChangeTiming::PeriodEnd {
            let action = (action, Some(change));
            return self.record_between(txn, Some(ctx), action, (&sub, &current), (&after, target), now).await;
        }
        // The tier stays the current plan's until the period's end; the
        // owners hear which plan comes then.
        self.record(txn, Some(ctx), (action, None), &sub, &after, &current, now).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(txn, sub.tenant_id).await?;
        let billing = info::ensure(txn, sub.tenant_id, now).await?;
        let notice = changed_notice(&tenant, &billing, &after, target, change, now)?;
        self.hooks.notice(txn, sub.tenant_id, notice, now).await
    }
}

/// What the period after `before`'s is billed on: the plan, price and seats
/// of a change waiting for the period's end, if any (another plan counts its
/// periods from that renewal), and the period's anchor and number.
#[derive(Debug, Clone)]
pub(crate) struct NextTerms {
    pub(crate) plan: Plan,
    pub(crate) unit_price_minor: i64,
    pub(crate) quantity: i32,
    pub(crate) anchor: DateTime<Utc>,
    pub(crate) number: i32,
}

/// The terms of the period after `before`'s, on `plan` unless a change waits.
pub(crate) async fn next_terms<C: ConnectionTrait>(
    conn: &C,
    before: &subscription::Model,
    plan: Plan,
) -> Result<NextTerms> {
    let quantity = before.pending_quantity.unwrap_or(before.quantity);
    match before.pending_plan_id {
        Some(next) => {
            let plan = catalogue::by_id(conn, next).await?;
            let unit_price_minor = plan.price_minor;
            Ok(NextTerms { plan, unit_price_minor, quantity, anchor: before.current_period_end, number: 0 })
        }
        None => Ok(NextTerms {
            plan,
            unit_price_minor: before.unit_price_minor,
            quantity,
            anchor: before.anchor_at.unwrap_or(before.current_period_start),
            number: before.period_number + 1,
        }),
    }
}

/// Takes on, for the period after `before`'s, its [`next_terms`]: the row's
/// plan, price and seats become them and the waiting change is cleared.
pub(crate) async fn take_scheduled(
    txn: &DatabaseTransaction,
    before: &subscription::Model,
    row: &mut subscription::ActiveModel,
    plan: Plan,
) -> Result<NextTerms> {
    let terms = next_terms(txn, before, plan).await?;
    row.pending_plan_id = Set(None);
    row.pending_quantity = Set(None);
    row.plan_id = Set(terms.plan.id);
    row.unit_price_minor = Set(terms.unit_price_minor);
    row.interval = Set(terms.plan.interval);
    row.quantity = Set(terms.quantity);
    Ok(terms)
}

/// The subscription, refused unless it can change now: trialing or active,
/// not set to end, no change being paid, its period not over.
async fn changeable(
    txn: &DatabaseTransaction,
    tenant_id: tessera_kernel::TenantId,
    now: DateTime<Utc>,
) -> Result<subscription::Model> {
    let sub = live_row(txn, tenant_id).await?.ok_or(DomainError::NotFound { entity: "subscription" })?;
    match sub.status {
        SubscriptionStatus::Trialing | SubscriptionStatus::Active => {}
        SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid => {
            return Err(DomainError::Conflict("pay the open invoice before changing the plan".into()));
        }
        _ => {
            return Err(DomainError::Conflict(
                "an inactive subscription cannot change: cancel it and start the plan you want".into(),
            ));
        }
    }
    if sub.cancel_at_period_end {
        return Err(DomainError::Conflict("the subscription is set to end: resume it first".into()));
    }
    if sub.current_period_end <= now {
        return Err(DomainError::Conflict("the period is ending; try again in a minute".into()));
    }
    let being_paid = invoice::Entity::find()
        .filter(invoice::Column::TenantId.eq(tenant_id))
        .filter(invoice::Column::SubscriptionId.eq(sub.id))
        .filter(invoice::Column::Reason.eq(InvoiceReason::Change))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Open))
        .one(txn)
        .await?;
    if being_paid.is_some() {
        return Err(DomainError::Conflict("a change is being paid; look again shortly".into()));
    }
    Ok(sub)
}

/// What was paid for the current period of `sub` and covers its end: each
/// paid plan or seat line, less its share of its invoice's discount.
async fn paid_this_period<C: ConnectionTrait>(conn: &C, sub: &subscription::Model) -> Result<Vec<Paid>> {
    let paid = invoice::Entity::find()
        .filter(invoice::Column::TenantId.eq(sub.tenant_id))
        .filter(invoice::Column::SubscriptionId.eq(sub.id))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Paid))
        .filter(invoice::Column::PeriodEnd.eq(sub.current_period_end))
        .all(conn)
        .await?;
    if paid.is_empty() {
        return Ok(Vec::new());
    }
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::TenantId.eq(sub.tenant_id))
        .filter(invoice_line::Column::InvoiceId.is_in(paid.iter().map(|i| i.id)))
        .filter(invoice_line::Column::Kind.is_in([LineKind::Plan, LineKind::ProrationCharge]))
        .filter(invoice_line::Column::PeriodEnd.eq(sub.current_period_end))
        .order_by_asc(invoice_line::Column::PeriodStart)
        .all(conn)
        .await?;
    Ok(lines
        .into_iter()
        .filter_map(|line| {
            let invoice = paid.iter().find(|i| i.id == line.invoice_id)?;
            let start = line.period_start?.max(sub.current_period_start);
            let amount = after_discount(line.amount_minor, invoice.subtotal_minor, invoice.total_minor);
            Some(Paid { amount_minor: amount, start, end: sub.current_period_end })
        })
        .collect())
}

/// Drops the subscription's expired quotes that were never applied, and the
/// oldest beyond [`MAX_OPEN_QUOTES`].
async fn prune_quotes(txn: &DatabaseTransaction, sub: &subscription::Model, now: DateTime<Utc>) -> Result<()> {
    let open: Vec<(Uuid, DateTime<Utc>)> = subscription_quote::Entity::find()
        .select_only()
        .column(subscription_quote::Column::Id)
        .column(subscription_quote::Column::ExpiresAt)
        .filter(subscription_quote::Column::TenantId.eq(sub.tenant_id))
        .filter(subscription_quote::Column::SubscriptionId.eq(sub.id))
        .filter(subscription_quote::Column::AppliedAt.is_null())
        .order_by_desc(subscription_quote::Column::CreatedAt)
        .into_tuple()
        .all(txn)
        .await?;
    let dropped: Vec<Uuid> = open
        .into_iter()
        .enumerate()
        .filter(|(i, (_, expires))| *i + 1 >= MAX_OPEN_QUOTES || *expires <= now)
        .map(|(_, (id, _))| id)
        .collect();
    if !dropped.is_empty() {
        subscription_quote::Entity::delete_many()
            .filter(subscription_quote::Column::TenantId.eq(sub.tenant_id))
            .filter(subscription_quote::Column::Id.is_in(dropped))
            .exec(txn)
            .await?;
    }
    Ok(())
}

fn quote_of(row: subscription_quote::Model, plan: Plan, priced: Priced) -> Quote {
    Quote {
        id: row.id,
        subscription_id: row.subscription_id,
        plan,
        quantity: row.quantity,
        timing: row.timing,
        effective_at: priced.effective_at,
        currency: row.currency,
        amount_due_minor: row.amount_due_minor,
        lines: priced.lines.into_iter().map(shown).collect(),
        computed_at: row.computed_at,
        expires_at: row.expires_at,
    }
}
