//! Undoing a change of plan or seats whose charge did not go through
//! (declined, or not taken by the provider): in the transaction that records
//! it, the change's invoice is voided (giving back what its discounts used
//! of the business's coupons) and, unless the subscription moved on since,
//! its plan and period are put back as they were before the change.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::{DomainError, Permission, PlanId, RequestContext, Result};
use uuid::Uuid;

use crate::catalogue;
use crate::discounts;
use crate::entity::{invoice, subscription, subscription_quote};
use crate::model::{Interval, InvoiceStatus};
use crate::service::{BillingService, lock_billing};
use crate::subscriptions::save;

/// A subscription's plan and period before a change: what undoing it puts
/// back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Before {
    plan_id: PlanId,
    unit_price_minor: i64,
    interval: Interval,
    quantity: i32,
    current_period_start: DateTime<Utc>,
    current_period_end: DateTime<Utc>,
    anchor_at: Option<DateTime<Utc>>,
    period_number: i32,
}

impl Before {
    pub(crate) fn of(row: &subscription::Model) -> Self {
        Self {
            plan_id: row.plan_id,
            unit_price_minor: row.unit_price_minor,
            interval: row.interval,
            quantity: row.quantity,
            current_period_start: row.current_period_start,
            current_period_end: row.current_period_end,
            anchor_at: row.anchor_at,
            period_number: row.period_number,
        }
    }

    fn put_back(&self, row: &mut subscription::ActiveModel) {
        row.plan_id = Set(self.plan_id);
        row.unit_price_minor = Set(self.unit_price_minor);
        row.interval = Set(self.interval);
        row.quantity = Set(self.quantity);
        row.current_period_start = Set(self.current_period_start);
        row.current_period_end = Set(self.current_period_end);
        row.anchor_at = Set(self.anchor_at);
        row.period_number = Set(self.period_number);
    }
}

impl BillingService {
    /// Undoes a change whose invoice was not paid (declined, or the provider
    /// did not take the charge), in the transaction that records it: the
    /// invoice is voided and, unless the subscription moved on since, its
    /// plan and period are put back.
    pub(crate) async fn undo_change(
        &self,
        txn: &DatabaseTransaction,
        invoice: invoice::Model,
        why: &str,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tenant_id = invoice.tenant_id;
        let mut void: invoice::ActiveModel = invoice.clone().into();
        void.status = Set(InvoiceStatus::Void);
        void.next_attempt_at = Set(None);
        void.updated_at = Set(now);
        let void = void.update(txn).await?;
        let snapshot = json!({"number": void.number, "reason": why});
        let entry = AuditEntry::change("invoice.voided", "invoice", void.id, None, Some(&snapshot))?;
        tessera_audit::append_by(txn, by, tenant_id, now, entry).await?;
        discounts::give_back(txn, tenant_id, void.id, now).await?;
        let Some(quote_id) = invoice.quote_id else { return Ok(()) };
        let quote = subscription_quote::Entity::find_by_id((tenant_id, quote_id))
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "quote" })?;
        let before: Option<Before> = quote.before.as_deref().and_then(|text| serde_json::from_str(text).ok());
        let sub = subscription::Entity::find_by_id((tenant_id, invoice.subscription_id)).one(txn).await?;
        let (Some(before), Some(sub)) = (before, sub) else { return Ok(()) };
        let untouched = sub.ended_at.is_none()
            && sub.plan_id == quote.plan_id
            && sub.quantity == quote.quantity
            && sub.current_period_end == invoice.period_end;
        if !untouched {
            return Ok(());
        }
        let changed_plan = catalogue::by_id(txn, sub.plan_id).await?;
        let old_plan = catalogue::by_id(txn, before.plan_id).await?;
        let mut row: subscription::ActiveModel = sub.clone().into();
        before.put_back(&mut row);
        let after = save(row, &sub, now, txn).await?;
        let action = ("subscription.change_undone", None);
        self.record_between(txn, by, action, (&sub, &changed_plan), (&after, &old_plan), now).await
    }

    pub(crate) async fn undo_unpaid_change(
        &self,
        ctx: &RequestContext,
        invoice_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let auth = ctx.authorize(Permission::BillingManage)?;
        let txn = self.begin_write(auth.tenant_id, Some(ctx)).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let found = invoice::Entity::find_by_id((auth.tenant_id, invoice_id)).one(&txn).await?;
        if let Some(open) = found.filter(|i| i.status == InvoiceStatus::Open) {
            self.undo_change(&txn, open, "no card to charge", Some(ctx), now).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
