//! Starting, cancelling and resuming a business's subscription, by its
//! owners (`billing:manage`). Each runs under the business's billing lock and
//! writes, in one transaction, the subscription, the business's tier (which
//! follows the subscription's status), the audit records and the notices.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result, SubscriptionId, TenantId};
use tessera_tenant::Tenant;
use tracing::warn;

use crate::catalogue;
use crate::charging::Collected;
use crate::coupons::redeem_in;
use crate::entity::{subscription, tenant_billing};
use crate::hooks::{BillingNotice, NoticeKind};
use crate::info;
use crate::invoices::{self, plan_line};
use crate::model::{InvoiceReason, Plan, Subscription, SubscriptionStatus};
use crate::money::format_money;
use crate::periods::{days_after, period_end};
use crate::service::{BillingService, audited, live_row, lock_billing, stamp, timezone_of, with_plan};
use crate::states::{self, Event};

/// The most seats a per-seat subscription may have.
pub const MAX_QUANTITY: i32 = 10_000;

impl BillingService {
    /// The request's business's live subscription, if it has one
    /// (`billing:read`).
    pub async fn subscription(&self, ctx: &RequestContext) -> Result<Option<Subscription>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let found = match live_row(&*txn, auth.tenant_id).await? {
            Some(row) => Some(with_plan(&*txn, row).await?),
            None => None,
        };
        txn.commit().await?;
        Ok(found)
    }

    /// Subscribes the request's business to the plan `code` (`billing:manage`):
    /// trialing when the plan has a trial and the business never used its one,
    /// inactive (on the free tier until paid) otherwise. `quantity` is the
    /// seats of a per-seat plan (1 when omitted; a flat plan takes only 1);
    /// `coupon` is redeemed first, in the same transaction.
    pub async fn start_subscription(
        &self,
        ctx: &RequestContext,
        code: &str,
        quantity: Option<i32>,
        coupon: Option<&str>,
    ) -> Result<Subscription> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        let tenant_id = auth.tenant_id;
        lock_billing(&txn, tenant_id).await?;
        if live_row(&*txn, tenant_id).await?.is_some() {
            return Err(DomainError::Conflict(
                "the business already has a subscription: change it, or cancel it first".into(),
            ));
        }
        let plan = catalogue::offered(&*txn, code).await?;
        let quantity = checked_quantity(&plan, quantity)?;
        let now = stamp(ctx.now());
        let billing = info::ensure(&*txn, tenant_id, now).await?;
        if billing.currency != plan.currency {
            return Err(DomainError::invalid(
                "planCode",
                format!("the business is billed in {}, and this plan is priced in {}", billing.currency, plan.currency),
            ));
        }
        if let Some(coupon) = coupon {
            redeem_in(&txn, ctx, &auth, coupon).await?;
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&*txn, tenant_id).await?;
        let timezone = timezone_of(&tenant)?;
        let trial = plan.trial_days > 0 && claim_trial(&txn, tenant_id, now).await?;
        let (status, period_end_at, trial_end) = if trial {
            let ends = days_after(now, timezone, plan.trial_days.unsigned_abs())?;
            (SubscriptionStatus::Trialing, ends, Some(ends))
        } else {
            (SubscriptionStatus::Inactive, period_end(now, timezone, plan.interval, 0)?, None)
        };
        let row = subscription::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(SubscriptionId::generate(now)),
            plan_id: Set(plan.id),
            status: Set(status),
            quantity: Set(quantity),
            unit_price_minor: Set(plan.price_minor),
            currency: Set(plan.currency.clone()),
            interval: Set(plan.interval),
            current_period_start: Set(now),
            current_period_end: Set(period_end_at),
            trial_end: Set(trial_end),
            trial_reminded_at: Set(None),
            cancel_at_period_end: Set(false),
            canceled_at: Set(None),
            ended_at: Set(None),
            previous_subscription_id: Set(None),
            version: Set(1),
            anchor_at: Set(None),
            period_number: Set(0),
            pending_plan_id: Set(None),
            pending_quantity: Set(None),
            // Overage of usage periods that end in the trial is not billed.
            overage_billed_through: Set(Some(trial_end.unwrap_or(now))),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&*txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "the business already has a subscription"))?;
        let entry =
            AuditEntry::change("subscription.started", "subscription", row.id, None, Some(&audited(&row, &plan)))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        tessera_tenant::set_tier_in(&txn, tenant_id, status.tier(plan.tier), Some(ctx), now).await?;
        if trial {
            let notice = changed_notice(&tenant, &billing, &row, &plan, "started", now)?;
            self.hooks.notice(&txn, tenant_id, notice, now).await?;
            let subscription = with_plan(&*txn, row).await?;
            txn.commit().await?;
            return Ok(subscription);
        }
        // No trial: its first period is invoiced now and charged to the kept
        // card, if any, once this commits; unpaid, it stays inactive.
        let period = (row.current_period_start, row.current_period_end);
        let lines = vec![plan_line(&plan, row.quantity, row.unit_price_minor, period)];
        let invoice = invoices::issue(&txn, &row, InvoiceReason::SubscriptionStart, period, lines, None, now).await?;
        let id = row.id;
        txn.commit().await?;
        match self.collect(tenant_id, invoice.id, false, Some(ctx), now).await? {
            Collected::Declined(code) => {
                warn!(%tenant_id, %code, "the first charge of a new subscription was declined")
            }
            Collected::Unknown | Collected::Unavailable => {
                warn!(%tenant_id, "the first charge of a new subscription is not settled yet");
            }
            _ => {}
        }
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let row = subscription::Entity::find_by_id((tenant_id, id))
            .one(&*txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "subscription" })?;
        let subscription = with_plan(&*txn, row).await?;
        txn.commit().await?;
        Ok(subscription)
    }

    /// Cancels the request's business's subscription (`billing:manage`): now
    /// (it ends, and the business returns to the free tier), or at the end of
    /// the current period (it keeps its status and tier until then, and can be
    /// resumed). Asking again for the period's end changes nothing.
    pub async fn cancel_subscription(&self, ctx: &RequestContext, at_period_end: bool) -> Result<Subscription> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        let tenant_id = auth.tenant_id;
        lock_billing(&txn, tenant_id).await?;
        let before = live_row(&*txn, tenant_id).await?.ok_or(DomainError::NotFound { entity: "subscription" })?;
        let plan = catalogue::by_id(&*txn, before.plan_id).await?;
        let now = stamp(ctx.now());
        if at_period_end && before.cancel_at_period_end {
            let unchanged = with_plan(&*txn, before).await?;
            txn.commit().await?;
            return Ok(unchanged);
        }
        let mut row: subscription::ActiveModel = before.clone().into();
        let (action, change) = if at_period_end {
            if !states::may_schedule_cancel(before.status) {
                return Err(DomainError::Conflict(format!(
                    "a {} subscription has no period to run to: cancel it now",
                    before.status.as_upper()
                )));
            }
            row.cancel_at_period_end = Set(true);
            ("subscription.cancel_scheduled", Some("cancel_scheduled"))
        } else {
            let status = states::next(before.status, Event::CancelNow)?;
            row.status = Set(status);
            row.ended_at = Set(Some(now));
            ("subscription.canceled", Some("ended"))
        };
        row.canceled_at = Set(Some(now));
        let after = save(row, &before, now, &txn).await?;
        self.record(&txn, Some(ctx), (action, change), &before, &after, &plan, now).await?;
        let subscription = with_plan(&*txn, after).await?;
        txn.commit().await?;
        Ok(subscription)
    }

    /// Undoes a cancellation set for the period's end, before it ends
    /// (`billing:manage`).
    pub async fn resume_subscription(&self, ctx: &RequestContext) -> Result<Subscription> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let before = live_row(&*txn, auth.tenant_id).await?.ok_or(DomainError::NotFound { entity: "subscription" })?;
        if !before.cancel_at_period_end {
            return Err(DomainError::Conflict("the subscription is not set to end".into()));
        }
        let plan = catalogue::by_id(&*txn, before.plan_id).await?;
        let now = stamp(ctx.now());
        let mut row: subscription::ActiveModel = before.clone().into();
        row.cancel_at_period_end = Set(false);
        row.canceled_at = Set(None);
        let after = save(row, &before, now, &txn).await?;
        self.record(&txn, Some(ctx), ("subscription.resumed", Some("resumed")), &before, &after, &plan, now).await?;
        let subscription = with_plan(&*txn, after).await?;
        txn.commit().await?;
        Ok(subscription)
    }

    /// Writes what a change to a subscription brings with it: the business's
    /// tier, the audit record (by `by`, or by the system) and, for a `change`
    /// the owners hear of, their notice.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record(
        &self,
        txn: &DatabaseTransaction,
        by: Option<&RequestContext>,
        action: (&'static str, Option<&str>),
        before: &subscription::Model,
        after: &subscription::Model,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.record_between(txn, by, action, (before, plan), (after, plan), now).await
    }

    /// [`Self::record`] of a change from one plan to another: the tier
    /// follows the plan after.
    pub(crate) async fn record_between(
        &self,
        txn: &DatabaseTransaction,
        by: Option<&RequestContext>,
        (action, change): (&'static str, Option<&str>),
        (before, before_plan): (&subscription::Model, &Plan),
        (after, plan): (&subscription::Model, &Plan),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tenant_id = after.tenant_id;
        let entry = AuditEntry::change(
            action,
            "subscription",
            after.id,
            Some(&audited(before, before_plan)),
            Some(&audited(after, plan)),
        )?;
        tessera_audit::append_by(txn, by, tenant_id, now, entry).await?;
        let tenant = tessera_tenant::set_tier_in(txn, tenant_id, after.status.tier(plan.tier), by, now).await?;
        let Some(change) = change else { return Ok(()) };
        let billing = info::ensure(txn, tenant_id, now).await?;
        let notice = changed_notice(&tenant, &billing, after, plan, change, now)?;
        self.hooks.notice(txn, tenant_id, notice, now).await
    }
}

