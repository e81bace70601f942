//! Collecting invoices from the business's default card.
//!
//! A payment row is written and committed first; its id is the idempotency
//! key of the provider call, made outside any transaction; the outcome is
//! recorded in a transaction of its own, under the business's billing lock,
//! after reading the row again (whoever records first wins; a second record
//! of a settled payment changes nothing). At most one payment per invoice is
//! in flight (a partial unique index). A lost answer leaves the payment
//! `unknown`; the job asks again with the same key, so the provider answers
//! what it did instead of charging twice. A provider that cannot be reached
//! is no decline: the invoice is tried again a minute later, and the try does
//! not count. What a payment or a decline does next is `dunning.rs`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId};
use tracing::warn;
use uuid::Uuid;

use crate::entity::{invoice, invoice_payment, payment_customer, payment_method};
use crate::gateway::{ChargeSpec, GatewayError, GatewayResult, PaymentStatus, ProviderPayment};
use crate::methods::default_method;
use crate::model::{Invoice, InvoiceReason, InvoiceStatus, PaymentState};
use crate::service::{BillingService, lock_billing, stamp};

/// What one attempt to collect an invoice came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// Paid in full.
    Paid,
    /// Declined, with the provider's code.
    Declined(String),
    /// Accepted by the provider, the outcome to come.
    Pending,
    /// The provider's answer was lost; it is asked again later.
    Unknown,
    /// The business keeps no card.
    NoCard,
    /// Another attempt is in flight.
    InFlight,
    /// The provider could not be reached; nothing was charged.
    Unavailable,
}

/// How soon an invoice is tried again after the provider could not be reached.
pub(crate) const OUTAGE_RETRY: Duration = Duration::minutes(1);

/// The idempotency key of a payment's provider call.
pub(crate) fn payment_key(id: Uuid) -> String {
    format!("invoice-payment:{id}")
}

/// The business's retry schedule: days after the invoice fell due.
pub(crate) fn retry_days(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|d| d.trim().parse().ok()).filter(|d| (1..=60).contains(d)).collect()
}

impl BillingService {
    /// Pays an open invoice now with the business's default card
    /// (`billing:manage`). Not an automatic try: it does not count against
    /// the retry schedule.
    pub async fn pay_invoice(&self, ctx: &RequestContext, id: Uuid) -> Result<Invoice> {
        let auth = ctx.authorize(Permission::BillingManage)?;
        match self.collect(auth.tenant_id, id, false, Some(ctx), stamp(ctx.now())).await? {
            Collected::Paid | Collected::Pending => {}
            Collected::Declined(code) => return Err(DomainError::PaymentDeclined { code }),
            Collected::NoCard => return Err(DomainError::Conflict("keep a card first: setupPaymentMethod".into())),
            Collected::InFlight | Collected::Unknown => {
                return Err(DomainError::Conflict(
                    "a payment of this invoice is in progress; look again shortly".into(),
                ));
            }
            Collected::Unavailable => {
                return Err(DomainError::ProviderUnavailable("the provider did not take the payment".into()));
            }
        }
        self.invoice(ctx, id).await
    }

    /// A write transaction for `tenant_id`: in the request's scope when a
    /// person acts, else the job's.
    pub(crate) async fn begin_write(
        &self,
        tenant_id: TenantId,
        by: Option<&RequestContext>,
    ) -> Result<DatabaseTransaction> {
        let scope = match by {
            Some(ctx) => Scope::Tenant { tenant_id, user_id: ctx.actor().map(|a| a.user_id) },
            None => Scope::Maintenance,
        };
        Ok(self.db.begin(scope, Access::Write).await?)
    }

