//! Customers paying businesses for their bookings, on the business's own
//! provider account (a Stripe connected account, sent as `Stripe-Account` on
//! every call): not what the business pays the platform.
//!
//! Scheduling writes the payment row in the booking's transaction
//! (`tessera_ledger::payments`); this module talks to the provider after
//! that commits. [`BillingService::checkout_booking`] makes the provider's
//! payment with the row's id as the idempotency key (asking twice makes one)
//! and answers the client secret the customer's browser pays it with. What
//! the provider says (the checkout's answer, a webhook event, the payment
//! job asking again) is recorded by one path, which only moves a payment
//! forward, and settles the booking in the same transaction: succeeded
//! confirms it, failed or given up frees its time; each with its audit
//! record.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, DatabaseTransaction};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{BookingId, DomainError, Permission, RequestContext, Result, TenantId};
use tessera_ledger::payments::{self, BookingPayment, BookingPaymentStatus, Observed};
use tessera_ledger::refunds::{self, NewRefund, RefundKind};
use tessera_scheduling::{Booking, SchedulingService, Unpaid};
use tracing::warn;
use uuid::Uuid;

use crate::gateway::{GatewayError, GatewayResult, PaymentSpec, PaymentStatus, ProviderPayment};
use crate::model::PaymentProvider;
use crate::service::{BillingService, stamp};

/// What a customer's browser needs to pay a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingCheckout {
    /// The payment.
    pub payment: BookingPayment,
    /// What the provider's browser library pays it with (Stripe's client
    /// secret); `None` once there is nothing left to pay.
    pub client_secret: Option<String>,
}

/// The provider a payment row names (its stored name, as the enum stores it).
pub(crate) fn provider_of(name: &str) -> Result<PaymentProvider> {
    PaymentProvider::try_from_value(&name.to_owned())
        .map_err(|_| DomainError::Internal(format!("unknown payment provider {name}")))
}

/// The ledger's status of what the provider said.
fn observed(answer: &ProviderPayment) -> Observed {
    let status = match answer.status {
        PaymentStatus::Pending => BookingPaymentStatus::Pending,
        PaymentStatus::RequiresAction => BookingPaymentStatus::RequiresAction,
        PaymentStatus::Processing => BookingPaymentStatus::Processing,
        PaymentStatus::Succeeded => BookingPaymentStatus::Succeeded,
        PaymentStatus::Failed => BookingPaymentStatus::Failed,
        PaymentStatus::Canceled => BookingPaymentStatus::Canceled,
    };
    Observed { status, provider_payment_id: Some(answer.id.clone()), failure_code: answer.failure_code.clone() }
}

/// What the audit log keeps of a payment.
fn audited(payment: &BookingPayment) -> serde_json::Value {
    json!({
        "bookingId": payment.booking_id,
        "kind": format!("{:?}", payment.kind),
        "status": format!("{:?}", payment.status),
        "amountMinor": payment.amount_minor,
        "currency": payment.currency,
        "capturedMinor": payment.captured_minor,
        "refundedMinor": payment.refunded_minor,
        "failureCode": payment.failure_code,
        "provider": payment.provider,
    })
}

