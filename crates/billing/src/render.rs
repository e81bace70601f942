//! An invoice as a page a person reads and prints: one self-contained HTML
//! document (its styles inline, nothing fetched), with every value escaped
//! (the template's name ends in `.html`, so minijinja escapes what it
//! prints), amounts formatted in the invoice's currency and dates in the
//! business's timezone. The rendering writes into a capped buffer and runs
//! on fuel, so no invoice page grows past [`MAX_INVOICE_BYTES`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::Environment;
use serde::Serialize;
use tessera_kernel::capped::CappedWriter;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result};
use uuid::Uuid;

use crate::info;
use crate::model::{BillingInfo, Invoice, InvoiceStatus};
use crate::money::format_money;
use crate::service::{BillingService, timezone_of};

const TEMPLATE: &str = include_str!("../templates/invoice.html");

/// The most an invoice page may take: far above a real one (a plan, a
/// credit and a few discounts), and the limit a rendering is stopped at.
const MAX_INVOICE_BYTES: usize = 256 * 1024;

/// The most template instructions one rendering may run.
const FUEL: u64 = 200_000;

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
    render(&page, MAX_INVOICE_BYTES)
}

/// The page rendered into at most `cap` bytes; refused past it (an invoice is
/// never cut), and stopped by fuel should the template ever loop.
fn render(page: &Page, cap: usize) -> Result<String> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    let broken = |e: minijinja::Error| DomainError::Internal(format!("the invoice template: {e}"));
    env.add_template("invoice.html", TEMPLATE).map_err(broken)?;
    let mut out = CappedWriter::new(cap);
    let rendered = env
        .get_template("invoice.html")
        .and_then(|t| t.render_captured_to(minijinja::Value::from(minijinja::value::Serde(page)), &mut out).map(drop));
    if out.overflowed() {
        return Err(DomainError::Internal(format!("an invoice page is longer than {cap} bytes")));
    }
    rendered.map_err(broken)?;
    String::from_utf8(out.bytes().to_vec()).map_err(|_| DomainError::Internal("an invoice page is not UTF-8".into()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, InvoiceLine, InvoiceReason, LineKind, PaymentProvider};

    fn invoice(lines: usize) -> Invoice {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let line = InvoiceLine {
            kind: LineKind::Plan,
            description: "A plan with a long name ".repeat(8),
            quantity: 1,
            unit_minor: 100,
            amount_minor: 100,
            period: Some((at, at)),
        };
        Invoice {
            id: Uuid::nil(),
            number: "INV-000001".into(),
            subscription_id: tessera_kernel::SubscriptionId(Uuid::nil()),
            reason: InvoiceReason::Renewal,
            period_start: at,
            period_end: at,
            status: InvoiceStatus::Open,
            currency: "USD".into(),
            subtotal_minor: 100,
            discount_minor: 0,
            total_minor: 100,
            amount_paid_minor: 0,
            attempts: 0,
            next_attempt_at: None,
            due_at: at,
            paid_at: None,
            created_at: at,
            lines: vec![line; lines],
        }
    }

    fn billing() -> BillingInfo {
        BillingInfo {
            tenant_id: tessera_kernel::TenantId(Uuid::nil()),
            legal_name: None,
            billing_email: None,
            tax_id: None,
            country: None,
            address: Address::default(),
            currency: "USD".into(),
            preferred_provider: PaymentProvider::Stripe,
            trial_used_at: None,
            retry_days: Vec::new(),
            cancel_when_retries_fail: false,
            updated_at: None,
        }
    }

    #[test]
    fn a_page_past_its_limit_is_refused_while_it_is_rendered() {
        let page = invoice_html(&invoice(3), "Salon", &billing(), Tz::UTC);
        assert!(page.is_ok_and(|p| p.contains("INV-000001")));
        let huge = invoice_html(&invoice(2_000), "Salon", &billing(), Tz::UTC);
        assert!(matches!(huge, Err(DomainError::Internal(why)) if why.contains("longer than")));
    }
}
