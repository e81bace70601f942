//! The clock-driven job: what the passing of time does to subscriptions.
//! Run by the gateway every minute (and by tests after moving their clock):
//!
//! - three days before a trial ends, the owners hear of it, once;
//! - when a trial ends, it becomes inactive and the business returns to the
//!   free tier (no payment method can be on file yet);
//! - when a period ends on a subscription set to cancel then, it ends.
//!
//! Each subscription is handled in a transaction of its own under the
//! business's billing lock, and read again under it, so a job on two gateways,
//! or an owner's change at the same moment, never applies one step twice.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Result, SubscriptionId, TenantId};
use tracing::warn;

use crate::catalogue;
use crate::entity::subscription;
use crate::info;
use crate::model::SubscriptionStatus;
use crate::service::{BillingService, lock_billing};
use crate::states::{self, Event};
use crate::subscriptions::{save, trial_ending_notice};

/// How long before a trial's end its owners are reminded.
pub const TRIAL_REMINDER: Duration = Duration::days(3);

/// The most subscriptions one run handles; the next run takes the rest.
const BATCH: u64 = 500;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueReport {
    /// Trial reminders sent.
    pub reminded: u32,
    /// Trials that ended unpaid.
    pub trials_ended: u32,
    /// Subscriptions that ended at their period's end.
    pub ended: u32,
    /// Subscriptions whose step failed (logged; tried again next run).
    pub failed: u32,
}

impl BillingService {
    /// Applies everything due at `now`.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DueReport> {
        let now = crate::service::stamp(now);
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let trialing = subscription::Column::Status.eq(SubscriptionStatus::Trialing);
        let reminder_due = Condition::all()
            .add(trialing.clone())
            .add(subscription::Column::TrialRemindedAt.is_null())
            .add(subscription::Column::TrialEnd.lte(now + TRIAL_REMINDER));
        let period_over = Condition::all()
            .add(subscription::Column::CurrentPeriodEnd.lte(now))
            .add(Condition::any().add(trialing).add(subscription::Column::CancelAtPeriodEnd.eq(true)));
        let due: Vec<(TenantId, SubscriptionId)> = subscription::Entity::find()
            .select_only()
            .column(subscription::Column::TenantId)
            .column(subscription::Column::Id)
            .filter(subscription::Column::EndedAt.is_null())
            .filter(Condition::any().add(reminder_due).add(period_over))
            .order_by_asc(subscription::Column::CurrentPeriodEnd)
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut report = DueReport::default();
        for (tenant_id, id) in due {
            if let Err(err) = self.step(tenant_id, id, now, &mut report).await {
                warn!(%tenant_id, subscription = %id.0, error = %err, "a subscription's due step failed");
                report.failed += 1;
            }
        }
        Ok(report)
    }

    /// Applies what is due to one subscription, read again under the lock.
    async fn step(
        &self,
        tenant_id: TenantId,
        id: SubscriptionId,
        now: DateTime<Utc>,
        report: &mut DueReport,
    ) -> Result<()> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        lock_billing(&txn, tenant_id).await?;
        let Some(before) = subscription::Entity::find_by_id((tenant_id, id)).one(&txn).await? else {
            return Ok(());
        };
        if before.ended_at.is_some() {
            return Ok(());
        }
        let plan = catalogue::by_id(&txn, before.plan_id).await?;
        if before.current_period_end <= now
            && (before.cancel_at_period_end || before.status == SubscriptionStatus::Trialing)
        {
            let (event, action, change) = if before.cancel_at_period_end {
                (Event::PeriodEndedCancelling, "subscription.ended", "ended")
            } else {
                (Event::TrialEndedUnpaid, "subscription.trial_ended", "inactive")
            };
            let status = states::next(before.status, event)?;
            let mut row: subscription::ActiveModel = before.clone().into();
            row.status = Set(status);
            if status == SubscriptionStatus::Canceled {
                // It ended when its period did, whenever the job ran.
                row.ended_at = Set(Some(before.current_period_end));
                report.ended += 1;
            } else {
                report.trials_ended += 1;
            }
            let after = save(row, &before, now, &txn).await?;
            self.record(&txn, None, (action, change), &before, &after, &plan, now).await?;
        } else if before.status == SubscriptionStatus::Trialing
            && before.trial_reminded_at.is_none()
            && before.trial_end.is_some_and(|end| end - TRIAL_REMINDER <= now && now < end)
        {
            let mut row: subscription::ActiveModel = before.clone().into();
            row.trial_reminded_at = Set(Some(now));
            let after = save(row, &before, now, &txn).await?;
            let tenant = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
            let billing = info::ensure(&txn, tenant_id, now).await?;
            let notice = trial_ending_notice(&tenant, &billing, &after, &plan)?;
            self.hooks.notice(&txn, tenant_id, notice, now).await?;
            report.reminded += 1;
        }
        txn.commit().await?;
        Ok(())
    }
}
