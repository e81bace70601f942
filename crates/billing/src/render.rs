//! An invoice as a page a person reads and prints: one self-contained HTML
//! document (its styles inline, nothing fetched), with every value escaped
//! (the template's name ends in `.html`, so minijinja escapes what it
//! prints), amounts formatted in the invoice's currency and dates in the
//! business's timezone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::Environment;
use serde::Serialize;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result};
use uuid::Uuid;

use crate::info;
use crate::model::{BillingInfo, Invoice, InvoiceStatus};
use crate::money::format_money;
use crate::service::{BillingService, timezone_of};

const TEMPLATE: &str = include_str!("../templates/invoice.html");

/// Who issues the invoices.
const ISSUER: &str = "Tessera";

#[derive(Serialize)]
struct Page {
    number: String,
    issuer: &'static str,
    status: &'static str,
    status_label: &'static str,
    customer: Customer,
    issued: String,
    period: String,
    paid: Option<String>,
    lines: Vec<Line>,
    subtotal: String,
    discount: Option<String>,
    total: String,
    amount_paid: String,
    amount_due: String,
    currency: String,
    timezone: String,
}

#[derive(Serialize)]
struct Customer {
    name: String,
    email: Option<String>,
    tax_id: Option<String>,
    address: Vec<String>,
}

#[derive(Serialize)]
struct Line {
    description: String,
    period: Option<String>,
    quantity: i32,
    unit: String,
    amount: String,
}

/// `invoice` of the business named `business`, as an HTML document.
pub(crate) fn invoice_html(invoice: &Invoice, business: &str, billing: &BillingInfo, timezone: Tz) -> Result<String> {
    let day = |at: DateTime<Utc>| at.with_timezone(&timezone).format("%-d %B %Y").to_string();
    let span = |(start, end): (DateTime<Utc>, DateTime<Utc>)| format!("{} – {}", day(start), day(end));
    let money = |minor: i64| format_money(minor, &invoice.currency);
    let (status, status_label) = match invoice.status {
        InvoiceStatus::Draft => ("draft", "Draft"),
        InvoiceStatus::Open => ("open", "Open"),
        InvoiceStatus::Paid => ("paid", "Paid"),
        InvoiceStatus::Void => ("void", "Void"),
        InvoiceStatus::Uncollectible => ("uncollectible", "Uncollectible"),
    };
    let address = &billing.address;
    let city = [address.postal_code.as_deref(), address.city.as_deref(), address.region.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let page = Page {
        number: invoice.number.clone(),
        issuer: ISSUER,
        status,
        status_label,
        customer: Customer {
            name: billing.legal_name.clone().unwrap_or_else(|| business.to_owned()),
            email: billing.billing_email.clone(),
            tax_id: billing.tax_id.clone(),
            address: [address.line1.clone(), address.line2.clone(), Some(city), billing.country.clone()]
                .into_iter()
                .flatten()
                .filter(|l| !l.is_empty())
                .collect(),
        },
        issued: day(invoice.created_at),
        period: span((invoice.period_start, invoice.period_end)),
        paid: invoice.paid_at.map(day),
        lines: invoice
            .lines
            .iter()
            .map(|l| Line {
                description: l.description.clone(),
                period: l.period.map(span),
                quantity: l.quantity,
                unit: money(l.unit_minor),
                amount: money(l.amount_minor),
            })
            .collect(),
        subtotal: money(invoice.subtotal_minor),
        discount: (invoice.discount_minor > 0).then(|| money(invoice.discount_minor)),
        total: money(invoice.total_minor),
        amount_paid: money(invoice.amount_paid_minor),
        amount_due: money(invoice.total_minor - invoice.amount_paid_minor),
        currency: invoice.currency.clone(),
        timezone: timezone.name().to_owned(),
    };
    let mut env = Environment::new();
    let broken = |e: minijinja::Error| DomainError::Internal(format!("the invoice template: {e}"));
    env.add_template("invoice.html", TEMPLATE).map_err(broken)?;
    let page = minijinja::Value::from(minijinja::value::Serde(&page));
    env.get_template("invoice.html").and_then(|t| t.render(page)).map_err(broken)
}

impl BillingService {
    /// One of the business's invoices as an HTML document (`billing:read`).
    pub async fn invoice_document(&self, ctx: &RequestContext, id: Uuid) -> Result<String> {
        let invoice = self.invoice(ctx, id).await?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&*txn, auth.tenant_id).await?;
        let billing = info::info_of(&*txn, auth.tenant_id).await?;
        txn.commit().await?;
        invoice_html(&invoice, &tenant.name, &billing, timezone_of(&tenant)?)
    }
}
