//! Invoices: issued in the transaction that bills, numbered by the platform's
//! counter (advanced by the statement that reads it), with lines whose sum is
//! the subtotal; discounts never take the total below zero, and the database
//! refuses totals that do not add up. Owners read them with Relay paging.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Page, PageRequest, Permission, RequestContext, Result};
use tessera_ledger::Metric;
use uuid::Uuid;

use crate::discounts;
use crate::entity::{invoice, invoice_line, subscription};
use crate::model::{Invoice, InvoiceLine, InvoiceReason, InvoiceStatus, LineKind, Plan};
use crate::service::BillingService;

/// A line to put on a new invoice.
#[derive(Debug, Clone)]
pub(crate) struct NewLine {
    pub(crate) kind: LineKind,
    pub(crate) description: String,
    pub(crate) quantity: i32,
    pub(crate) unit_minor: i64,
    pub(crate) period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The metric and usage period an overage line bills (each once).
    pub(crate) usage: Option<(Metric, String)>,
}

/// The subtotal, discount and total of `lines`: discounts are the negative
/// lines, capped at the subtotal so the total is never below zero.
pub(crate) fn totals(lines: &[NewLine]) -> Result<(i64, i64, i64)> {
    let mut subtotal: i128 = 0;
    let mut discount: i128 = 0;
    for line in lines {
        let amount = i128::from(line.quantity) * i128::from(line.unit_minor);
        match line.kind {
            LineKind::Discount => discount += -amount,
            _ => subtotal += amount,
        }
    }
    let discount = discount.clamp(0, subtotal.max(0));
    let fit = |n: i128| i64::try_from(n).map_err(|_| DomainError::Internal("an invoice total out of range".into()));
    Ok((fit(subtotal)?, fit(discount)?, fit(subtotal - discount)?))
}

