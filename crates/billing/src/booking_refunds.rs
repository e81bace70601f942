//! Giving customers' money back: refunds by the cancellation policy
//! (written by scheduling in the cancelling transaction), by hand with a
//! reason (`payment:refund`), and of a payment that came after its booking
//! stopped waiting for it. The refund row is written first, under the
//! payment's lock, and the database refuses any refunded total above what
//! was captured (`tessera_ledger::refunds`); the provider is asked after the
//! commit, with the row's id as the idempotency key. What it says moves the
//! refund forward only; a refund that failed gives its amount back to what
//! is refundable. Every change is audited.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{BookingId, DomainError, Permission, RequestContext, Result, TenantId};
use tessera_ledger::payments;
use tessera_ledger::refunds::{self, BookingRefund, NewRefund, RefundKind, RefundObserved, RefundStatus};
use tracing::warn;
use uuid::Uuid;

use crate::booking_payments::provider_of;
use crate::gateway::{self, GatewayError};
use crate::service::{BillingService, stamp};

/// What the audit log keeps of a refund.
fn audited(refund: &BookingRefund) -> serde_json::Value {
    json!({
        "paymentId": refund.payment_id,
        "bookingId": refund.booking_id,
        "kind": format!("{:?}", refund.kind),
        "status": format!("{:?}", refund.status),
        "amountMinor": refund.amount_minor,
        "currency": refund.currency,
        "reason": refund.reason,
        "failureCode": refund.failure_code,
    })
}

/// The ledger's words for what the provider answered.
fn observed(answer: &gateway::GatewayResult<gateway::ProviderRefund>) -> Option<RefundObserved> {
    let (status, id, code) = match answer {
        Ok(refund) => {
            let status = match refund.status {
                gateway::RefundStatus::Pending => RefundStatus::Pending,
                gateway::RefundStatus::Succeeded => RefundStatus::Succeeded,
                gateway::RefundStatus::Failed => RefundStatus::Failed,
                gateway::RefundStatus::Canceled => RefundStatus::Canceled,
            };
            (status, Some(refund.id.clone()), None)
        }
        // Sent, the answer lost: asked again with the same key.
        Err(GatewayError::Unknown(_)) => (RefundStatus::Unknown, None, None),
        // Not sent: tried again as it is.
        Err(GatewayError::Transient(_) | GatewayError::RateLimited) => return None,
        Err(GatewayError::Declined { code }) => (RefundStatus::Failed, None, Some(code.clone())),
        Err(other) => (RefundStatus::Failed, None, Some(other.to_string())),
    };
    Some(RefundObserved { status, provider_refund_id: id, failure_code: code })
}

