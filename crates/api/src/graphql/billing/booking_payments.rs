//! Customers paying the business for their bookings: the business's own
//! payment account and terms (its owners'), and paying a booking that waits
//! for its payment (the customer's, or the front desk's).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{BookingCardSetup, BookingCheckout};
use tessera_kernel::{BookingId, DomainError, Permission, ServiceId};
use tessera_ledger::PaymentTerms;
use tessera_ledger::cards::CustomerCard;
use tessera_ledger::payments::PaymentAccount;
use tessera_scheduling::Booking;

use super::objects::{BookingPaymentObject, BookingRefundObject, PaymentProviderEnum, PaymentTermsObject};
use crate::error::ApiResult;
use crate::graphql::{Requires, RequiresOrOwn, parse_id, request, services};

/// The business's own account at a payment provider, which its customers'
/// booking payments go to.
#[derive(SimpleObject)]
#[graphql(name = "PaymentAccount")]
pub(crate) struct PaymentAccountObject {
    /// The provider.
    provider: Option<PaymentProviderEnum>,
    /// The provider's id of the account (`acct_…`).
    account_id: String,
    /// Whether bookings take payments through it now.
    enabled: bool,
    /// What customers pay when they book (services may have their own).
    terms: PaymentTermsObject,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

impl From<PaymentAccount> for PaymentAccountObject {
    fn from(account: PaymentAccount) -> Self {
        Self {
            provider: super::objects::provider_named(&account.provider),
            account_id: account.account_id,
            enabled: account.enabled,
            terms: (&account.terms).into(),
            updated_at: account.updated_at,
        }
    }
}

/// What the customer's browser needs to pay a booking.
#[derive(SimpleObject)]
#[graphql(name = "BookingCheckout")]
pub(crate) struct BookingCheckoutObject {
    /// The payment.
    payment: BookingPaymentObject,
    /// For Stripe.js `confirmCardPayment` (with the platform's publishable
    /// key and the payment account as `stripeAccount`). Secret: give it to
    /// the browser that asked, and nowhere else. Null once paid.
    client_secret: Option<String>,
}

impl From<BookingCheckout> for BookingCheckoutObject {
    fn from(checkout: BookingCheckout) -> Self {
        Self { payment: BookingPaymentObject(checkout.payment), client_secret: checkout.client_secret }
    }
}

/// Where a customer's card for a business stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CustomerCardStatus", remote = "tessera_ledger::cards::CardStatus")]
pub(crate) enum CustomerCardStatusEnum {
    /// Asked for; the customer has not given it yet.
    Pending,
    /// Kept at the provider for the business's fees.
    Kept,
}

/// The card a customer keeps at the business for its fees: never its
/// number, only what the provider tells of it.
#[derive(SimpleObject)]
#[graphql(name = "CustomerCard")]
pub(crate) struct CustomerCardObject {
    /// Where it stands.
    status: CustomerCardStatusEnum,
    /// `visa`, `mastercard`, …, once kept.
    brand: Option<String>,
    /// The last four digits, once kept.
    last4: Option<String>,
    /// When it was kept.
    kept_at: Option<DateTime<Utc>>,
}

impl From<CustomerCard> for CustomerCardObject {
    fn from(card: CustomerCard) -> Self {
        Self { status: card.status.into(), brand: card.brand, last4: card.last4, kept_at: card.kept_at }
    }
}

/// What the customer's browser needs to give the card a booking keeps.
#[derive(SimpleObject)]
#[graphql(name = "BookingCardSetup")]
pub(crate) struct BookingCardSetupObject {
    /// The card.
    card: CustomerCardObject,
    /// The provider's setup (`seti_…`).
    setup_intent_id: Option<String>,
    /// For Stripe.js `confirmCardSetup` (with the platform's publishable key
    /// and the payment account as `stripeAccount`); then call
    /// `confirmBookingCard`. Secret, like a payment's. Null once kept.
    client_secret: Option<String>,
}

impl From<BookingCardSetup> for BookingCardSetupObject {
    fn from(setup: BookingCardSetup) -> Self {
        Self { card: setup.card.into(), setup_intent_id: setup.setup_intent_id, client_secret: setup.client_secret }
    }
}

/// Queries of the business's payment account.
#[derive(Default)]
pub(super) struct BookingPaymentQueries;

#[operations]
#[Object]
impl BookingPaymentQueries {
    /// The business's payment account and terms; null before one is set.
    #[access(Requires(Permission::PaymentRead))]
    async fn payment_account(&self, ctx: &Context<'_>) -> ApiResult<Option<PaymentAccountObject>> {
        Ok(services(ctx)?.billing.payment_account(request(ctx)?).await?.map(Into::into))
    }
}

/// Mutations of booking payments.
#[derive(Default)]
pub(super) struct BookingPaymentMutations;

#[operations]
#[Object]
impl BookingPaymentMutations {
    /// Sets the business's payment account (owners; audited): the Stripe
    /// connected account (`acct_…`) the platform made for it. Only Stripe
    /// takes booking payments. `CONFLICT` when another business named it.
    #[access(Requires(Permission::PaymentManage))]
    async fn set_payment_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "PaymentProviderEnum::Stripe")] provider: PaymentProviderEnum,
        account_id: String,
        #[graphql(default = true)] enabled: bool,
    ) -> ApiResult<PaymentAccountObject> {
        let billing = &services(ctx)?.billing;
        Ok(billing.set_payment_account(request(ctx)?, provider.into(), &account_id, enabled).await?.into())
    }

    /// Sets what customers pay when they book (owners; audited); needs the
    /// payment account first. Bookings made already keep what they asked.
    #[access(Requires(Permission::PaymentManage))]
    async fn set_payment_terms(&self, ctx: &Context<'_>, terms: PaymentTermsObject) -> ApiResult<PaymentAccountObject> {
        let terms = PaymentTerms::try_from(terms)?;
        Ok(services(ctx)?.billing.set_payment_terms(request(ctx)?, terms).await?.into())
    }

    /// Sets what customers pay when they book one service, over the
    /// business's terms (owners; audited); null makes it follow the
    /// business's again. Answers the service's own terms.
    #[access(Requires(Permission::PaymentManage))]
    async fn set_service_payment_terms(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        terms: Option<PaymentTermsObject>,
    ) -> ApiResult<Option<PaymentTermsObject>> {
        let id: ServiceId = parse_id("serviceId", &service_id)?;
        let terms = terms.map(PaymentTerms::try_from).transpose()?;
        let service = services(ctx)?.scheduling.set_service_payment_terms(request(ctx)?, id, terms).await?;
        Ok(service.payment_terms.as_ref().map(PaymentTermsObject::from))
    }

    /// Pays a booking that waits for its payment (`paymentDueBy`): answers
    /// the client secret the customer's browser pays with. Asking again
    /// answers the same payment. Once paid, the booking is CONFIRMED; if the
    /// payment fails or its time runs out, the booking is CANCELLED and its
    /// time freed. `NOT_FOUND` for a booking the caller cannot see.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn pay_booking(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<BookingCheckoutObject> {
        let booking = readable_booking(ctx, &booking_id).await?;
        Ok(services(ctx)?.billing.checkout_booking(request(ctx)?, &booking).await?.into())
    }

    /// Gives back part or all of a booking payment, with a reason
    /// (`payment:refund`; audited), through the provider. `BAD_USER_INPUT`
    /// beyond what is left to refund: two refunds at once of more than half
    /// each give one. A refund that fails makes its amount refundable again.
    #[access(Requires(Permission::PaymentRefund))]
    async fn refund_booking_payment(
        &self,
        ctx: &Context<'_>,
        payment_id: ID,
        amount_minor: i32,
        reason: String,
    ) -> ApiResult<BookingRefundObject> {
        let id: uuid::Uuid = parse_id("paymentId", &payment_id)?;
        let billing = &services(ctx)?.billing;
        Ok(BookingRefundObject(
            billing.refund_booking_payment(request(ctx)?, id, i64::from(amount_minor), &reason).await?,
        ))
    }

    /// Starts keeping the customer's card for a booking whose business keeps
    /// one (`cardFees`): answers the client secret the customer's browser
    /// confirms the card with at the provider. A customer gives a card once
    /// per business: with one kept, the answer has no secret. `NOT_FOUND`
    /// for a booking the caller cannot see.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn keep_booking_card(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<BookingCardSetupObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let booking = readable_booking(ctx, &booking_id).await?;
        Ok(services.billing.keep_booking_card(request, &booking).await?.into())
    }

    /// Keeps the card once the browser confirmed it at the provider (the
    /// provider is asked how it went): its brand and last four digits. The
    /// customer's bookings that waited for it are confirmed. `CONFLICT`
    /// while the provider has not confirmed it.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn confirm_booking_card(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<CustomerCardObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let booking = readable_booking(ctx, &booking_id).await?;
        Ok(services.billing.confirm_booking_card(request, &booking).await?.into())
    }

    /// Tries again to pay a booking whose payment failed or whose time to
    /// pay ran out: takes its time again (`CONFLICT` when someone booked it
    /// meanwhile), waiting for a new payment of the same amount, and answers
    /// the new payment's client secret, as `payBooking` does.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn retry_booking_payment(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<BookingCheckoutObject> {
        let id: BookingId = parse_id("bookingId", &booking_id)?;
        let (services, request) = (services(ctx)?, request(ctx)?);
        let booking = services.scheduling.retake_unpaid_booking(request, id).await?;
        Ok(services.billing.checkout_booking(request, &booking).await?.into())
    }
}

/// The booking `id` names, read with the request's rights (`NOT_FOUND` when
/// the caller cannot see it).
async fn readable_booking(ctx: &Context<'_>, id: &ID) -> ApiResult<Booking> {
    let id: BookingId = parse_id("bookingId", id)?;
    let mut found = services(ctx)?.scheduling.bookings_by_ids(request(ctx)?, &[id]).await?;
    Ok(found.remove(&id).ok_or(DomainError::NotFound { entity: "booking" })?)
}
