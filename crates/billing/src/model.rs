//! Billing's domain types: plans, billing details, subscriptions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{PlanId, SubscriptionId, TenantId, TenantTier};

/// How often a plan is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum Interval {
    /// Every calendar month, from the day the subscription started.
    #[sea_orm(string_value = "monthly")]
    Monthly,
    /// Every year, from the day the subscription started.
    #[sea_orm(string_value = "yearly")]
    Yearly,
}

impl Interval {
    /// How many calendar months one period lasts.
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Yearly => 12,
        }
    }

    /// "a month", "a year": for messages.
    pub fn per(self) -> &'static str {
        match self {
            Self::Monthly => "a month",
            Self::Yearly => "a year",
        }
    }
}

/// Where a subscription stands (the seeds' six statuses). The transitions
/// between them are in [`crate::states`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum SubscriptionStatus {
    /// In its free trial; the plan's tier applies.
    #[sea_orm(string_value = "trialing")]
    Trialing,
    /// Paid up; the plan's tier applies.
    #[sea_orm(string_value = "active")]
    Active,
    /// A renewal failed and is being retried; the plan's tier still applies.
    #[sea_orm(string_value = "past_due")]
    PastDue,
    /// The retries ran out; the free tier applies until the invoice is paid.
    #[sea_orm(string_value = "unpaid")]
    Unpaid,
    /// Not paid for yet (a trial ended without a payment method, or a plan
    /// started without a trial); the free tier applies until it is paid.
    #[sea_orm(string_value = "inactive")]
    Inactive,
    /// Ended for good.
    #[sea_orm(string_value = "canceled")]
    Canceled,
}

impl SubscriptionStatus {
    /// The tier a business in this status has, on a plan of `plan_tier`:
    /// the plan's while it is trialing or paid through, free otherwise.
    pub fn tier(self, plan_tier: TenantTier) -> TenantTier {
        match self {
            Self::Trialing | Self::Active | Self::PastDue => plan_tier,
            Self::Unpaid | Self::Inactive | Self::Canceled => TenantTier::Free,
        }
    }

    /// As the API and messages write it (`PAST_DUE`).
    pub fn as_upper(self) -> &'static str {
        match self {
            Self::Trialing => "TRIALING",
            Self::Active => "ACTIVE",
            Self::PastDue => "PAST_DUE",
            Self::Unpaid => "UNPAID",
            Self::Inactive => "INACTIVE",
            Self::Canceled => "CANCELED",
        }
    }
}

/// A payment provider a business may be billed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum PaymentProvider {
    /// Stripe.
    #[sea_orm(string_value = "stripe")]
    Stripe,
    /// Conekta.
    #[sea_orm(string_value = "conekta")]
    Conekta,
    /// Fungies.
    #[sea_orm(string_value = "fungies")]
    Fungies,
}

/// One version of a plan in the platform's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// This version's id.
    pub id: PlanId,
    /// The plan (`premium-monthly`); its versions share it.
    pub code: String,
    /// The version, from 1.
    pub version: i32,
    /// Its name for people.
    pub name: String,
    /// The tier a subscriber has.
    pub tier: TenantTier,
    /// How often it is paid for.
    pub interval: Interval,
    /// The price of one period, in minor units of `currency` (per seat when
    /// `per_seat`).
    pub price_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The free trial, in days (0: none).
    pub trial_days: i32,
    /// Priced per seat (the subscription's quantity), or flat.
    pub per_seat: bool,
    /// Whether new subscriptions may choose it.
    pub available: bool,
    /// When this version was added.
    pub created_at: DateTime<Utc>,
}

/// A new version of a plan, as the platform operator adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanVersion {
    /// The plan's code (a new code starts at version 1).
    pub code: String,
    /// Its name for people.
    pub name: String,
    /// The tier a subscriber has.
    pub tier: TenantTier,
    /// How often it is paid for.
    pub interval: Interval,
    /// The price of one period in minor units.
    pub price_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The free trial in days.
    pub trial_days: i32,
    /// Priced per seat.
    pub per_seat: bool,
    /// Whether new subscriptions may choose it.
    pub available: bool,
    /// What each unit beyond a soft limit costs, per metric (none: overage
    /// is counted but not billed).
    pub overage_prices: Vec<OveragePrice>,
}

/// What a plan version charges per unit of a metric used beyond its tier's
/// soft limit, billed at the renewal after the usage period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OveragePrice {
    /// A metric counted per period (`bookings`, `sms`, `emails`, …).
    pub metric: tessera_ledger::Metric,
    /// Per unit, in minor units of the plan's currency.
    pub unit_price_minor: i64,
}

/// A business's postal address for invoices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// First line.
    pub line1: Option<String>,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// Who a business's invoices are made out to, and how it pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingInfo {
    /// The business.
    pub tenant_id: TenantId,
    /// Its legal name.
    pub legal_name: Option<String>,
    /// Where invoices and billing notices go, besides the owners.
    pub billing_email: Option<String>,
    /// Its tax id (VAT number, RFC, EIN…), as written.
    pub tax_id: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Its address.
    pub address: Address,
    /// The currency it is billed in (ISO 4217).
    pub currency: String,
    /// The payment provider it prefers.
    pub preferred_provider: PaymentProvider,
    /// When it started its one free trial.
    pub trial_used_at: Option<DateTime<Utc>>,
    /// The days after an invoice fell due on which a declined one is tried again.
    pub retry_days: Vec<i64>,
    /// Whether the subscription ends when the tries run out (else it is kept,
    /// unpaid, on the free tier).
    pub cancel_when_retries_fail: bool,
    /// When the details last changed; `None` while never saved.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A change to billing details: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingInfoPatch {
    /// Legal name.
    pub legal_name: Option<Option<String>>,
    /// Billing email.
    pub billing_email: Option<Option<String>>,
    /// Tax id.
    pub tax_id: Option<Option<String>>,
    /// Country.
    pub country: Option<Option<String>>,
    /// Address line 1.
    pub line1: Option<Option<String>>,
    /// Address line 2.
    pub line2: Option<Option<String>>,
    /// City.
    pub city: Option<Option<String>>,
    /// Region.
    pub region: Option<Option<String>>,
    /// Postal code.
    pub postal_code: Option<Option<String>>,
    /// Currency (cannot be cleared).
    pub currency: Option<String>,
    /// Preferred provider (cannot be cleared).
    pub preferred_provider: Option<PaymentProvider>,
    /// The retry schedule.
    pub retry_days: Option<Vec<i64>>,
    /// What ends the schedule.
    pub cancel_when_retries_fail: Option<bool>,
}

