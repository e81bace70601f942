//! Cards kept at booking, and the fees charged to them.
//!
//! When the business's terms (or the service's) keep a card, a booking
//! records the fees its customer agreed to (`bookings.card_fees`: a later
//! change of the terms does not change them) and, if the customer has no
//! card kept at the business's payment account yet, asks for one
//! (`tessera_ledger::cards`) and waits for it as it waits for a payment:
//! holding its time until `payment_due_by`, freed if the card does not come.
//! Billing keeps the card at the provider after the commit; the card kept
//! confirms every booking of the customer that waited only for it
//! ([`SchedulingService::confirm_card_kept`]).
//!
//! Marking a no-show, or the customer's own cancellation inside the agreed
//! hours, writes the fee as a payment of the booking in that transaction
//! ([`charge_fee`]); billing charges the kept card after the commit, keyed by
//! the payment's id. The database keeps one open payment of each kind per
//! booking, so a repeated or parallel request writes (and charges) one fee.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_kernel::{BookingId, CustomerId, DomainError, Result, TenantId};
use tessera_ledger::CardFees;
use tessera_ledger::cards::{self, CardStatus};
use tessera_ledger::payments::{self, BookingPaymentKind, BookingPaymentStatus, PaymentAccount};
use tessera_notify::{NewNotification, Topic};

use crate::entity::booking;
use crate::model::{Booking, BookingStatus};
use crate::payment_holds::confirm;
use crate::service::SchedulingService;

/// What a fee is charged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeeFor {
    /// The customer did not come.
    NoShow,
    /// The customer cancelled inside the agreed hours.
    LateCancellation,
}

/// Whether the customer has a card kept at `account`.
pub(crate) async fn card_kept(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    customer_id: CustomerId,
    account: &PaymentAccount,
) -> Result<bool> {
    let at = (account.provider.as_str(), account.account_id.as_str());
    let card = cards::card_at(txn, tenant_id, customer_id, at).await?;
    Ok(card.is_some_and(|c| c.status == CardStatus::Kept))
}

/// Whether the booking's customer has a card kept at the business's payment
/// account now.
pub(crate) async fn card_kept_for(txn: &DatabaseTransaction, row: &booking::Model) -> Result<bool> {
    let Some(account) = payments::account_of(txn, row.tenant_id).await? else { return Ok(false) };
    card_kept(txn, row.tenant_id, row.customer_id, &account).await
}

/// Writes the fee the booking's customer agreed to for `fee`, as a payment
/// of the booking, in the caller's transaction: nothing when the booking
/// agreed to none, the cancellation is not late, or no card is kept at the
/// business's payment account. A second fee of a kind while the first is
/// open is a `CONFLICT` (the database's rule): it is charged once.
pub(crate) async fn charge_fee(
    txn: &DatabaseTransaction,
    row: &booking::Model,
    fee: FeeFor,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let Some(fees) = row.card_fees.as_deref().map(CardFees::from_json).transpose()? else { return Ok(None) };
    let (kind, amount) = match fee {
        FeeFor::NoShow => (BookingPaymentKind::NoShowFee, Some(fees.no_show_fee_minor).filter(|f| *f > 0)),
        FeeFor::LateCancellation => {
            (BookingPaymentKind::LateCancellationFee, fees.late_cancellation_fee(row.starts_at - now))
        }
    };
    let Some(amount_minor) = amount else { return Ok(None) };
    let Some(account) = payments::account_of(txn, row.tenant_id).await? else { return Ok(None) };
    if !card_kept(txn, row.tenant_id, row.customer_id, &account).await? {
        return Ok(None);
    }
    let new = crate::payment_holds::asked(row, kind, amount_minor);
    payments::open(txn, row.tenant_id, &account, new, now).await.map_err(|err| match err {
        DomainError::Conflict(_) => DomainError::Conflict("this booking's fee was charged already".into()),
        other => other,
    })?;
    Ok(Some(amount_minor))
}

impl SchedulingService {
    /// Confirms, in the caller's transaction, every booking of the customer
    /// that waits for a card (and for no unpaid payment) now that one is
    /// kept; returns them. A booking whose hold ran out is not confirmed.
    pub async fn confirm_card_kept(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        customer_id: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>> {
        let waiting = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(tenant_id))
            .filter(booking::Column::CustomerId.eq(customer_id))
            .filter(booking::Column::Status.eq(BookingStatus::Scheduled))
            .filter(booking::Column::PaymentDueBy.gt(now))
            .filter(booking::Column::CardFees.is_not_null())
            .all(txn)
            .await?;
        let mut confirmed = Vec::new();
        for row in waiting {
            let payment = payments::booking_payment(txn, tenant_id, row.id).await?;
            if payment.is_some_and(|p| p.status != BookingPaymentStatus::Succeeded) {
                continue;
            }
            confirmed.push(confirm(txn, row, json!({ "cardKept": true }), now).await?);
        }
        Ok(confirmed)
    }

    /// The booking's customer, for billing to name at the provider: their
    /// name and email.
    pub async fn customer_of_booking(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
    ) -> Result<(CustomerId, String, Option<String>)> {
        let row = Self::booking_for_update(txn, tenant_id, id).await?;
        let customer = crate::entity::customer::Entity::find_by_id((tenant_id, row.customer_id))
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "customer" })?;
        Ok((customer.id, customer.name, customer.email))
    }

    /// Tells the booking's customer, in the caller's transaction, that a fee
    /// (`kind`, of `amount_minor`) was charged to their kept card.
    pub async fn tell_fee_charged(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
        (kind, amount_minor): (BookingPaymentKind, i64),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = Self::booking_for_update(txn, tenant_id, id).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        let (customer, mut variables) = crate::notices::booking_variables(txn, &tenant, &row).await?;
        let Some(customer) = customer else { return Ok(()) };
        variables["fee"] = json!(match kind {
            BookingPaymentKind::LateCancellationFee => "late_cancellation",
            _ => "no_show",
        });
        variables["amount"] = json!(crate::notices::money(amount_minor, &row.currency));
        let notice = NewNotification {
            topic: Topic::BookingFeeCharged,
            priority: None,
            recipient: crate::notices::recipient(&customer),
            variables,
            subject: Some(("booking", row.id.to_string())),
            not_before: None,
            dedupe_key: None,
            sent_by: None,
            calendar: None,
        };
        let language = crate::notices::language_of(&tenant, &customer);
        tessera_notify::queue_all(txn, tenant_id, language, now, vec![notice]).await?;
        Ok(())
    }
}