impl BillingService {
    /// Gives back `amount_minor` of a booking payment by hand, with a reason
    /// (`payment:refund`); audited. `BAD_USER_INPUT` beyond what is left to
    /// refund (two at once get what is left once: the payment's lock, and
    /// the database's check behind it). Answers the refund once the provider
    /// was asked.
    pub async fn refund_booking_payment(
        &self,
        ctx: &RequestContext,
        payment_id: Uuid,
        amount_minor: i64,
        reason: &str,
    ) -> Result<BookingRefund> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(DomainError::invalid("reason", "must be 1 to 500 characters"));
        }
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentRefund, Access::Write).await?;
        if payments::find(&*txn, auth.tenant_id, payment_id).await?.is_none() {
            return Err(DomainError::NotFound { entity: "payment" });
        }
        let by = ctx.actor().map(|a| a.user_id);
        let new = NewRefund {
            payment_id,
            kind: RefundKind::Manual,
            amount_minor,
            reason: Some(reason.into()),
            created_by: by,
        };
        let refund = refunds::open(&txn, auth.tenant_id, new, ctx.now()).await?;
        let entry = AuditEntry {
            action: "booking_refund.opened",
            target_type: "booking_refund",
            target_id: refund.id.to_string(),
            before: None,
            after: Some(audited(&refund)),
        };
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        self.send_refund(auth.tenant_id, refund.id, ctx.now()).await
    }

    /// What follows a booking's cancellation at the provider, after its
    /// transaction: its policy refund is sent, a late cancellation's fee is
    /// charged, and a payment it was still waiting for is given up (so the
    /// customer cannot pay it after). A provider that is down leaves them to
    /// the payment job.
    pub async fn after_cancel(&self, tenant_id: TenantId, booking_id: BookingId, now: DateTime<Utc>) {
        self.send_refunds_of_booking(tenant_id, booking_id, now).await;
        self.charge_booking_fees(tenant_id, booking_id, now).await;
        let open = async {
            let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
            let payment = payments::booking_payment(&txn, tenant_id, booking_id).await?;
            txn.commit().await?;
            Ok::<_, DomainError>(payment.filter(|p| !p.status.is_settled()))
        };
        match open.await {
            Ok(Some(payment)) => {
                if let Err(err) = self.recheck_booking_payment(tenant_id, payment.id, now).await {
                    warn!(%tenant_id, payment = %payment.id, error = %err, "giving up a payment is left to the payment job");
                }
            }
            Ok(None) => {}
            Err(err) => warn!(%tenant_id, %booking_id, error = %err, "giving up a payment is left to the payment job"),
        }
    }

    /// Asks the provider for the refunds of a booking not settled yet (the
    /// one its cancellation wrote), after the transaction that wrote them.
    /// A provider that is down leaves them for the payment job.
    pub async fn send_refunds_of_booking(&self, tenant_id: TenantId, booking_id: BookingId, now: DateTime<Utc>) {
        let pending = async {
            let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
            let ids = refunds::unsettled_of_booking(&txn, tenant_id, booking_id).await?;
            txn.commit().await?;
            Ok::<_, DomainError>(ids)
        };
        let ids = match pending.await {
            Ok(ids) => ids,
            Err(err) => return warn!(%tenant_id, %booking_id, error = %err, "refunds are left to the payment job"),
        };
        for id in ids {
            if let Err(err) = self.send_refund(tenant_id, id, now).await {
                warn!(%tenant_id, refund = %id, error = %err, "a refund is left to the payment job");
            }
        }
    }

    /// The refunds of `payments_of`, which the caller read with the request's
    /// rights; every payment answered.
    pub async fn refunds_of_payments(
        &self,
        ctx: &RequestContext,
        payments_of: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<BookingRefund>>> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingRead, Permission::BookingReadOwn)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let found = refunds::of_payments(&*txn, auth.tenant_id, payments_of).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Asks the provider to give a refund back (or, once asked, how it
    /// stands) and records what it says.
    pub(crate) async fn send_refund(&self, tenant_id: TenantId, id: Uuid, now: DateTime<Utc>) -> Result<BookingRefund> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let refund = refunds::find(&txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "refund" })?;
        let payment = payments::find(&txn, tenant_id, refund.payment_id)
            .await?
            .ok_or(DomainError::NotFound { entity: "payment" })?;
        txn.commit().await?;
        if refund.status.is_settled() {
            return Ok(refund);
        }
        let gateway = self.gateway(provider_of(&payment.provider)?)?;
        let account = Some(payment.account_id.as_str());
        let answer = match (&refund.provider_refund_id, &payment.provider_payment_id) {
            (Some(theirs), _) => gateway.retrieve_refund(account, theirs).await,
            (None, Some(paid)) => {
                gateway.refund(account, paid, refund.amount_minor, &format!("booking-refund-{id}")).await
            }
            (None, None) => Err(GatewayError::Invalid("the payment was never made at the provider".into())),
        };
        let Some(observed) = observed(&answer) else {
            return Err(DomainError::ProviderUnavailable("the provider could not be reached".into()));
        };
        let now = stamp(now);
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        if let Some(theirs) = &observed.provider_refund_id {
            refunds::remember_provider_id(&txn, tenant_id, id, theirs).await?;
        }
        let refund = match refunds::record(&txn, tenant_id, id, &observed, now).await? {
            Some((before, after)) => {
                let entry = AuditEntry {
                    action: "booking_refund.changed",
                    target_type: "booking_refund",
                    target_id: id.to_string(),
                    before: Some(audited(&before)),
                    after: Some(audited(&after)),
                };
                tessera_audit::append_by_system(&txn, tenant_id, now, entry).await?;
                after
            }
            None => refunds::find(&txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "refund" })?,
        };
        txn.commit().await?;
        Ok(refund)
    }
}
