//! Billing's types other domains show: payment providers, payment terms (a
//! service's own), and what a customer paid for a booking (a booking's
//! `payments`).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_kernel::DomainError;
use tessera_ledger::payments::BookingPayment;
use tessera_ledger::refunds::BookingRefund;
use tessera_ledger::{PaymentMode, PaymentTerms};

use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders;
use crate::graphql::money::{MoneyObject, money};

/// A payment provider.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "PaymentProvider", remote = "tessera_billing::PaymentProvider")]
pub(crate) enum PaymentProviderEnum {
    /// Stripe.
    Stripe,
    /// Conekta.
    Conekta,
    /// Fungies.
    Fungies,
}

/// What is paid when booking.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "PaymentMode", remote = "tessera_ledger::PaymentMode")]
pub(crate) enum PaymentModeEnum {
    /// Nothing: the customer pays at the visit.
    None,
    /// A deposit: a fixed amount, or a percentage of the price.
    Deposit,
    /// The whole price.
    Prepayment,
}

/// What customers pay when they book.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "PaymentTerms", input_name = "PaymentTermsInput")]
pub(crate) struct PaymentTermsObject {
    /// What is paid when booking.
    mode: PaymentModeEnum,
    /// A fixed deposit in minor units (0 to 100,000,000); 0 takes
    /// `depositPercent` of the price. Never more than the price.
    deposit_minor: i32,
    /// The deposit as a percentage of the price (1 to 100, rounded up to
    /// the minor unit), when no fixed deposit is set.
    deposit_percent: i32,
    /// How long a booking waits for its payment, in minutes (5 to 1440):
    /// it holds its time until then, and the time is freed if unpaid.
    hold_minutes: i32,
    /// Whether a booking keeps the customer's card (given once per
    /// business, through `keepBookingCard`; only its brand and last four
    /// are kept here) for the fees below. A booking waits for the card, as
    /// for a payment, while the customer has none kept.
    #[graphql(default)]
    keep_card: bool,
    /// Charged to the kept card when the customer does not come, in minor
    /// units (0: none). Needs `keepCard`.
    #[graphql(default)]
    no_show_fee_minor: i32,
    /// Charged to the kept card when the customer cancels later than
    /// `lateCancellationHours` before the start (0: none). Needs `keepCard`.
    #[graphql(default)]
    late_cancellation_fee_minor: i32,
    /// How many hours before the start a customer's cancellation is late (1
    /// to 720).
    #[graphql(default = 24)]
    late_cancellation_hours: i32,
}

impl From<&PaymentTerms> for PaymentTermsObject {
    fn from(terms: &PaymentTerms) -> Self {
        Self {
            mode: terms.mode.into(),
            deposit_minor: i32::try_from(terms.deposit_minor).unwrap_or(i32::MAX),
            deposit_percent: i32::try_from(terms.deposit_percent).unwrap_or(i32::MAX),
            hold_minutes: i32::try_from(terms.hold_minutes).unwrap_or(i32::MAX),
            keep_card: terms.keep_card,
            no_show_fee_minor: i32::try_from(terms.no_show_fee_minor).unwrap_or(i32::MAX),
            late_cancellation_fee_minor: i32::try_from(terms.late_cancellation_fee_minor).unwrap_or(i32::MAX),
            late_cancellation_hours: i32::try_from(terms.late_cancellation_hours).unwrap_or(i32::MAX),
        }
    }
}

impl TryFrom<PaymentTermsObject> for PaymentTerms {
    type Error = ApiError;

    fn try_from(input: PaymentTermsObject) -> ApiResult<Self> {
        let count = |field: &str, n: i32| {
            u32::try_from(n).map_err(|_| ApiError::from(DomainError::invalid(field, "must not be negative")))
        };
        Ok(PaymentTerms {
            mode: PaymentMode::from(input.mode),
            deposit_minor: i64::from(input.deposit_minor),
            deposit_percent: count("depositPercent", input.deposit_percent)?,
            hold_minutes: count("holdMinutes", input.hold_minutes)?,
            keep_card: input.keep_card,
            no_show_fee_minor: i64::from(input.no_show_fee_minor),
            late_cancellation_fee_minor: i64::from(input.late_cancellation_fee_minor),
            late_cancellation_hours: count("lateCancellationHours", input.late_cancellation_hours)?,
        })
    }
}

/// The fees a booking's customer agreed to when booking with a kept card.
pub(crate) struct CardFeesObject {
    pub(crate) fees: tessera_ledger::CardFees,
    pub(crate) currency: String,
}

#[Object(name = "CardFees")]
impl CardFeesObject {
    /// Charged to the kept card if the customer does not come (0: none).
    async fn no_show_fee(&self) -> ApiResult<MoneyObject> {
        money(self.fees.no_show_fee_minor, &self.currency)
    }
    /// Charged to the kept card if the customer cancels late (0: none).
    async fn late_cancellation_fee(&self) -> ApiResult<MoneyObject> {
        money(self.fees.late_cancellation_fee_minor, &self.currency)
    }
    /// A customer's cancellation less than this many hours before the start
    /// is late.
    async fn late_cancellation_hours(&self) -> u32 {
        self.fees.late_cancellation_hours
    }
}