/// A business's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The business.
    pub tenant_id: TenantId,
    /// The plan version it is on.
    pub plan: Plan,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// Seats (1 on a flat plan).
    pub quantity: i32,
    /// The price of one period per unit, fixed when it started: a new plan
    /// version never changes it.
    pub unit_price_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// How often it renews.
    pub interval: Interval,
    /// When the current period (or the trial) began.
    pub current_period_start: DateTime<Utc>,
    /// When it ends: the subscription renews, ends, or the trial is over.
    pub current_period_end: DateTime<Utc>,
    /// When the trial ends, if it has one.
    pub trial_end: Option<DateTime<Utc>>,
    /// Whether it ends at the end of the current period instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it was cancelled (now, or for the period's end).
    pub canceled_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// A change waiting for the period's end.
    pub scheduled_change: Option<crate::quotes::ScheduledChange>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A business's customer at a payment provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCustomer {
    /// The provider.
    pub provider: PaymentProvider,
    /// The provider's id for it (`cus_…` at Stripe).
    pub provider_customer_id: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A card a business keeps at a provider. Tessera holds no card data: only
/// the provider's id for it, the brand and the last four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    /// Its id.
    pub id: uuid::Uuid,
    /// The provider keeping it.
    pub provider: PaymentProvider,
    /// `visa`, `mastercard`, ….
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Whether charges use it.
    pub is_default: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// What a browser needs to hand a card to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSetup {
    /// The provider.
    pub provider: PaymentProvider,
    /// The provider's setup intent, to confirm once the card is given.
    pub setup_intent_id: String,
    /// For the provider's browser library (Stripe.js `confirmCardSetup`);
    /// `None` where it needs only the platform's public key (Conekta).
    pub client_secret: Option<String>,
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(15))")]
pub enum InvoiceStatus {
    /// Being put together.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Issued, waiting for payment.
    #[sea_orm(string_value = "open")]
    Open,
    /// Paid in full.
    #[sea_orm(string_value = "paid")]
    Paid,
    /// Cancelled; nothing is owed.
    #[sea_orm(string_value = "void")]
    Void,
    /// Given up on.
    #[sea_orm(string_value = "uncollectible")]
    Uncollectible,
}

/// Why an invoice was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum InvoiceReason {
    /// The first paid period (after the trial, or at the start).
    #[sea_orm(string_value = "subscription_start")]
    SubscriptionStart,
    /// A new period.
    #[sea_orm(string_value = "renewal")]
    Renewal,
    /// A change of plan or quantity.
    #[sea_orm(string_value = "change")]
    Change,
    /// Issued by hand.
    #[sea_orm(string_value = "manual")]
    Manual,
}

/// What an invoice line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum LineKind {
    /// The plan for a period.
    #[sea_orm(string_value = "plan")]
    Plan,
    /// Credit for the unused part of what was paid.
    #[sea_orm(string_value = "proration_credit")]
    ProrationCredit,
    /// The new plan for the rest of a period.
    #[sea_orm(string_value = "proration_charge")]
    ProrationCharge,
    /// Use beyond a soft limit.
    #[sea_orm(string_value = "overage")]
    Overage,
    /// A coupon.
    #[sea_orm(string_value = "discount")]
    Discount,
}

/// Where one attempt to collect an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(15))")]
pub enum PaymentState {
    /// Written, the provider not yet answered (or still processing).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The money moved.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Declined, or the provider refused it.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The provider's answer was lost; it may have charged. Resolved by
    /// asking again with the same idempotency key.
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// What it is for.
    pub kind: LineKind,
    /// For people.
    pub description: String,
    /// How many.
    pub quantity: i32,
    /// Each, in minor units.
    pub unit_minor: i64,
    /// In all (negative for credits and discounts).
    pub amount_minor: i64,
    /// The period it covers.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Its id.
    pub id: uuid::Uuid,
    /// The platform's number for it (`INV-000042`).
    pub number: String,
    /// The subscription it bills.
    pub subscription_id: SubscriptionId,
    /// Why it was issued.
    pub reason: InvoiceReason,
    /// The period it bills.
    pub period_start: DateTime<Utc>,
    /// Its end.
    pub period_end: DateTime<Utc>,
    /// Where it stands.
    pub status: InvoiceStatus,
    /// ISO 4217.
    pub currency: String,
    /// The sum of the lines before discounts.
    pub subtotal_minor: i64,
    /// Discounts.
    pub discount_minor: i64,
    /// What is owed: subtotal less discounts.
    pub total_minor: i64,
    /// What was paid.
    pub amount_paid_minor: i64,
    /// Automatic attempts to collect it so far.
    pub attempts: i32,
    /// When it is tried again, if it will be.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Its lines, in order.
    pub lines: Vec<InvoiceLine>,
}