/// Saves a change to a subscription, checking nobody changed it meanwhile
/// (its version) and counting the change.
pub(crate) async fn save(
    mut row: subscription::ActiveModel,
    before: &subscription::Model,
    now: DateTime<Utc>,
    txn: &DatabaseTransaction,
) -> Result<subscription::Model> {
    row.version = Set(before.version + 1);
    row.updated_at = Set(now);
    let updated = subscription::Entity::update_many()
        .set(row)
        .filter(subscription::Column::TenantId.eq(before.tenant_id))
        .filter(subscription::Column::Id.eq(before.id))
        .filter(subscription::Column::Version.eq(before.version))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or_else(|| DomainError::Conflict("the subscription changed meanwhile; try again".into()))?;
    Ok(updated)
}

/// Takes the business's one trial: true when this transaction set it.
async fn claim_trial(txn: &DatabaseTransaction, tenant_id: TenantId, now: DateTime<Utc>) -> Result<bool> {
    let claimed = tenant_billing::Entity::update_many()
        .col_expr(tenant_billing::Column::TrialUsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(tenant_billing::Column::TenantId.eq(tenant_id))
        .filter(tenant_billing::Column::TrialUsedAt.is_null())
        .exec(txn)
        .await?;
    Ok(claimed.rows_affected == 1)
}

pub(crate) fn checked_quantity(plan: &Plan, quantity: Option<i32>) -> Result<i32> {
    match (plan.per_seat, quantity) {
        (_, None) => Ok(1),
        (false, Some(1)) => Ok(1),
        (false, Some(_)) => Err(DomainError::invalid("quantity", "a flat plan has a quantity of 1")),
        (true, Some(n)) if (1..=MAX_QUANTITY).contains(&n) => Ok(n),
        (true, Some(_)) => Err(DomainError::invalid("quantity", format!("must be 1 to {MAX_QUANTITY}"))),
    }
}

/// The owners' notice of a change (`started`, `cancel_scheduled`, `resumed`,
/// `inactive`, `ended`, `changed`, `change_scheduled`).
pub(crate) fn changed_notice(
    tenant: &Tenant,
    billing: &tenant_billing::Model,
    row: &subscription::Model,
    plan: &Plan,
    change: &str,
    now: DateTime<Utc>,
) -> Result<BillingNotice> {
    let timezone = timezone_of(tenant)?;
    let effective = match change {
        "cancel_scheduled" | "change_scheduled" => row.current_period_end,
        _ => row.ended_at.unwrap_or(now),
    };
    Ok(BillingNotice {
        kind: NoticeKind::SubscriptionChanged,
        variables: json!({
            "businessName": tenant.name,
            "planName": plan.name,
            "status": row.status.as_upper(),
            "change": change,
            "effectiveAt": effective.with_timezone(&timezone).format("%Y-%m-%d %H:%M").to_string(),
        }),
        dedupe_key: format!("subscription:{}:{}:{}", row.id, row.version, change),
        billing_email: billing.billing_email.clone(),
    })
}

/// The owners' notice that the trial ends soon.
pub(crate) fn trial_ending_notice(
    tenant: &Tenant,
    billing: &tenant_billing::Model,
    row: &subscription::Model,
    plan: &Plan,
) -> Result<BillingNotice> {
    let timezone = timezone_of(tenant)?;
    let ends = row.trial_end.unwrap_or(row.current_period_end);
    let price = format!(
        "{} {}",
        format_money(row.unit_price_minor * i64::from(row.quantity), &row.currency),
        row.interval.per()
    );
    Ok(BillingNotice {
        kind: NoticeKind::TrialEnding,
        variables: json!({
            "businessName": tenant.name,
            "planName": plan.name,
            "trialEndsAt": ends.with_timezone(&timezone).format("%Y-%m-%d %H:%M").to_string(),
            "price": price,
            "afterTrial": if row.cancel_at_period_end { "canceled" } else { "inactive" },
        }),
        dedupe_key: format!("subscription:{}:trial_ending", row.id),
        billing_email: billing.billing_email.clone(),
    })
}