/// The provider a stored name (`stripe`) is.
pub(crate) fn provider_named(name: &str) -> Option<PaymentProviderEnum> {
    use sea_orm::ActiveEnum;
    tessera_billing::PaymentProvider::try_from_value(&name.to_owned()).ok().map(Into::into)
}

/// What a booking payment is for.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BookingPaymentKind", remote = "tessera_ledger::payments::BookingPaymentKind")]
pub(crate) enum BookingPaymentKindEnum {
    /// Part of the price, paid when booking.
    Deposit,
    /// The whole price, paid when booking.
    Prepayment,
    /// The business's fee for not coming.
    NoShowFee,
    /// The business's fee for cancelling late.
    LateCancellationFee,
}

/// Where a booking payment stands. It only moves forward: SUCCEEDED,
/// FAILED and CANCELED never change; refunds show in `refunded`.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BookingPaymentStatus", remote = "tessera_ledger::payments::BookingPaymentStatus")]
pub(crate) enum BookingPaymentStatusEnum {
    /// Waiting for the customer's card.
    Pending,
    /// The customer's bank asks them to authenticate.
    RequiresAction,
    /// Being processed; the outcome comes later.
    Processing,
    /// Paid.
    Succeeded,
    /// Declined or failed.
    Failed,
    /// Given up before anything was paid (the booking's hold ran out).
    Canceled,
    /// The provider's answer was lost; it is asked again within minutes.
    Unknown,
}

/// Why money was given back.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "RefundKind", remote = "tessera_ledger::refunds::RefundKind")]
pub(crate) enum RefundKindEnum {
    /// The business's cancellation policy, when the booking was cancelled.
    Policy,
    /// Someone at the business, with a reason.
    Manual,
    /// A payment its booking no longer wanted: it came after the booking
    /// stopped waiting for it, or the booking was freed while it still
    /// waited for the customer's card.
    UnwantedPayment,
}

/// Where a refund stands. SUCCEEDED, FAILED and CANCELED never change; a
/// failed or cancelled refund's amount is refundable again.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "RefundStatus", remote = "tessera_ledger::refunds::RefundStatus")]
pub(crate) enum RefundStatusEnum {
    /// Asked; the provider is processing it.
    Pending,
    /// The money went back.
    Succeeded,
    /// It failed.
    Failed,
    /// Cancelled.
    Canceled,
    /// The provider's answer was lost; it is asked again within minutes.
    Unknown,
}

/// Money given back for a booking payment.
pub(crate) struct BookingRefundObject(pub(crate) BookingRefund);

#[Object(name = "BookingRefund")]
impl BookingRefundObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Why.
    async fn kind(&self) -> RefundKindEnum {
        self.0.kind.into()
    }
    /// Where it stands.
    async fn status(&self) -> RefundStatusEnum {
        self.0.status.into()
    }
    /// How much.
    async fn amount(&self) -> ApiResult<MoneyObject> {
        money(self.0.amount_minor, &self.0.currency)
    }
    /// The reason given, or the policy's words.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Why it failed, as the provider said.
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }
    /// When it was asked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it succeeded, failed or was cancelled.
    async fn settled_at(&self) -> Option<DateTime<Utc>> {
        self.0.settled_at
    }
}

/// An amount asked of a customer for a booking.
pub(crate) struct BookingPaymentObject(pub(crate) BookingPayment);

#[Object(name = "BookingPayment")]
impl BookingPaymentObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it is for.
    async fn kind(&self) -> BookingPaymentKindEnum {
        self.0.kind.into()
    }
    /// Where it stands.
    async fn status(&self) -> BookingPaymentStatusEnum {
        self.0.status.into()
    }
    /// The amount asked.
    async fn amount(&self) -> ApiResult<MoneyObject> {
        money(self.0.amount_minor, &self.0.currency)
    }
    /// What the provider took.
    async fn captured(&self) -> ApiResult<MoneyObject> {
        money(self.0.captured_minor, &self.0.currency)
    }
    /// What went back to the customer.
    async fn refunded(&self) -> ApiResult<MoneyObject> {
        money(self.0.refunded_minor, &self.0.currency)
    }
    /// The provider it is paid through.
    async fn provider(&self) -> Option<PaymentProviderEnum> {
        provider_named(&self.0.provider)
    }
    /// The booking it is for (`booking(id:)` reads it).
    async fn booking_id(&self) -> ID {
        ID(self.0.booking_id.to_string())
    }
    /// Who pays it.
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.to_string())
    }
    /// Why it failed, as the provider said (`card_declined`).
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }
    /// When it was asked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it succeeded, failed or was given up.
    async fn settled_at(&self) -> Option<DateTime<Utc>> {
        self.0.settled_at
    }
    /// What was given back of it, oldest first.
    async fn refunds(&self, ctx: &Context<'_>) -> ApiResult<Vec<BookingRefundObject>> {
        let found = loaders(ctx)?.booking_refunds().load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(BookingRefundObject).collect())
    }
}
