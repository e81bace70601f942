//! Charging the fee of a no-show or a late cancellation to the customer's
//! kept card, off-session, after the transaction that wrote it (scheduling
//! writes it as a payment of the booking). The charge is keyed by the
//! payment's id, so charging twice (a repeated call, the payment job) moves
//! money once; what the provider answers is recorded by the same forward-only
//! path as every booking payment, and the customer hears of a fee charged.

use chrono::{DateTime, Utc};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{BookingId, DomainError, Result, TenantId};
use tessera_ledger::cards::{self, CardStatus};
use tessera_ledger::payments::{self, BookingPayment, BookingPaymentStatus, Observed};
use tracing::warn;

use crate::booking_payments::{key_of, kind_label, provider_of};
use crate::gateway::ChargeSpec;
use crate::service::BillingService;

impl BillingService {
    /// Charges the fees of `booking` not yet charged (after the transaction
    /// that wrote them). A provider that is down leaves them to the payment
    /// job.
    pub async fn charge_booking_fees(&self, tenant_id: TenantId, booking: BookingId, now: DateTime<Utc>) {
        let open = async {
            let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
            let found = payments::of_bookings(&txn, tenant_id, &[booking]).await?;
            txn.commit().await?;
            Ok::<_, DomainError>(found.into_values().flatten().filter(|p| p.kind.is_fee() && !p.status.is_settled()))
        };
        match open.await {
            Ok(fees) => {
                for fee in fees {
                    if let Err(err) = self.charge_fee(&fee, now).await {
                        warn!(%tenant_id, payment = %fee.id, error = %err, "charging a fee is left to the payment job");
                    }
                }
            }
            Err(err) => warn!(%tenant_id, %booking, error = %err, "charging fees is left to the payment job"),
        }
    }

    /// Charges a fee to its customer's card kept at the payment's account,
    /// under the payment's key, and records the answer. A customer with no
    /// card kept there (removed meanwhile) fails the fee.
    pub(crate) async fn charge_fee(&self, fee: &BookingPayment, now: DateTime<Utc>) -> Result<BookingPayment> {
        let tenant_id = fee.tenant_id;
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let card = cards::card_at(&txn, tenant_id, fee.customer_id, (&fee.provider, &fee.account_id)).await?;
        txn.commit().await?;
        let kept = card.filter(|c| c.status == CardStatus::Kept);
        let (Some(customer), Some(method)) = (
            kept.as_ref().and_then(|c| c.provider_customer_id.clone()),
            kept.as_ref().and_then(|c| c.payment_method_id.clone()),
        ) else {
            let failed = Observed {
                status: BookingPaymentStatus::Failed,
                provider_payment_id: None,
                failure_code: Some("no_kept_card".into()),
            };
            return self.apply_observed(tenant_id, fee.id, &failed, now).await;
        };
        let gateway = self.gateway(provider_of(&fee.provider)?)?;
        let spec = ChargeSpec {
            customer,
            payment_method: method,
            amount_minor: fee.amount_minor,
            currency: fee.currency.clone(),
            description: kind_label(fee).to_owned(),
            metadata: vec![
                ("tessera_tenant".into(), tenant_id.to_string()),
                ("tessera_booking".into(), fee.booking_id.to_string()),
                ("tessera_payment".into(), fee.id.to_string()),
            ],
        };
        let answer = gateway.charge(Some(fee.account_id.as_str()), &spec, &key_of(fee)).await;
        self.settle_booking_payment(tenant_id, fee.id, answer, now).await
    }
}