/// The next invoice number of the platform (`INV-000042`).
async fn next_number(txn: &DatabaseTransaction) -> Result<String> {
    let sql = "UPDATE invoice_numbers SET next_value = next_value + 1 WHERE name = 'invoices' RETURNING next_value - 1";
    let row = txn
        .query_one_raw(Statement::from_string(txn.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DomainError::Internal("the invoice counter is missing".into()))?;
    let number: i64 = row.try_get_by_index(0)?;
    Ok(format!("INV-{number:06}"))
}

/// Issues an open invoice of `sub` for `reason` and `period` (charging
/// `quote`, if any), its `lines` less the business's coupons
/// (`discounts.rs`), with an audit record by the system; the one issued
/// already, if any (an invoice of a subscription, reason and period, or of a
/// quote, is issued once).
pub(crate) async fn issue(
    txn: &DatabaseTransaction,
    sub: &subscription::Model,
    reason: InvoiceReason,
    period: (DateTime<Utc>, DateTime<Utc>),
    lines: Vec<NewLine>,
    quote: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    let existing = invoice::Entity::find()
        .filter(invoice::Column::TenantId.eq(sub.tenant_id))
        .filter(invoice::Column::SubscriptionId.eq(sub.id))
        .filter(invoice::Column::Reason.eq(reason))
        .filter(invoice::Column::PeriodStart.eq(period.0))
        .filter(match quote {
            Some(quote) => invoice::Column::QuoteId.eq(quote),
            None => invoice::Column::QuoteId.is_null(),
        })
        .one(txn)
        .await?;
    if let Some(existing) = existing {
        return Ok(existing);
    }
    // The business's coupons, on the lines before any discount.
    let mut lines: Vec<NewLine> = lines.into_iter().filter(|l| l.kind != LineKind::Discount).collect();
    let applied = discounts::on_lines(txn, sub.tenant_id, &lines).await?;
    applied.use_up(txn, now).await?;
    let redemptions: Vec<Option<Uuid>> =
        lines.iter().map(|_| None).chain(applied.discounts.iter().map(|d| Some(d.redemption_id))).collect();
    lines.extend(applied.lines());
    let (subtotal, discount, total) = totals(&lines)?;
    let row = invoice::ActiveModel {
        tenant_id: Set(sub.tenant_id),
        id: Set(Uuid::now_v7()),
        number: Set(next_number(txn).await?),
        subscription_id: Set(sub.id),
        reason: Set(reason),
        period_start: Set(period.0),
        period_end: Set(period.1),
        status: Set(InvoiceStatus::Open),
        currency: Set(sub.currency.clone()),
        subtotal_minor: Set(subtotal),
        discount_minor: Set(discount),
        total_minor: Set(total),
        amount_paid_minor: Set(0),
        attempts: Set(0),
        next_attempt_at: Set(None),
        due_at: Set(now),
        paid_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        quote_id: Set(quote),
    }
    .insert(txn)
    .await?;
    for (position, (line, redemption)) in lines.into_iter().zip(redemptions).enumerate() {
        invoice_line::ActiveModel {
            tenant_id: Set(sub.tenant_id),
            id: Set(Uuid::now_v7()),
            invoice_id: Set(row.id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            kind: Set(line.kind),
            description: Set(line.description),
            quantity: Set(line.quantity),
            unit_minor: Set(line.unit_minor),
            amount_minor: Set(line.unit_minor.saturating_mul(i64::from(line.quantity))),
            period_start: Set(line.period.map(|p| p.0)),
            period_end: Set(line.period.map(|p| p.1)),
            coupon_redemption_id: Set(redemption),
            metric: Set(line.usage.as_ref().map(|(metric, _)| metric.as_str().to_owned())),
            usage_period: Set(line.usage.map(|(_, period)| period)),
        }
        .insert(txn)
        .await?;
    }
    let snapshot = serde_json::json!({"number": row.number, "reason": format!("{reason:?}"), "totalMinor": total,
        "currency": row.currency, "periodStart": period.0, "periodEnd": period.1});
    let entry = AuditEntry::change("invoice.issued", "invoice", row.id, None, Some(&snapshot))?;
    tessera_audit::append_by_system(txn, sub.tenant_id, now, entry).await?;
    Ok(row)
}

/// Invoices with their lines, in the order given.
pub(crate) async fn with_lines<C: ConnectionTrait>(conn: &C, rows: Vec<invoice::Model>) -> Result<Vec<Invoice>> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::TenantId.eq(first.tenant_id))
        .filter(invoice_line::Column::InvoiceId.is_in(rows.iter().map(|r| r.id)))
        .order_by_asc(invoice_line::Column::Position)
        .all(conn)
        .await?;
    let mut by_invoice: HashMap<Uuid, Vec<InvoiceLine>> = HashMap::new();
    for line in lines {
        by_invoice.entry(line.invoice_id).or_default().push(InvoiceLine {
            kind: line.kind,
            description: line.description,
            quantity: line.quantity,
            unit_minor: line.unit_minor,
            amount_minor: line.amount_minor,
            period: line.period_start.zip(line.period_end),
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| Invoice {
            lines: by_invoice.remove(&row.id).unwrap_or_default(),
            id: row.id,
            number: row.number,
            subscription_id: row.subscription_id,
            reason: row.reason,
            period_start: row.period_start,
            period_end: row.period_end,
            status: row.status,
            currency: row.currency,
            subtotal_minor: row.subtotal_minor,
            discount_minor: row.discount_minor,
            total_minor: row.total_minor,
            amount_paid_minor: row.amount_paid_minor,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            due_at: row.due_at,
            paid_at: row.paid_at,
            created_at: row.created_at,
        })
        .collect())
}

impl BillingService {
    /// The business's invoices, oldest first (`billing:read`).
    pub async fn invoices(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Invoice>> {
        let keyset = page.keyset()?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let select = invoice::Entity::find().filter(invoice::Column::TenantId.eq(auth.tenant_id));
        let rows = keyset.apply(select, invoice::Column::Id).all(&txn).await?;
        let page = keyset.finish(rows);
        let has = (page.has_previous_page, page.has_next_page);
        let items = with_lines(&*txn, page.items).await?;
        txn.commit().await?;
        Ok(Page { items, has_previous_page: has.0, has_next_page: has.1 })
    }

    /// One of the business's invoices (`billing:read`).
    pub async fn invoice(&self, ctx: &RequestContext, id: Uuid) -> Result<Invoice> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let row = invoice::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "invoice" })?;
        let found = with_lines(&*txn, vec![row]).await?.pop();
        txn.commit().await?;
        found.ok_or(DomainError::NotFound { entity: "invoice" })
    }
}

/// A plan's line for `period`: `quantity` seats at `unit_minor` each (a
/// subscription's own price, which a new plan version never changes).
pub(crate) fn plan_line(
    plan: &Plan,
    quantity: i32,
    unit_minor: i64,
    period: (DateTime<Utc>, DateTime<Utc>),
) -> NewLine {
    NewLine {
        kind: LineKind::Plan,
        description: plan.name.clone(),
        quantity,
        unit_minor,
        period: Some(period),
        usage: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: LineKind, quantity: i32, unit_minor: i64) -> NewLine {
        NewLine { kind, description: String::new(), quantity, unit_minor, period: None, usage: None }
    }

    #[test]
    fn totals_add_up_and_discounts_never_go_below_zero() {
        let plan = line(LineKind::Plan, 3, 1_500);
        assert_eq!(totals(std::slice::from_ref(&plan)).ok(), Some((4_500, 0, 4_500)));
        let credit = line(LineKind::ProrationCredit, 1, -1_000);
        assert_eq!(totals(&[plan.clone(), credit]).ok(), Some((3_500, 0, 3_500)));
        let discount = line(LineKind::Discount, 1, -10_000);
        assert_eq!(totals(&[plan, discount]).ok(), Some((4_500, 4_500, 0)));
    }
}
