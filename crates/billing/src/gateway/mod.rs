//! Payment providers behind one trait. The platform's billing engine decides
//! what to charge; a [`PaymentGateway`] only moves money: it makes a customer,
//! keeps a card through a setup intent (the card never reaches Tessera: the
//! browser hands it to the provider, which gives back a brand and the last
//! four digits), charges with an idempotency key, retrieves, refunds, and
//! lists events.
//!
//! Browsers give cards in one of two ways. Stripe.js confirms a setup intent
//! made here ([`PaymentGateway::create_setup`]), and completing it asks Stripe
//! how it went. Conekta's tokenizer turns the card into a one-use token with
//! the platform's public key; there is nothing to make beforehand, and
//! completing the setup keeps the token as the customer's payment source.
//!
//! Every call that creates something takes an idempotency key, which the
//! caller makes from its own row's id, written before the call: a retried
//! call after a dropped answer creates nothing twice. Errors are a closed
//! enum ([`GatewayError`]); retrying is decided by its variant, never by
//! matching provider messages.

pub mod conekta;
pub mod http;
pub mod stripe;
pub mod stripe_webhook;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::PaymentProvider;

/// The provider account a call acts on: `None` for the platform's own, or a
/// business's connected account (Stripe's `Stripe-Account`).
pub type Account<'a> = Option<&'a str>;

/// A customer to make at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSpec {
    /// Its name (the business's legal name, or its name).
    pub name: String,
    /// Where the provider sends receipts, if anywhere.
    pub email: Option<String>,
    /// Our ids, kept by the provider so its objects point back at ours.
    pub metadata: Vec<(String, String)>,
}

/// Where a setup intent (keeping a card for later) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStatus {
    /// Waiting for the customer to give a card.
    RequiresPaymentMethod,
    /// Given, to be confirmed.
    RequiresConfirmation,
    /// The bank asks the customer to authenticate.
    RequiresAction,
    /// Being processed.
    Processing,
    /// The card is kept.
    Succeeded,
    /// Given up.
    Canceled,
}

/// A setup intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupIntent {
    /// The provider's id.
    pub id: String,
    /// What the browser needs to hand the card to the provider (Stripe's
    /// client secret); `None` where its library needs only the public key.
    pub client_secret: Option<String>,
    /// Where it stands.
    pub status: SetupStatus,
    /// The customer it keeps the card for.
    pub customer: Option<String>,
    /// The kept payment method, once given.
    pub payment_method: Option<String>,
}

/// What Tessera keeps of a card: never its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    /// `visa`, `mastercard`, ….
    pub brand: String,
    /// The last four digits.
    pub last4: String,
}

/// An off-session charge of a kept card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeSpec {
    /// The provider's customer.
    pub customer: String,
    /// The kept payment method.
    pub payment_method: String,
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// Shown on the customer's statement and receipt.
    pub description: String,
    /// Our ids.
    pub metadata: Vec<(String, String)>,
}

/// Where a payment stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Not yet attempted (no method, or not confirmed).
    Pending,
    /// The bank asks the customer to authenticate.
    RequiresAction,
    /// Being processed; the outcome comes later.
    Processing,
    /// The money moved.
    Succeeded,
    /// Declined or failed.
    Failed,
    /// Cancelled before it moved money.
    Canceled,
}

/// A payment at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    /// The provider's id.
    pub id: String,
    /// Where it stands.
    pub status: PaymentStatus,
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// The decline code of its last failure.
    pub failure_code: Option<String>,
    /// What the customer's browser needs to pay it (Stripe's client secret),
    /// for a payment made there.
    pub client_secret: Option<String>,
}

/// A payment the customer makes in their browser, now (a booking's deposit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSpec {
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// Shown on the customer's statement and receipt.
    pub description: String,
    /// Our ids, sent back in the provider's events.
    pub metadata: Vec<(String, String)>,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Being processed.
    Pending,
    /// The money went back.
    Succeeded,
    /// It failed; the amount is refundable again.
    Failed,
    /// Cancelled.
    Canceled,
}

/// A refund at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    /// The provider's id.
    pub id: String,
    /// The refunded payment.
    pub payment_id: String,
    /// In minor units.
    pub amount_minor: i64,
    /// Where it stands.
    pub status: RefundStatus,
}

/// An event the provider recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderEvent {
    /// The provider's id, unique per provider account.
    pub id: String,
    /// Its type (`payment_intent.succeeded`).
    pub kind: String,
    /// When the provider recorded it.
    pub created: DateTime<Utc>,
    /// The object it is about, as the provider sent it.
    pub object: serde_json::Value,
}

