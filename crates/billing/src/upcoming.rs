//! The next charge a business will see: the invoice its subscription's next
//! period will get, worked out as the job will (the plan a waiting change
//! moves to, its coupons in order), so "you will be charged" shows the same
//! amount the invoice will hold, with the overage of the usage periods that
//! have ended so far (one still running is billed once it ends). Nothing
//! upcoming when the subscription ends at the period's end, or is not running
//! (inactive, unpaid, ended).

use chrono::{DateTime, Utc};
use tessera_kernel::db::Access;
use tessera_kernel::{Permission, RequestContext, Result};

use crate::catalogue;
use crate::changes::next_terms;
use crate::invoices::{plan_line, totals};
use crate::model::{InvoiceLine, SubscriptionStatus};
use crate::periods::period_end;
use crate::quotes::shown;
use crate::service::{BillingService, live_row, timezone_of};
use crate::{discounts, overage};

/// The invoice the next period will get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingInvoice {
    /// When it is issued and charged: the start of the period it bills.
    pub period_start: DateTime<Utc>,
    /// The end of that period.
    pub period_end: DateTime<Utc>,
    /// Its lines, discounts included.
    pub lines: Vec<InvoiceLine>,
    /// ISO 4217.
    pub currency: String,
    /// The lines before discounts.
    pub subtotal_minor: i64,
    /// Discounts.
    pub discount_minor: i64,
    /// What will be charged.
    pub total_minor: i64,
}

impl BillingService {
    /// The invoice the business's next period will get (`billing:read`).
    pub async fn upcoming_invoice(&self, ctx: &RequestContext) -> Result<Option<UpcomingInvoice>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let Some(sub) = live_row(&*txn, auth.tenant_id).await? else { return Ok(None) };
        let running = matches!(
            sub.status,
            SubscriptionStatus::Trialing | SubscriptionStatus::Active | SubscriptionStatus::PastDue
        );
        if !running || sub.cancel_at_period_end {
            return Ok(None);
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&*txn, auth.tenant_id).await?;
        let timezone = timezone_of(&tenant)?;
        let plan = catalogue::by_id(&*txn, sub.plan_id).await?;
        let overage = match sub.status {
            SubscriptionStatus::Trialing => Vec::new(),
            _ => overage::ended_lines(&*txn, &sub, &plan, ctx.now().min(sub.current_period_end), timezone).await?.lines,
        };
        let terms = next_terms(&*txn, &sub, plan).await?;
        let start = sub.current_period_end;
        let end = if sub.status == SubscriptionStatus::Trialing {
            // The trial's end starts the first paid period.
            period_end(start, timezone, terms.plan.interval, 0)?
        } else {
            period_end(terms.anchor, timezone, terms.plan.interval, terms.number.unsigned_abs())?
        };
        let period = (start, end);
        let mut lines = vec![plan_line(&terms.plan, terms.quantity, terms.unit_price_minor, period)];
        lines.extend(overage);
        let applied = discounts::on_lines(&*txn, auth.tenant_id, &lines).await?;
        txn.commit().await?;
        lines.extend(applied.lines());
        let (subtotal, discount, total) = totals(&lines)?;
        Ok(Some(UpcomingInvoice {
            period_start: period.0,
            period_end: period.1,
            lines: lines.into_iter().map(shown).collect(),
            currency: sub.currency,
            subtotal_minor: subtotal,
            discount_minor: discount,
            total_minor: total,
        }))
    }
}
