//! A business's invoices (`Billing.invoices`, Relay paging; `Billing.invoice`)
//! and paying an open one with the default card (`payInvoice`).

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{Invoice, InvoiceLine};
use tessera_kernel::Permission;

use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_request};
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{Requires, parse_id, request, services};

/// Where an invoice stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "InvoiceStatus", remote = "tessera_billing::InvoiceStatus")]
pub(crate) enum InvoiceStatusEnum {
    /// Being put together.
    Draft,
    /// Issued, waiting for payment.
    Open,
    /// Paid in full.
    Paid,
    /// Cancelled; nothing is owed.
    Void,
    /// Given up on.
    Uncollectible,
}

/// Why an invoice was issued.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "InvoiceReason", remote = "tessera_billing::InvoiceReason")]
pub(crate) enum InvoiceReasonEnum {
    /// The first paid period.
    SubscriptionStart,
    /// A new period.
    Renewal,
    /// A change of plan or quantity.
    Change,
    /// Issued by hand.
    Manual,
}

/// What an invoice line is for.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "InvoiceLineKind", remote = "tessera_billing::LineKind")]
pub(crate) enum InvoiceLineKindEnum {
    /// The plan for a period.
    Plan,
    /// Credit for the unused part of what was paid.
    ProrationCredit,
    /// The new plan for the rest of a period.
    ProrationCharge,
    /// Use beyond a soft limit.
    Overage,
    /// A coupon.
    Discount,
}

/// One line of an invoice.
#[derive(SimpleObject)]
#[graphql(name = "InvoiceLine")]
pub(crate) struct InvoiceLineObject {
    /// What it is for.
    kind: InvoiceLineKindEnum,
    /// For people.
    description: String,
    /// How many.
    quantity: i32,
    /// Each.
    unit_amount: MoneyObject,
    /// In all (negative for credits and discounts).
    amount: MoneyObject,
    /// The period it covers.
    period_start: Option<DateTime<Utc>>,
    /// Its end.
    period_end: Option<DateTime<Utc>>,
}

pub(super) fn line(line: InvoiceLine, currency: &str) -> ApiResult<InvoiceLineObject> {
    Ok(InvoiceLineObject {
        kind: line.kind.into(),
        description: line.description,
        quantity: line.quantity,
        unit_amount: money(line.unit_minor, currency)?,
        amount: money(line.amount_minor, currency)?,
        period_start: line.period.map(|p| p.0),
        period_end: line.period.map(|p| p.1),
    })
}

/// An invoice of the business's subscription.
pub(crate) struct InvoiceObject(pub(super) Invoice);

#[Object(name = "Invoice")]
impl InvoiceObject {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The platform's number for it (`INV-000042`).
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Why it was issued.
    async fn reason(&self) -> InvoiceReasonEnum {
        self.0.reason.into()
    }
    /// Where it stands.
    async fn status(&self) -> InvoiceStatusEnum {
        self.0.status.into()
    }
    /// The period it bills.
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period_start
    }
    /// Its end.
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period_end
    }
    /// Its lines, in order; they add up to the subtotal.
    async fn lines(&self) -> ApiResult<Vec<InvoiceLineObject>> {
        self.0.lines.iter().cloned().map(|l| line(l, &self.0.currency)).collect()
    }
    /// The sum of the lines before discounts.
    async fn subtotal(&self) -> ApiResult<MoneyObject> {
        money(self.0.subtotal_minor, &self.0.currency)
    }
    /// Discounts.
    async fn discount(&self) -> ApiResult<MoneyObject> {
        money(self.0.discount_minor, &self.0.currency)
    }
    /// What is owed: the subtotal less discounts, never below zero.
    async fn total(&self) -> ApiResult<MoneyObject> {
        money(self.0.total_minor, &self.0.currency)
    }
    /// What was paid.
    async fn amount_paid(&self) -> ApiResult<MoneyObject> {
        money(self.0.amount_paid_minor, &self.0.currency)
    }
    /// Automatic tries to collect it so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When it is tried again; null when it will not be.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    /// When it fell due.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// When it was paid.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// When it was issued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The invoice as a page a person reads and prints: a complete HTML
    /// document, self-contained (styles inline, nothing fetched) and escaped;
    /// show it in a sandboxed frame (`<iframe sandbox srcdoc>`).
    async fn html(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(services(ctx)?.billing.invoice_document(request(ctx)?, self.0.id).await?)
    }
}

/// The business's invoices (a field of `Billing`).
pub(super) async fn invoices(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<Connection<String, InvoiceObject>> {
    let page = page_request(first, after, last, before);
    let page = services(ctx)?.billing.invoices(request(ctx)?, &page).await?;
    Ok(connection(page, |i| i.id, InvoiceObject))
}

/// One of the business's invoices (a field of `Billing`).
pub(super) async fn invoice(ctx: &Context<'_>, id: &ID) -> ApiResult<InvoiceObject> {
    let id: uuid::Uuid = parse_id("id", id)?;
    Ok(InvoiceObject(services(ctx)?.billing.invoice(request(ctx)?, id).await?))
}

/// Mutations of invoices.
#[derive(Default)]
pub(super) struct InvoiceMutations;

#[operations]
#[Object]
impl InvoiceMutations {
    /// Pays an open invoice now with the business's default card: an unpaid
    /// or past-due subscription becomes active again, its tier with it.
    /// `PAYMENT_DECLINED` (with `declineCode`) when the bank refuses.
    #[access(Requires(Permission::BillingManage))]
    async fn pay_invoice(&self, ctx: &Context<'_>, id: ID) -> ApiResult<InvoiceObject> {
        let id: uuid::Uuid = parse_id("id", &id)?;
        Ok(InvoiceObject(services(ctx)?.billing.pay_invoice(request(ctx)?, id).await?))
    }
}

/// The invoice the subscription's next period will get.
pub(crate) struct UpcomingInvoiceObject(pub(super) tessera_billing::UpcomingInvoice);

#[Object(name = "UpcomingInvoice")]
impl UpcomingInvoiceObject {
    /// When it is issued and charged: the start of the period it bills.
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period_start
    }
    /// The end of that period.
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period_end
    }
    /// Its lines, discounts included.
    async fn lines(&self) -> ApiResult<Vec<InvoiceLineObject>> {
        self.0.lines.iter().cloned().map(|l| line(l, &self.0.currency)).collect()
    }
    /// The lines before discounts.
    async fn subtotal(&self) -> ApiResult<MoneyObject> {
        money(self.0.subtotal_minor, &self.0.currency)
    }
    /// Discounts.
    async fn discount(&self) -> ApiResult<MoneyObject> {
        money(self.0.discount_minor, &self.0.currency)
    }
    /// What will be charged.
    async fn total(&self) -> ApiResult<MoneyObject> {
        money(self.0.total_minor, &self.0.currency)
    }
}