    /// Tries to collect `invoice_id` from the business's default card.
    pub(crate) async fn collect(
        &self,
        tenant_id: TenantId,
        invoice_id: Uuid,
        automatic: bool,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<Collected> {
        let (payment, spec) = match self.open_payment(tenant_id, invoice_id, automatic, by, now).await? {
            Ok(opened) => opened,
            Err(outcome) => return Ok(outcome),
        };
        let gateway = self.gateway(payment.provider)?;
        let outcome = gateway.charge(None, &spec, &payment_key(payment.id)).await;
        self.settle_payment(tenant_id, payment.id, outcome, by, now).await
    }

    /// Asks the provider again, with the same key, about a payment whose
    /// answer was lost (the janitor).
    pub(crate) async fn resolve_unknown(
        &self,
        payment: invoice_payment::Model,
        now: DateTime<Utc>,
    ) -> Result<Collected> {
        let spec = {
            let txn = self.begin_write(payment.tenant_id, None).await?;
            let invoice = invoice::Entity::find_by_id((payment.tenant_id, payment.invoice_id))
                .one(&txn)
                .await?
                .ok_or(DomainError::NotFound { entity: "invoice" })?;
            let spec = charge_spec(&txn, &payment, &invoice).await?;
            txn.commit().await?;
            spec
        };
        let gateway = self.gateway(payment.provider)?;
        let outcome = gateway.charge(None, &spec, &payment_key(payment.id)).await;
        self.settle_payment(payment.tenant_id, payment.id, outcome, None, now).await
    }

    /// Writes the payment row (the idempotency key) before the provider is
    /// called; `Err` with the outcome when there is nothing to call.
    async fn open_payment(
        &self,
        tenant_id: TenantId,
        invoice_id: Uuid,
        automatic: bool,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(invoice_payment::Model, ChargeSpec), Collected>> {
        let txn = self.begin_write(tenant_id, by).await?;
        lock_billing(&txn, tenant_id).await?;
        let invoice = invoice::Entity::find_by_id((tenant_id, invoice_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "invoice" })?;
        if invoice.status != InvoiceStatus::Open {
            return Err(DomainError::Conflict(format!("the invoice is {:?}, not open", invoice.status).to_lowercase()));
        }
        let in_flight = invoice_payment::Entity::find()
            .filter(invoice_payment::Column::TenantId.eq(tenant_id))
            .filter(invoice_payment::Column::InvoiceId.eq(invoice_id))
            .filter(invoice_payment::Column::Status.is_in([PaymentState::Pending, PaymentState::Unknown]))
            .one(&txn)
            .await?;
        if in_flight.is_some() {
            txn.commit().await?;
            return Ok(Err(Collected::InFlight));
        }
        let amount = invoice.total_minor - invoice.amount_paid_minor;
        if amount <= 0 {
            self.invoice_paid(&txn, invoice, 0, by, now).await?;
            txn.commit().await?;
            return Ok(Err(Collected::Paid));
        }
        let Some((method, _)) = default_method(&txn, tenant_id).await? else {
            txn.commit().await?;
            return Ok(Err(Collected::NoCard));
        };
        let payment = invoice_payment::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(Uuid::now_v7()),
            invoice_id: Set(invoice_id),
            payment_method_id: Set(method.id),
            provider: Set(method.provider),
            provider_payment_id: Set(None),
            amount_minor: Set(amount),
            currency: Set(invoice.currency.clone()),
            status: Set(PaymentState::Pending),
            failure_code: Set(None),
            automatic: Set(automatic),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "a payment of this invoice is in progress"))?;
        let spec = charge_spec(&txn, &payment, &invoice).await?;
        txn.commit().await?;
        Ok(Ok((payment, spec)))
    }

