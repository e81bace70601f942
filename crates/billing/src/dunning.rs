//! What a settled payment does: an invoice paid makes the subscription it
//! bills active (a trial's first period, or a recovery from past due or
//! unpaid), with the tier and the owners' notice in the same transaction; a
//! decline counts an automatic try, schedules the next from the business's
//! `retry_days`, and moves the subscription (past due on the first, unpaid or
//! ended when the tries run out), telling the owners of the first failure and,
//! urgently, before the last try.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::{DomainError, RequestContext, Result, TenantId};
use uuid::Uuid;

use crate::catalogue;
use crate::charging::retry_days;
use crate::entity::{invoice, subscription};
use crate::hooks::{BillingNotice, NoticeKind};
use crate::info;
use crate::model::{InvoiceReason, InvoiceStatus, Plan, SubscriptionStatus};
use crate::money::format_money;
use crate::periods::period_end;
use crate::service::{BillingService, timezone_of};
use crate::states::{self, Event};
use crate::subscriptions::save;

impl BillingService {
    /// An invoice paid: the subscription it bills becomes active (a trial's
    /// first period, or a recovery), with the owners told.
    pub(crate) async fn invoice_paid(
        &self,
        txn: &DatabaseTransaction,
        invoice: invoice::Model,
        amount: i64,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tenant_id = invoice.tenant_id;
        let mut paid: invoice::ActiveModel = invoice.clone().into();
        paid.status = Set(InvoiceStatus::Paid);
        paid.amount_paid_minor = Set(invoice.total_minor);
        paid.paid_at = Set(Some(now));
        paid.next_attempt_at = Set(None);
        paid.updated_at = Set(now);
        let paid = paid.update(txn).await?;
        let snapshot = json!({"number": paid.number, "amountMinor": amount, "currency": paid.currency});
        self.audit(txn, by, tenant_id, "invoice.paid", paid.id, &snapshot, now).await?;
        let (before, plan) = self.billed(txn, &paid).await?;
        let event = match (before.status, paid.reason) {
            (SubscriptionStatus::Trialing, InvoiceReason::SubscriptionStart) => Some(Event::TrialEndedPaid),
            (SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid | SubscriptionStatus::Inactive, _) => {
                Some(Event::Paid)
            }
            _ => None,
        };
        if let Some(event) = event {
            let mut row: subscription::ActiveModel = before.clone().into();
            row.status = Set(states::next(before.status, event)?);
            let start = paid.reason == InvoiceReason::SubscriptionStart;
            let billed_until = if start { paid.period_end } else { before.current_period_end };
            if start && billed_until > now {
                start_paid_periods(&mut row, &paid);
            } else if billed_until <= now {
                // Paid after its period lapsed (unpaid for long): a new period
                // starts now, so the lapsed ones are never billed after the fact.
                let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
                let end = period_end(now, timezone_of(&tenant)?, before.interval, 0)?;
                row.anchor_at = Set(Some(now));
                row.period_number = Set(0);
                row.current_period_start = Set(now);
                row.current_period_end = Set(end);
            }
            let after = save(row, &before, now, txn).await?;
            self.record(txn, by, ("subscription.activated", None), &before, &after, &plan, now).await?;
        }
        let notice = self.payment_notice(txn, &paid, &plan, NoticeKind::PaymentSucceeded, None).await?;
        self.hooks.notice(txn, tenant_id, notice, now).await
    }

