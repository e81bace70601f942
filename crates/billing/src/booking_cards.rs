//! Customers keeping a card at the business's payment account, for the fees
//! of a no-show or a late cancellation. Scheduling asks for the card in the
//! booking's transaction (`tessera_ledger::cards`); this module talks to the
//! provider after that commits, on the business's account:
//! [`BillingService::keep_booking_card`] makes (once, keyed by the card's
//! row) the customer there and a setup the browser confirms with its client
//! secret; [`BillingService::confirm_booking_card`] asks the provider how the
//! setup went and keeps the brand and last four digits, confirming in the
//! same transaction every booking of the customer that waited for the card.

use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId};
use tessera_ledger::cards::{self, CardStatus, CustomerCard, KeptCard};
use tessera_ledger::payments;
use tessera_scheduling::{Booking, SchedulingService};

use crate::booking_payments::provider_of;
use crate::gateway::{CustomerSpec, GatewayError, PaymentGateway, SetupIntent, SetupStatus};
use crate::methods::gateway_error;
use crate::service::{BillingService, stamp};

/// What a customer's browser needs to give a booking's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingCardSetup {
    /// The card, asked for or kept.
    pub card: CustomerCard,
    /// The provider's setup.
    pub setup_intent_id: Option<String>,
    /// What the provider's browser library confirms the setup with (Stripe's
    /// client secret); `None` once the card is kept.
    pub client_secret: Option<String>,
}

fn no_card() -> DomainError {
    DomainError::invalid("bookingId", "this booking keeps no card")
}