/// Why a call failed. [`GatewayError::retryable`] says whether the same call,
/// with the same idempotency key, may be tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The bank or the provider declined it; trying again will not help
    /// until the customer acts.
    #[error("declined: {code}")]
    Declined {
        /// The provider's decline code (`card_declined`, `insufficient_funds`).
        code: String,
    },
    /// The customer must authenticate with their bank.
    #[error("the customer must authenticate the payment")]
    RequiresAction,
    /// Too many requests; try later.
    #[error("rate limited by the provider")]
    RateLimited,
    /// The provider failed or could not be reached before it did anything.
    #[error("the provider is unavailable: {0}")]
    Transient(String),
    /// The same idempotency key was used for another request.
    #[error("idempotency conflict: {0}")]
    Conflict(String),
    /// The request was wrong (our bug, or a stale id).
    #[error("the provider refused the request: {0}")]
    Invalid(String),
    /// No such object at the provider.
    #[error("not found at the provider")]
    NotFound,
    /// The answer was lost after the request was sent: the provider may have
    /// acted. Retrieve, or retry with the same key.
    #[error("the outcome is unknown: {0}")]
    Unknown(String),
}

impl GatewayError {
    /// Whether the same call with the same key may be tried again.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient(_) | Self::Unknown(_))
    }
}

/// A result from a gateway.
pub type GatewayResult<T> = std::result::Result<T, GatewayError>;

/// One payment provider.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Which provider it is.
    fn provider(&self) -> PaymentProvider;

    /// Whether a customer can only be made with an email (Conekta's rule).
    fn needs_customer_email(&self) -> bool {
        false
    }

    /// Makes a customer; returns its id.
    async fn create_customer(&self, account: Account<'_>, spec: &CustomerSpec, key: &str) -> GatewayResult<String>;

    /// Starts keeping a card for `customer`, for charges without them present.
    async fn create_setup(&self, account: Account<'_>, customer: &str, key: &str) -> GatewayResult<SetupIntent>;

    /// The setup `id` of `customer` once the browser is done with it:
    /// Stripe is asked how it went (`card_token` is not used); Conekta keeps
    /// `card_token` (`tok_…`, from its tokenizer) as a payment source of
    /// `customer`. Completing the same setup twice keeps one card; a setup of
    /// another customer is not found (Stripe's names its customer, and the
    /// caller compares).
    async fn complete_setup(
        &self,
        account: Account<'_>,
        customer: &str,
        id: &str,
        card_token: Option<&str>,
    ) -> GatewayResult<SetupIntent>;

    /// What Tessera may keep of `customer`'s payment method: brand and last
    /// four.
    async fn card(&self, account: Account<'_>, customer: &str, payment_method: &str) -> GatewayResult<CardSummary>;

    /// Charges a kept card now, without the customer present.
    async fn charge(&self, account: Account<'_>, spec: &ChargeSpec, key: &str) -> GatewayResult<ProviderPayment>;

    /// Starts a payment the customer completes in their browser with the
    /// answer's client secret. Only providers whose browser library pays a
    /// payment made beforehand (Stripe's) offer it.
    async fn create_payment(
        &self,
        account: Account<'_>,
        spec: &PaymentSpec,
        key: &str,
    ) -> GatewayResult<ProviderPayment> {
        let _ = (account, spec, key);
        Err(GatewayError::Invalid(format!("{:?} does not take payments made in the browser", self.provider())))
    }

    /// Gives up a payment not yet made; answers it as it stands.
    async fn cancel_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        let _ = (account, id);
        Err(GatewayError::Invalid(format!("{:?} does not take payments made in the browser", self.provider())))
    }

    /// A payment as it stands.
    async fn retrieve_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment>;

    /// Refunds `amount_minor` of a payment.
    async fn refund(
        &self,
        account: Account<'_>,
        payment_id: &str,
        amount_minor: i64,
        key: &str,
    ) -> GatewayResult<ProviderRefund>;

    /// A refund as it stands (one the provider was still processing).
    async fn retrieve_refund(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderRefund> {
        let _ = (account, id);
        Err(GatewayError::Invalid(format!("{:?} refunds are not asked about again", self.provider())))
    }

    /// The newest events recorded after `after` (any when `None`), at most
    /// `limit`, in order oldest first.
    async fn events_since(
        &self,
        account: Account<'_>,
        after: Option<DateTime<Utc>>,
        limit: u32,
    ) -> GatewayResult<Vec<ProviderEvent>>;
}
