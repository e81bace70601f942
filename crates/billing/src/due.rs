//! The clock-driven job: what the passing of time does to subscriptions.
//! Run by the gateway every minute (and by tests after moving their clock):
//!
//! - three days before a trial ends, the owners hear of it, once;
//! - when a trial ends, its first period is invoiced and charged to the kept
//!   card (the subscription becomes active, or past due when declined); with
//!   no card it becomes inactive, back on the free tier;
//! - when a period of an active or past-due subscription ends, the next one
//!   is invoiced, the period moves on (from the fixed anchor), and the card is
//!   charged; a subscription set to cancel then ends instead;
//! - an invoice whose retry is due is charged again;
//! - a payment whose answer was lost, or that the bank is still processing,
//!   is asked about again with its key, five minutes after it was last asked;
//! - bookings whose hold ran out unpaid free their time, their payments are
//!   given up at the provider, and booking payments left unsettled (an
//!   answer lost, still processing) are asked about again
//!   (`booking_payments.rs`), as are refunds not settled
//!   (`booking_refunds.rs`);
//! - provider events not applied yet, or due again after a failure, are
//!   applied (`events.rs`).
//!
//! Each subscription is handled in a transaction of its own under the
//! business's billing lock, and read again under it, so a job on two gateways,
//! or an owner's change at the same moment, never applies one step twice; an
//! invoice of a subscription, reason and period is issued once. The provider
//! is called after that transaction commits.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Result, SubscriptionId, TenantId};
use tessera_scheduling::SchedulingService;
use tracing::warn;
use uuid::Uuid;

use crate::catalogue;
use crate::changes::take_scheduled;
use crate::charging::Collected;
use crate::entity::{invoice, invoice_payment, subscription};
use crate::info;
use crate::invoices::{self, plan_line};
use crate::methods::default_method;
use crate::model::{InvoiceReason, InvoiceStatus, PaymentState, SubscriptionStatus};
use crate::overage;
use crate::periods::period_end;
use crate::service::{BillingService, lock_billing, timezone_of};
use crate::states::{self, Event};
use crate::subscriptions::{save, trial_ending_notice};

/// How long before a trial's end its owners are reminded.
pub const TRIAL_REMINDER: Duration = Duration::days(3);

/// How long an unsettled payment (its answer lost, or still processing)
/// waits before it is asked about again.
pub const UNKNOWN_AFTER: Duration = Duration::minutes(5);

/// The most subscriptions (and invoices, and payments) one run handles; the
/// next run takes the rest.
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
    /// Invoices issued (a trial's first period, a renewal).
    pub invoiced: u32,
    /// Charges made, retries and lost answers included.
    pub charged: u32,
    /// Provider events applied.
    pub events: u32,
    /// Bookings whose hold ran out unpaid, their time freed.
    pub holds_released: u32,
    /// Booking payments asked about again (their answer lost, still
    /// processing, or their booking's hold over).
    pub booking_payments: u32,
    /// Refunds asked for again, or about (their answer lost, still
    /// processing, or never sent).
    pub booking_refunds: u32,
    /// Subscriptions or payments whose step failed (logged; tried again next run).
    pub failed: u32,
}