impl BillingService {
    /// The payments of `bookings`, which the caller read with the request's
    /// rights (`booking:read`, or `booking:read_own` for their own); every
    /// booking answered.
    pub async fn payments_of_bookings(
        &self,
        ctx: &RequestContext,
        bookings: &[BookingId],
    ) -> Result<std::collections::HashMap<BookingId, Vec<BookingPayment>>> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingRead, Permission::BookingReadOwn)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let found = payments::of_bookings(&*txn, auth.tenant_id, bookings).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Makes (once) the provider's payment for what `booking` asks, and
    /// answers what the customer's browser pays it with. `booking` is one the
    /// caller read with the request's rights; paying it needs
    /// `booking:create` or, for one's own, `booking:create_own`.
    pub async fn checkout_booking(&self, ctx: &RequestContext, booking: &Booking) -> Result<BookingCheckout> {
        self.checkout_if_due(ctx, booking)
            .await?
            .ok_or_else(|| DomainError::invalid("bookingId", "this booking has nothing to pay"))
    }

    /// [`Self::checkout_booking`], or `None` when the booking asks no
    /// payment (nothing, or only a card).
    pub async fn checkout_if_due(&self, ctx: &RequestContext, booking: &Booking) -> Result<Option<BookingCheckout>> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingCreate, Permission::BookingCreateOwn)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let payment = payments::booking_payment(&*txn, auth.tenant_id, booking.id).await?;
        txn.commit().await?;
        let Some(payment) = payment else { return Ok(None) };
        match payment.status {
            BookingPaymentStatus::Succeeded => return Ok(Some(BookingCheckout { payment, client_secret: None })),
            BookingPaymentStatus::Failed | BookingPaymentStatus::Canceled => {
                return Err(DomainError::invalid(
                    "bookingId",
                    "this booking's payment ended; try again with retryBookingPayment",
                ));
            }
            _ if !booking.awaits_payment() => {
                return Err(DomainError::invalid("bookingId", "this booking no longer waits for its payment"));
            }
            _ => {}
        }
        let gateway = self.gateway(provider_of(&payment.provider)?)?;
        let spec = spec_of(&payment, format!("{} ({})", booking.service_name, kind_label(&payment)));
        let account = Some(payment.account_id.as_str());
        // Made already: asked how it stands (Stripe keeps an idempotency key
        // for a day; a payment is paid for as long as its booking waits).
        let answer = match &payment.provider_payment_id {
            Some(theirs) => gateway.retrieve_payment(account, theirs).await,
            None => gateway.create_payment(account, &spec, &key_of(&payment)).await,
        };
        let client_secret = answer.as_ref().ok().and_then(|a| a.client_secret.clone());
        let payment = self.settle_booking_payment(auth.tenant_id, payment.id, answer, ctx.now()).await?;
        let client_secret = client_secret.filter(|_| !payment.status.is_settled());
        Ok(Some(BookingCheckout { payment, client_secret }))
    }

    /// Records what the provider answered about a booking payment, and
    /// settles its booking in the same transaction. A lost answer leaves the
    /// payment `unknown` for the payment job; a provider that could not be
    /// reached is `SERVICE_UNAVAILABLE`, changing nothing.
    pub(crate) async fn settle_booking_payment(
        &self,
        tenant_id: TenantId,
        id: Uuid,
        answer: GatewayResult<ProviderPayment>,
        now: DateTime<Utc>,
    ) -> Result<BookingPayment> {
        let now = stamp(now);
        let observed = match &answer {
            Ok(answer) => observed(answer),
            Err(GatewayError::Unknown(_)) => {
                Observed { status: BookingPaymentStatus::Unknown, provider_payment_id: None, failure_code: None }
            }
            Err(GatewayError::Declined { code }) => Observed {
                status: BookingPaymentStatus::Failed,
                provider_payment_id: None,
                failure_code: Some(code.clone()),
            },
            Err(err) => return Err(DomainError::ProviderUnavailable(err.to_string())),
        };
        let payment = self.apply_observed(tenant_id, id, &observed, now).await?;
        if let Err(GatewayError::Unknown(why)) = answer {
            return Err(DomainError::ProviderUnavailable(why));
        }
        Ok(payment)
    }

    /// Records `observed` and, if it moved the payment, settles its booking
    /// and audits the change, all in one transaction.
    pub(crate) async fn apply_observed(
        &self,
        tenant_id: TenantId,
        id: Uuid,
        observed: &Observed,
        now: DateTime<Utc>,
    ) -> Result<BookingPayment> {
        let now = stamp(now);
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        // Kept even when the status does not move (a payment just made waits
        // for its card): events and the payment job find it by this id.
        if let Some(theirs) = &observed.provider_payment_id {
            payments::remember_provider_id(&txn, tenant_id, id, theirs).await?;
        }
        let mut refund_written = false;
        let payment = match payments::record(&txn, tenant_id, id, observed, now).await? {
            Some((before, after)) => {
                refund_written = settle_booking(&txn, &after, now).await?;
                if after.status == BookingPaymentStatus::Succeeded {
                    // The business's payment volume, counted once per payment.
                    let usage = tessera_ledger::Usage {
                        metric: tessera_ledger::Metric::BookingPayments,
                        quantity: 1,
                        at: now,
                        source_kind: "booking_payment",
                        source_id: Some(id.to_string()),
                        key: format!("booking-payment:{id}"),
                    };
                    tessera_ledger::count_with(&txn, &*self.usage, tenant_id, usage).await?;
                }
                let entry = AuditEntry {
                    action: "booking_payment.changed",
                    target_type: "booking_payment",
                    target_id: id.to_string(),
                    before: Some(audited(&before)),
                    after: Some(audited(&after)),
                };
                tessera_audit::append_by_system(&txn, tenant_id, now, entry).await?;
                after
            }
            None => payments::find(&txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "payment" })?,
        };
        txn.commit().await?;
        if refund_written {
            self.send_refunds_of_booking(tenant_id, payment.booking_id, now).await;
        }
        Ok(payment)
    }

    /// Asks the provider how a booking payment stands and records it; one
    /// whose booking no longer waits (its hold ran out, or it was cancelled)
    /// and that was never paid is given up at the provider first.
    pub(crate) async fn recheck_booking_payment(
        &self,
        tenant_id: TenantId,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<BookingPayment> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let payment = payments::find(&txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "payment" })?;
        let waits = SchedulingService::awaits_payment(&txn, tenant_id, payment.booking_id).await?;
        txn.commit().await?;
        if payment.status.is_settled() {
            return Ok(payment);
        }
        if payment.kind.is_fee() {
            // Charged again under its key (made once), or asked how it stands.
            return self.charge_fee(&payment, now).await;
        }
        let gateway = self.gateway(provider_of(&payment.provider)?)?;
        let account = Some(payment.account_id.as_str());
        let Some(theirs) = payment.provider_payment_id.clone() else {
            // Never made at the provider (or its answer was lost before the
            // id was kept): asking to make it again with its key answers it.
            if !waits {
                let gave_up =
                    Observed { status: BookingPaymentStatus::Canceled, provider_payment_id: None, failure_code: None };
                return self.apply_observed(tenant_id, id, &gave_up, now).await;
            }
            let spec = spec_of(&payment, kind_label(&payment).to_owned());
            let answer = gateway.create_payment(account, &spec, &key_of(&payment)).await;
            return self.settle_booking_payment(tenant_id, id, answer, now).await;
        };
        let mut answer = gateway.retrieve_payment(account, &theirs).await;
        let open = |a: &GatewayResult<ProviderPayment>| matches!(a, Ok(p) if matches!(p.status, PaymentStatus::Pending | PaymentStatus::RequiresAction));
        if !waits && open(&answer) {
            answer = match gateway.cancel_payment(account, &theirs).await {
                // Paid meanwhile (or cancelled already): ask how it stands.
                Err(GatewayError::Invalid(_)) => gateway.retrieve_payment(account, &theirs).await,
                other => other,
            };
        }
        self.settle_booking_payment(tenant_id, id, answer, now).await
    }

    /// Applies a provider event about a booking payment: checks it names a
    /// payment of `tenant_id` at the account it came from, then asks the
    /// provider (never trusting the event's copy).
    pub(crate) async fn apply_booking_event(
        &self,
        tenant_id: TenantId,
        id: Uuid,
        (provider, account, object_id): (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let payment = payments::find(&txn, tenant_id, id).await?;
        txn.commit().await?;
        let Some(payment) = payment else { return Ok(()) };
        let ours = payment.provider == provider
            && payment.account_id == account
            && payment.provider_payment_id.as_deref().is_none_or(|theirs| theirs == object_id);
        if !ours || payment.status.is_settled() {
            return Ok(());
        }
        let gateway = self.gateway(provider_of(&payment.provider)?)?;
        let answer = match gateway.retrieve_payment(Some(account), object_id).await {
            // Not the provider's (any more): nothing to record.
            Err(GatewayError::NotFound) => return Ok(()),
            other => other,
        };
        self.settle_booking_payment(tenant_id, id, answer, now).await?;
        Ok(())
    }
}