impl BillingService {
    /// The card `booking` (read with the request's rights) asks its customer
    /// to keep, at the business's payment account.
    async fn card_of_booking(&self, ctx: &RequestContext, booking: &Booking) -> Result<(TenantId, CustomerCard)> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingCreate, Permission::BookingCreateOwn)?;
        if booking.card_fees.is_none() {
            return Err(no_card());
        }
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let account = payments::account_of(&*txn, auth.tenant_id).await?;
        let card = match &account {
            Some(a) => cards::card_at(&*txn, auth.tenant_id, booking.customer_id, (&a.provider, &a.account_id)).await?,
            None => None,
        };
        txn.commit().await?;
        Ok((auth.tenant_id, card.ok_or_else(no_card)?))
    }

    /// Makes (once) the provider's setup that keeps the customer's card for
    /// `booking`, and answers what the browser confirms it with. `booking`
    /// is one the caller read with the request's rights; `booking:create`,
    /// or `booking:create_own` for one's own. A card kept already answers
    /// no secret.
    pub async fn keep_booking_card(&self, ctx: &RequestContext, booking: &Booking) -> Result<BookingCardSetup> {
        let (tenant_id, card) = self.card_of_booking(ctx, booking).await?;
        if card.status == CardStatus::Kept {
            return Ok(BookingCardSetup { setup_intent_id: card.setup_id.clone(), card, client_secret: None });
        }
        if !booking.awaits_payment() {
            return Err(DomainError::invalid("bookingId", "this booking no longer waits for a card"));
        }
        let gateway = self.gateway(provider_of(&card.provider)?)?;
        let account = Some(card.account_id.as_str());
        let customer = match &card.provider_customer_id {
            Some(theirs) => theirs.clone(),
            None => {
                let scope = Scope::Tenant { tenant_id, user_id: None };
                let txn = self.db.begin(scope, Access::Read).await?;
                let (_, name, email) = SchedulingService::customer_of_booking(&txn, tenant_id, booking.id).await?;
                txn.commit().await?;
                let metadata = vec![
                    ("tessera_tenant".into(), tenant_id.to_string()),
                    ("tessera_customer".into(), card.customer_id.to_string()),
                ];
                let spec = CustomerSpec { name, email, metadata };
                let key = format!("booking-card-customer-{}", card.id);
                let theirs = gateway.create_customer(account, &spec, &key).await.map_err(gateway_error)?;
                let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
                let kept = cards::remember_customer(&txn, tenant_id, card.id, &theirs).await?;
                txn.commit().await?;
                kept
            }
        };
        let setup = match &card.setup_id {
            Some(theirs) => gateway.complete_setup(account, &customer, theirs, None).await,
            None => gateway.create_setup(account, &customer, &format!("booking-card-setup-{}", card.id)).await,
        }
        .map_err(gateway_error)?;
        if card.setup_id.is_none() {
            let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
            cards::remember_setup(&txn, tenant_id, card.id, &setup.id).await?;
            txn.commit().await?;
        }
        if setup.status == SetupStatus::Succeeded {
            let card = self.keep_setup(gateway, &card, &customer, setup.clone(), ctx.now()).await?;
            return Ok(BookingCardSetup { card, setup_intent_id: Some(setup.id), client_secret: None });
        }
        Ok(BookingCardSetup { card, setup_intent_id: Some(setup.id), client_secret: setup.client_secret })
    }

    /// Asks the provider how the setup of `booking`'s card went and, once
    /// it succeeded, keeps the card (brand and last four), confirming every
    /// booking of the customer that waited for it. Confirming again answers
    /// the same card.
    pub async fn confirm_booking_card(&self, ctx: &RequestContext, booking: &Booking) -> Result<CustomerCard> {
        let (_, card) = self.card_of_booking(ctx, booking).await?;
        if card.status == CardStatus::Kept {
            return Ok(card);
        }
        let (Some(customer), Some(setup_id)) = (card.provider_customer_id.clone(), card.setup_id.clone()) else {
            return Err(DomainError::invalid("bookingId", "start with keepBookingCard"));
        };
        let gateway = self.gateway(provider_of(&card.provider)?)?;
        let setup = gateway.complete_setup(Some(card.account_id.as_str()), &customer, &setup_id, None).await;
        self.keep_setup(gateway, &card, &customer, setup.map_err(gateway_error)?, ctx.now()).await
    }

    /// Applies a provider event saying a setup on a business's account
    /// succeeded (`account` is the account it came from): keeps the card it
    /// was made for, asking the provider (never trusting the event's copy).
    /// A setup Tessera did not make, or made on another account, changes
    /// nothing.
    pub(crate) async fn apply_card_event(
        &self,
        (provider, account, setup_id): (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let card = cards::by_setup(&txn, (provider, account), setup_id).await?;
        txn.commit().await?;
        let Some(card) = card.filter(|c| c.status == CardStatus::Pending) else { return Ok(()) };
        let Some(customer) = card.provider_customer_id.clone() else { return Ok(()) };
        let gateway = self.gateway(provider_of(&card.provider)?)?;
        let setup = match gateway.complete_setup(Some(account), &customer, setup_id, None).await {
            Err(GatewayError::NotFound) => return Ok(()),
            other => other.map_err(gateway_error)?,
        };
        if setup.status != SetupStatus::Succeeded {
            return Ok(());
        }
        self.keep_setup(gateway, &card, &customer, setup, now).await.map(|_| ())
    }

    /// Keeps the card a setup gave, if it succeeded for this customer.
    async fn keep_setup(
        &self,
        gateway: &dyn PaymentGateway,
        card: &CustomerCard,
        customer: &str,
        setup: SetupIntent,
        now: DateTime<Utc>,
    ) -> Result<CustomerCard> {
        if setup.customer.as_deref() != Some(customer) {
            return Err(DomainError::NotFound { entity: "setup intent" });
        }
        let method = match (setup.status, setup.payment_method) {
            (SetupStatus::Succeeded, Some(method)) => method,
            (SetupStatus::RequiresAction, _) => {
                return Err(DomainError::Conflict("the bank asks the cardholder to authenticate the card".into()));
            }
            _ => return Err(DomainError::Conflict("the card has not been confirmed at the provider yet".into())),
        };
        let summary = match gateway.card(Some(card.account_id.as_str()), customer, &method).await {
            Err(GatewayError::NotFound) => return Err(DomainError::NotFound { entity: "payment method" }),
            other => other.map_err(gateway_error)?,
        };
        let kept = KeptCard { payment_method_id: method, brand: summary.brand, last4: summary.last4 };
        self.record_card_kept(card, &kept, now).await
    }

    /// Records the card kept and confirms the bookings that waited for it,
    /// with its audit record, in one transaction.
    async fn record_card_kept(&self, card: &CustomerCard, kept: &KeptCard, now: DateTime<Utc>) -> Result<CustomerCard> {
        let (tenant_id, now) = (card.tenant_id, stamp(now));
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        if cards::keep(&txn, tenant_id, card.id, kept, now).await?.is_some() {
            let confirmed = SchedulingService::confirm_card_kept(&txn, tenant_id, card.customer_id, now).await?;
            let entry = AuditEntry {
                action: "customer_card.kept",
                target_type: "customer_card",
                target_id: card.id.to_string(),
                before: None,
                after: Some(json!({
                    "customerId": card.customer_id,
                    "brand": kept.brand,
                    "last4": kept.last4,
                    "bookingsConfirmed": confirmed.iter().map(|b| b.id).collect::<Vec<_>>(),
                })),
            };
            tessera_audit::append_by_system(&txn, tenant_id, now, entry).await?;
        }
        let card = cards::find(&txn, tenant_id, card.id).await?.ok_or(DomainError::NotFound { entity: "card" })?;
        txn.commit().await?;
        Ok(card)
    }
}