impl BillingService {
    /// Applies everything due at `now`.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DueReport> {
        let now = crate::service::stamp(now);
        let mut report = DueReport::default();
        let mut to_charge = Vec::new();
        for (tenant_id, id) in self.due_subscriptions(now).await? {
            match self.step(tenant_id, id, now, &mut report).await {
                Ok(Some(invoice)) => to_charge.push((tenant_id, invoice)),
                Ok(None) => {}
                Err(err) => {
                    warn!(%tenant_id, subscription = %id.0, error = %err, "a subscription's due step failed");
                    report.failed += 1;
                }
            }
        }
        to_charge.extend(self.due_retries(now).await?);
        to_charge.sort_unstable();
        to_charge.dedup();
        for (tenant_id, invoice) in to_charge {
            match self.collect(tenant_id, invoice, true, None, now).await {
                Ok(Collected::NoCard | Collected::InFlight) => {}
                Ok(_) => report.charged += 1,
                Err(err) => {
                    warn!(%tenant_id, %invoice, error = %err, "charging an invoice failed");
                    report.failed += 1;
                }
            }
        }
        for payment in self.lost_answers(now).await? {
            let (tenant_id, id) = (payment.tenant_id, payment.id);
            match self.resolve_unknown(payment, now).await {
                Ok(_) => report.charged += 1,
                Err(err) => {
                    warn!(%tenant_id, payment = %id, error = %err, "asking about a payment again failed");
                    report.failed += 1;
                }
            }
        }
        self.booking_payments_due(now, &mut report).await?;
        for event in self.due_events(now).await? {
            match self.apply_event(event, now).await {
                Ok(()) => report.events += 1,
                Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Frees the time of bookings whose hold ran out, gives up their
    /// payments, and asks about booking payments left unsettled.
    async fn booking_payments_due(&self, now: DateTime<Utc>, report: &mut DueReport) -> Result<()> {
        let mut recheck = Vec::new();
        for (tenant_id, booking) in SchedulingService::release_lapsed_holds(&self.db, now, BATCH).await? {
            report.holds_released += 1;
            // A deposit paid for a booking that still waited for its card
            // is given back now, not at the next run.
            self.send_refunds_of_booking(tenant_id, booking, now).await;
            let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
            let payment = tessera_ledger::payments::booking_payment(&txn, tenant_id, booking).await?;
            txn.commit().await?;
            recheck.extend(payment.map(|p| (tenant_id, p.id)));
        }
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        recheck.extend(tessera_ledger::payments::unsettled(&txn, now - UNKNOWN_AFTER, BATCH).await?);
        txn.commit().await?;
        recheck.sort_unstable();
        recheck.dedup();
        for (tenant_id, id) in recheck {
            match self.recheck_booking_payment(tenant_id, id, now).await {
                Ok(_) => report.booking_payments += 1,
                Err(err) => {
                    warn!(%tenant_id, payment = %id, error = %err, "asking about a booking payment again failed");
                    report.failed += 1;
                }
            }
        }
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let unsent = tessera_ledger::refunds::unsettled(&txn, now - UNKNOWN_AFTER, BATCH).await?;
        txn.commit().await?;
        for (tenant_id, id) in unsent {
            match self.send_refund(tenant_id, id, now).await {
                Ok(_) => report.booking_refunds += 1,
                Err(err) => {
                    warn!(%tenant_id, refund = %id, error = %err, "asking about a refund again failed");
                    report.failed += 1;
                }
            }
        }
        Ok(())
    }

    async fn due_subscriptions(&self, now: DateTime<Utc>) -> Result<Vec<(TenantId, SubscriptionId)>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let trialing = subscription::Column::Status.eq(SubscriptionStatus::Trialing);
        let reminder_due = Condition::all()
            .add(trialing.clone())
            .add(subscription::Column::TrialRemindedAt.is_null())
            .add(subscription::Column::TrialEnd.lte(now + TRIAL_REMINDER));
        let renews = subscription::Column::Status.is_in([SubscriptionStatus::Active, SubscriptionStatus::PastDue]);
        let period_over = Condition::all()
            .add(subscription::Column::CurrentPeriodEnd.lte(now))
            .add(Condition::any().add(trialing).add(renews).add(subscription::Column::CancelAtPeriodEnd.eq(true)));
        let due = subscription::Entity::find()
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
        Ok(due)
    }

    /// Open invoices whose next try is due.
    async fn due_retries(&self, now: DateTime<Utc>) -> Result<Vec<(TenantId, Uuid)>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let due = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::TenantId)
            .column(invoice::Column::Id)
            .filter(invoice::Column::Status.eq(InvoiceStatus::Open))
            .filter(invoice::Column::NextAttemptAt.lte(now))
            .order_by_asc(invoice::Column::NextAttemptAt)
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(due)
    }

    /// Payments not settled a while after they were last asked about: the
    /// answer was lost, the bank is still processing, or the gateway stopped
    /// between writing the payment and calling the provider.
    async fn lost_answers(&self, now: DateTime<Utc>) -> Result<Vec<invoice_payment::Model>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let lost = invoice_payment::Entity::find()
            .filter(invoice_payment::Column::Status.is_in([PaymentState::Unknown, PaymentState::Pending]))
            .filter(invoice_payment::Column::UpdatedAt.lte(now - UNKNOWN_AFTER))
            .limit(BATCH)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(lost)
    }

    /// Applies what is due to one subscription, read again under the lock;
    /// returns the invoice to charge once it commits.
    async fn step(
        &self,
        tenant_id: TenantId,
        id: SubscriptionId,
        now: DateTime<Utc>,
        report: &mut DueReport,
    ) -> Result<Option<Uuid>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        lock_billing(&txn, tenant_id).await?;
        let Some(before) = subscription::Entity::find_by_id((tenant_id, id)).one(&txn).await? else {
            return Ok(None);
        };
        if before.ended_at.is_some() {
            return Ok(None);
        }
        let plan = catalogue::by_id(&txn, before.plan_id).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
        let timezone = timezone_of(&tenant)?;
        let mut to_charge = None;
        let period_over = before.current_period_end <= now;
        if period_over && before.cancel_at_period_end {
            let status = states::next(before.status, Event::PeriodEndedCancelling)?;
            let mut row: subscription::ActiveModel = before.clone().into();
            row.status = Set(status);
            // It ended when its period did, whenever the job ran.
            row.ended_at = Set(Some(before.current_period_end));
            let after = save(row, &before, now, &txn).await?;
            self.record(&txn, None, ("subscription.ended", Some("ended")), &before, &after, &plan, now).await?;
            report.ended += 1;
        } else if period_over && before.status == SubscriptionStatus::Trialing {
            if default_method(&txn, tenant_id).await?.is_some() {
                let start = before.current_period_end;
                let period = (start, period_end(start, timezone, before.interval, 0)?);
                let lines = vec![plan_line(&plan, before.quantity, before.unit_price_minor, period)];
                let issued =
                    invoices::issue(&txn, &before, InvoiceReason::SubscriptionStart, period, lines, None, now).await?;
                report.invoiced += 1;
                to_charge = Some(issued.id);
            } else {
                let status = states::next(before.status, Event::TrialEndedUnpaid)?;
                let mut row: subscription::ActiveModel = before.clone().into();
                row.status = Set(status);
                let after = save(row, &before, now, &txn).await?;
                let change = ("subscription.trial_ended", Some("inactive"));
                self.record(&txn, None, change, &before, &after, &plan, now).await?;
                report.trials_ended += 1;
            }
        } else if period_over {
            // Active or past due: the next period (on the plan waiting for it,
            // if any), invoiced now.
            let mut row: subscription::ActiveModel = before.clone().into();
            let terms = take_scheduled(&txn, &before, &mut row, plan.clone()).await?;
            let next_plan = terms.plan;
            let next_end = period_end(terms.anchor, timezone, next_plan.interval, terms.number.unsigned_abs())?;
            let period = (before.current_period_end, next_end);
            row.anchor_at = Set(Some(terms.anchor));
            row.period_number = Set(terms.number);
            row.current_period_start = Set(period.0);
            row.current_period_end = Set(period.1);
            // The usage periods that ended in the period just over, at the
            // prices of the plan it was on.
            let overage = overage::ended_lines(&txn, &before, &plan, before.current_period_end, timezone).await?;
            row.overage_billed_through = Set(Some(overage.through));
            let after = save(row, &before, now, &txn).await?;
            let mut lines = vec![plan_line(&next_plan, after.quantity, after.unit_price_minor, period)];
            lines.extend(overage.lines);
            let issued = invoices::issue(&txn, &after, InvoiceReason::Renewal, period, lines, None, now).await?;
            let action = ("subscription.renewed", None);
            self.record_between(&txn, None, action, (&before, &plan), (&after, &next_plan), now).await?;
            report.invoiced += 1;
            to_charge = Some(issued.id);
        } else if before.status == SubscriptionStatus::Trialing
            && before.trial_reminded_at.is_none()
            && before.trial_end.is_some_and(|end| end - TRIAL_REMINDER <= now && now < end)
        {
            let mut row: subscription::ActiveModel = before.clone().into();
            row.trial_reminded_at = Set(Some(now));
            let after = save(row, &before, now, &txn).await?;
            let billing = info::ensure(&txn, tenant_id, now).await?;
            let notice = trial_ending_notice(&tenant, &billing, &after, &plan)?;
            self.hooks.notice(&txn, tenant_id, notice, now).await?;
            report.reminded += 1;
        }
        txn.commit().await?;
        Ok(to_charge)
    }
}