/// The provider's payment for a payment row: our ids go with it, so its
/// events name the row.
fn spec_of(payment: &BookingPayment, description: String) -> PaymentSpec {
    PaymentSpec {
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        description,
        metadata: vec![
            ("tessera_tenant".into(), payment.tenant_id.to_string()),
            ("tessera_booking".into(), payment.booking_id.to_string()),
            ("tessera_payment".into(), payment.id.to_string()),
        ],
    }
}

/// The idempotency key of a payment row's provider payment.
pub(crate) fn key_of(payment: &BookingPayment) -> String {
    format!("booking-payment-{}", payment.id)
}

pub(crate) fn kind_label(payment: &BookingPayment) -> &'static str {
    match payment.kind {
        payments::BookingPaymentKind::Deposit => "deposit",
        payments::BookingPaymentKind::Prepayment => "prepayment",
        payments::BookingPaymentKind::NoShowFee => "no-show fee",
        payments::BookingPaymentKind::LateCancellationFee => "late cancellation fee",
    }
}

/// What a settled booking payment does to its booking, in the transaction
/// that recorded it; true when it wrote a refund (of a payment the booking no
/// longer wanted), for the caller to send after the commit.
async fn settle_booking(txn: &DatabaseTransaction, payment: &BookingPayment, now: DateTime<Utc>) -> Result<bool> {
    let (tenant_id, booking) = (payment.tenant_id, payment.booking_id);
    if payment.kind.is_fee() {
        // A fee changes nothing of its booking: its customer hears of it.
        if payment.status == BookingPaymentStatus::Succeeded {
            let fee = (payment.kind, payment.captured_minor);
            SchedulingService::tell_fee_charged(txn, tenant_id, booking, fee, now).await?;
        }
        return Ok(false);
    }
    match payment.status {
        // Paid after the booking stopped waiting (its hold ran out and the
        // slot was taken, or it was cancelled): given back whole; the
        // provider is asked after the commit.
        BookingPaymentStatus::Succeeded
            if SchedulingService::confirm_paid(txn, tenant_id, booking, now).await?.is_none() =>
        {
            warn!(%tenant_id, payment = %payment.id, "a payment came after its booking stopped waiting: refunded");
            let reason = "Paid after the booking was no longer held for this payment".to_owned();
            let new = NewRefund {
                payment_id: payment.id,
                kind: RefundKind::UnwantedPayment,
                amount_minor: payment.captured_minor,
                reason: Some(reason),
                created_by: None,
            };
            refunds::open(txn, tenant_id, new, now).await?;
            return Ok(true);
        }
        BookingPaymentStatus::Failed => {
            SchedulingService::release_unpaid(txn, tenant_id, booking, Unpaid::Failed, now).await?;
        }
        BookingPaymentStatus::Canceled => {
            SchedulingService::release_unpaid(txn, tenant_id, booking, Unpaid::Expired, now).await?;
        }
        _ => {}
    }
    Ok(false)
}