    /// Records what the provider said about a payment, and what follows.
    pub(crate) async fn settle_payment(
        &self,
        tenant_id: TenantId,
        payment_id: Uuid,
        outcome: GatewayResult<ProviderPayment>,
        by: Option<&RequestContext>,
        now: DateTime<Utc>,
    ) -> Result<Collected> {
        let txn = self.begin_write(tenant_id, by).await?;
        lock_billing(&txn, tenant_id).await?;
        let payment = invoice_payment::Entity::find_by_id((tenant_id, payment_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "payment" })?;
        if !matches!(payment.status, PaymentState::Pending | PaymentState::Unknown) {
            txn.commit().await?;
            return Ok(settled(&payment));
        }
        let invoice = invoice::Entity::find_by_id((tenant_id, payment.invoice_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "invoice" })?;
        let automatic = payment.automatic;
        let amount = payment.amount_minor;
        let mut row: invoice_payment::ActiveModel = payment.into();
        row.updated_at = Set(now);
        let failed = |row: &mut invoice_payment::ActiveModel, code: &str| {
            row.status = Set(PaymentState::Failed);
            row.failure_code = Set(Some(code.to_owned()));
        };
        let collected = match outcome {
            Ok(paid) => {
                row.provider_payment_id = Set(Some(paid.id.clone()));
                match paid.status {
                    PaymentStatus::Succeeded => {
                        row.status = Set(PaymentState::Succeeded);
                        Collected::Paid
                    }
                    PaymentStatus::Failed | PaymentStatus::Canceled => {
                        let code = paid.failure_code.unwrap_or_else(|| "card_declined".into());
                        failed(&mut row, &code);
                        Collected::Declined(code)
                    }
                    _ => Collected::Pending,
                }
            }
            Err(GatewayError::Declined { code }) => {
                failed(&mut row, &code);
                Collected::Declined(code)
            }
            Err(GatewayError::RequiresAction) => {
                failed(&mut row, "authentication_required");
                Collected::Declined("authentication_required".into())
            }
            Err(GatewayError::Unknown(why)) => {
                warn!(%tenant_id, payment = %payment_id, %why, "a payment's outcome is unknown; it is asked again later");
                row.status = Set(PaymentState::Unknown);
                Collected::Unknown
            }
            Err(err) => {
                // Nothing was charged: not a try of the schedule.
                warn!(%tenant_id, payment = %payment_id, error = %err, "the provider did not take a payment");
                failed(&mut row, "provider_unavailable");
                Collected::Unavailable
            }
        };
        row.update(&txn).await?;
        match &collected {
            Collected::Paid => self.invoice_paid(&txn, invoice, amount, by, now).await?,
            Collected::Declined(code) => self.invoice_failed(&txn, invoice, automatic, code, by, now).await?,
            Collected::Unavailable if invoice.reason == InvoiceReason::Change => {
                self.undo_change(&txn, invoice, "provider_unavailable", by, now).await?;
            }
            Collected::Unavailable => {
                let mut retry: invoice::ActiveModel = invoice.into();
                retry.next_attempt_at = Set(Some(now + OUTAGE_RETRY));
                retry.updated_at = Set(now);
                retry.update(&txn).await?;
            }
            _ => {}
        }
        txn.commit().await?;
        Ok(collected)
    }
}

/// What a payment already settled came to.
fn settled(payment: &invoice_payment::Model) -> Collected {
    match payment.status {
        PaymentState::Succeeded => Collected::Paid,
        PaymentState::Failed => Collected::Declined(payment.failure_code.clone().unwrap_or_default()),
        PaymentState::Pending => Collected::Pending,
        PaymentState::Unknown => Collected::Unknown,
    }
}

/// The provider call a payment makes: the card it was written with, even if
/// the business removed it since (the same key must carry the same request).
async fn charge_spec(
    txn: &DatabaseTransaction,
    payment: &invoice_payment::Model,
    invoice: &invoice::Model,
) -> Result<ChargeSpec> {
    let method = payment_method::Entity::find_by_id((payment.tenant_id, payment.payment_method_id))
        .one(txn)
        .await?
        .ok_or(DomainError::NotFound { entity: "payment method" })?;
    let customer = payment_customer::Entity::find_by_id((payment.tenant_id, method.payment_customer_id))
        .one(txn)
        .await?
        .ok_or(DomainError::NotFound { entity: "payment customer" })?;
    Ok(ChargeSpec {
        customer: customer.provider_customer_id,
        payment_method: method.provider_method_id,
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        description: format!("Invoice {}", invoice.number),
        metadata: vec![
            ("tessera_tenant".into(), payment.tenant_id.to_string()),
            ("tessera_invoice".into(), invoice.id.to_string()),
            ("tessera_payment".into(), payment.id.to_string()),
        ],
    })
}