    /// A declined invoice: counts an automatic try, schedules the next, and
    /// moves the subscription as the schedule says.
    pub(crate) async fn invoice_failed(
        &self,
        txn: &DatabaseTransaction,
        invoice: invoice::Model,
        automatic: bool,
        code: &str,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if invoice.reason == InvoiceReason::Change {
            // A change is paid when it is made, or not made.
            return self.undo_change(txn, invoice, code, by, now).await;
        }
        let tenant_id = invoice.tenant_id;
        let billing = info::ensure(txn, tenant_id, now).await?;
        let schedule = retry_days(&billing.retry_days);
        let attempts = invoice.attempts + i32::from(automatic);
        let tries_left = usize::try_from(attempts).is_ok_and(|a| a <= schedule.len());
        let next_attempt_at = match (automatic, tries_left) {
            (true, true) => usize::try_from(attempts - 1)
                .ok()
                .and_then(|i| schedule.get(i))
                .map(|days| invoice.due_at + Duration::days(*days)),
            (true, false) => None,
            (false, _) => invoice.next_attempt_at,
        };
        let exhausted = automatic && !tries_left;
        let mut row: invoice::ActiveModel = invoice.clone().into();
        row.attempts = Set(attempts);
        row.next_attempt_at = Set(next_attempt_at);
        row.updated_at = Set(now);
        let (before, plan) = self.billed(txn, &invoice).await?;
        let keeps = billing.when_retries_fail != "cancel";
        if exhausted && !keeps {
            row.status = Set(InvoiceStatus::Uncollectible);
        }
        let failed = row.update(txn).await?;
        let snapshot = json!({"number": failed.number, "declineCode": code, "attempts": attempts,
            "nextAttemptAt": next_attempt_at});
        self.audit(txn, by, tenant_id, "invoice.payment_failed", failed.id, &snapshot, now).await?;

        // The first failure makes it past due; running out of tries (at once,
        // with no retries) moves it on as the business chose.
        let first = match before.status {
            SubscriptionStatus::Trialing if failed.reason == InvoiceReason::SubscriptionStart => {
                Some(Event::TrialEndedPaymentFailed)
            }
            SubscriptionStatus::Active if failed.reason == InvoiceReason::Renewal => Some(Event::RenewalFailed),
            _ => None,
        };
        let mut status = before.status;
        if let Some(event) = first {
            status = states::next(status, event)?;
        }
        if exhausted && status == SubscriptionStatus::PastDue {
            let event = if keeps { Event::RetriesExhaustedKeep } else { Event::RetriesExhaustedCancel };
            status = states::next(status, event)?;
        }
        if status != before.status {
            let mut row: subscription::ActiveModel = before.clone().into();
            row.status = Set(status);
            if failed.reason == InvoiceReason::SubscriptionStart && before.status == SubscriptionStatus::Trialing {
                start_paid_periods(&mut row, &failed);
            }
            if status == SubscriptionStatus::Canceled {
                row.ended_at = Set(Some(now));
                row.canceled_at = Set(Some(now));
            }
            let after = save(row, &before, now, txn).await?;
            let change = match status {
                SubscriptionStatus::Unpaid => Some("unpaid"),
                SubscriptionStatus::Canceled => Some("ended"),
                _ => None,
            };
            self.record(txn, by, ("subscription.payment_failed", change), &before, &after, &plan, now).await?;
        }
        // The owners hear of the first failure, and again before the last try.
        let last_try_next = automatic && tries_left && usize::try_from(attempts).ok() == Some(schedule.len());
        if automatic && (attempts == 1 || last_try_next) && !exhausted {
            let notice = self
                .payment_notice(txn, &failed, &plan, NoticeKind::PaymentFailed { last_try: last_try_next }, Some(code))
                .await?;
            self.hooks.notice(txn, tenant_id, notice, now).await?;
        }
        Ok(())
    }

    /// The subscription an invoice bills, with its plan.
    async fn billed(&self, txn: &DatabaseTransaction, invoice: &invoice::Model) -> Result<(subscription::Model, Plan)> {
        let sub = subscription::Entity::find_by_id((invoice.tenant_id, invoice.subscription_id))
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "subscription" })?;
        let plan = catalogue::by_id(txn, sub.plan_id).await?;
        Ok((sub, plan))
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        txn: &DatabaseTransaction,
        by: Option<&RequestContext>,
        tenant_id: TenantId,
        action: &'static str,
        id: Uuid,
        snapshot: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entry = AuditEntry::change(action, "invoice", id, None, Some(snapshot))?;
        tessera_audit::append_by(txn, by, tenant_id, now, entry).await
    }

    async fn payment_notice(
        &self,
        txn: &DatabaseTransaction,
        invoice: &invoice::Model,
        plan: &Plan,
        kind: NoticeKind,
        code: Option<&str>,
    ) -> Result<BillingNotice> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, invoice.tenant_id).await?;
        let billing = info::ensure(txn, invoice.tenant_id, invoice.updated_at).await?;
        let timezone = timezone_of(&tenant)?;
        let next = invoice.next_attempt_at.map(|at| at.with_timezone(&timezone).format("%Y-%m-%d %H:%M").to_string());
        Ok(BillingNotice {
            kind,
            variables: json!({
                "businessName": tenant.name,
                "planName": plan.name,
                "invoiceNumber": invoice.number,
                "amount": format_money(invoice.total_minor, &invoice.currency),
                "declineCode": code,
                "nextAttemptAt": next,
            }),
            dedupe_key: format!("invoice:{}:{:?}:{}", invoice.id, kind, invoice.attempts),
            billing_email: billing.billing_email,
        })
    }
}

/// A subscription's paid periods begin with the first paid invoice's period.
fn start_paid_periods(row: &mut subscription::ActiveModel, invoice: &invoice::Model) {
    row.anchor_at = Set(Some(invoice.period_start));
    row.period_number = Set(0);
    row.current_period_start = Set(invoice.period_start);
    row.current_period_end = Set(invoice.period_end);
}
