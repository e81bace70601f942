//! The domain types of notifications.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde_json::Value;
use tessera_kernel::{DeliveryId, NotificationId, TenantId, UserId, WebhookEndpointId};

/// How a message reaches someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum Channel {
    /// Email over SMTP.
    #[sea_orm(string_value = "email")]
    Email,
    /// A text message through the SMS provider.
    #[sea_orm(string_value = "sms")]
    Sms,
    /// A push notification through the push provider.
    #[sea_orm(string_value = "push")]
    Push,
    /// A signed HTTP POST to one of the tenant's webhook endpoints.
    #[sea_orm(string_value = "webhook")]
    Webhook,
    /// A message in the recipient's inbox, read over GraphQL and pushed live.
    #[sea_orm(string_value = "in_app")]
    InApp,
}

impl Channel {
    /// The channels a person can be reached on.
    pub const PERSONAL: [Channel; 4] = [Self::Email, Self::Sms, Self::Push, Self::InApp];
}

/// How urgent a message is. Urgent ones ignore quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum Priority {
    /// Can wait.
    #[sea_orm(string_value = "low")]
    Low,
    /// The default.
    #[sea_orm(string_value = "normal")]
    Normal,
    /// Sent before normal ones.
    #[sea_orm(string_value = "high")]
    High,
    /// Sent first, at any hour.
    #[sea_orm(string_value = "urgent")]
    Urgent,
}

impl Priority {
    /// The number the worker orders by (higher first).
    pub(crate) fn rank(self) -> i16 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }
}

/// What a message to a person is about: picks its template, default channels and
/// priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(60))")]
pub enum Topic {
    /// A booking was made and waits for the business to confirm it.
    #[sea_orm(string_value = "booking.received")]
    BookingReceived,
    /// A booking was confirmed (made confirmed, or confirmed later).
    #[sea_orm(string_value = "booking.confirmed")]
    BookingConfirmed,
    /// A booking moved to another time or provider.
    #[sea_orm(string_value = "booking.changed")]
    BookingChanged,
    /// A booking was cancelled.
    #[sea_orm(string_value = "booking.cancelled")]
    BookingCancelled,
    /// A booking starts soon.
    #[sea_orm(string_value = "booking.reminder")]
    BookingReminder,
    /// A no-show or late-cancellation fee was charged to the customer's
    /// kept card.
    #[sea_orm(string_value = "booking.fee_charged")]
    BookingFeeCharged,
    /// A time freed and is offered to the customer from the waitlist, held
    /// for them until the offer runs out.
    #[sea_orm(string_value = "waitlist.offered")]
    WaitlistOffered,
    /// Someone was invited to join the business.
    #[sea_orm(string_value = "invitation")]
    Invitation,
    /// A password reset was asked for.
    #[sea_orm(string_value = "password.reset")]
    PasswordReset,
    /// A new or changed email address needs confirming.
    #[sea_orm(string_value = "email.verification")]
    EmailVerification,
    /// A way to sign in (authenticator app, passkey) or an API key was added to
    /// the account: its owner hears of it, in case it was not them.
    #[sea_orm(string_value = "account.sign_in_method_added")]
    SignInMethodAdded,
    /// Someone signed up with this address: the link that creates the account.
    #[sea_orm(string_value = "account.sign_up")]
    SignUpConfirmation,
    /// Someone tried to sign up with this address, which has an account: its
    /// owner hears of it instead of the sign-up being told the address is taken.
    #[sea_orm(string_value = "account.sign_up_attempted")]
    SignUpAttempted,
    /// The business used a share of its tier's limit (80 %, 100 %, or a
    /// threshold its owners set): its owners hear of it.
    #[sea_orm(string_value = "usage.threshold_reached")]
    UsageThresholdReached,
    /// The business's free trial ends soon: its owners hear what happens then.
    #[sea_orm(string_value = "billing.trial_ending")]
    BillingTrialEnding,
    /// The business's subscription started, ended, or will end: its owners hear
    /// of it.
    #[sea_orm(string_value = "billing.subscription_changed")]
    BillingSubscriptionChanged,
    /// A payment for the business's subscription was declined: its owners
    /// hear of the first failure, and again before the last try.
    #[sea_orm(string_value = "billing.payment_failed")]
    BillingPaymentFailed,
    /// An invoice of the business's subscription was paid.
    #[sea_orm(string_value = "billing.payment_succeeded")]
    BillingPaymentSucceeded,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 18] = [
        Self::BookingReceived,
        Self::BookingConfirmed,
        Self::BookingChanged,
        Self::BookingCancelled,
        Self::BookingReminder,
        Self::BookingFeeCharged,
        Self::WaitlistOffered,
        Self::Invitation,
        Self::PasswordReset,
        Self::EmailVerification,
        Self::SignInMethodAdded,
        Self::SignUpConfirmation,
        Self::SignUpAttempted,
        Self::UsageThresholdReached,
        Self::BillingTrialEnding,
        Self::BillingSubscriptionChanged,
        Self::BillingPaymentFailed,
        Self::BillingPaymentSucceeded,
    ];

    /// The wire name (`booking.confirmed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingReceived => "booking.received",
            Self::BookingConfirmed => "booking.confirmed",
            Self::BookingChanged => "booking.changed",
            Self::BookingCancelled => "booking.cancelled",
            Self::BookingReminder => "booking.reminder",
            Self::BookingFeeCharged => "booking.fee_charged",
            Self::WaitlistOffered => "waitlist.offered",
            Self::Invitation => "invitation",
            Self::PasswordReset => "password.reset",
            Self::EmailVerification => "email.verification",
            Self::SignInMethodAdded => "account.sign_in_method_added",
            Self::SignUpConfirmation => "account.sign_up",
            Self::SignUpAttempted => "account.sign_up_attempted",
            Self::UsageThresholdReached => "usage.threshold_reached",
            Self::BillingTrialEnding => "billing.trial_ending",
            Self::BillingSubscriptionChanged => "billing.subscription_changed",
            Self::BillingPaymentFailed => "billing.payment_failed",
            Self::BillingPaymentSucceeded => "billing.payment_succeeded",
        }
    }

    /// Whether it is about a person's account rather than a business: sent by the
    /// platform (no tenant), always with the built-in templates, since an account
    /// is not any one tenant's to word messages for.
    pub fn is_account_message(self) -> bool {
        matches!(
            self,
            Self::PasswordReset
                | Self::EmailVerification
                | Self::SignInMethodAdded
                | Self::SignUpConfirmation
                | Self::SignUpAttempted
        )
    }

    /// Whether a tenant's own template for it is sent inside the platform's
    /// frame (`template::framed`): messages to addresses that are not the
    /// tenant's members or customers yet.
    pub fn is_framed(self) -> bool {
        self == Self::Invitation
    }

    /// Whether its message carries a secret (a single-use link): its text is
    /// kept only until it is delivered or given up on.
    pub fn carries_secret(self) -> bool {
        matches!(self, Self::Invitation | Self::PasswordReset | Self::EmailVerification | Self::SignUpConfirmation)
    }

    /// The channels tried when nobody's preferences say otherwise. SMS, which
    /// costs money and wakes people, is kept for changes and reminders.
    pub fn default_channels(self) -> &'static [Channel] {
        match self {
            Self::BookingReceived
            | Self::BookingConfirmed
            | Self::UsageThresholdReached
            | Self::BillingTrialEnding
            | Self::BillingSubscriptionChanged
            | Self::BillingPaymentFailed
            | Self::BillingPaymentSucceeded
            | Self::BookingFeeCharged => &[Channel::Email, Channel::InApp],
            Self::BookingChanged | Self::BookingCancelled => &[Channel::Email, Channel::Sms, Channel::InApp],
            // Time-bound: it runs out if not seen.
            Self::BookingReminder | Self::WaitlistOffered => {
                &[Channel::Email, Channel::Sms, Channel::Push, Channel::InApp]
            }
            Self::Invitation
            | Self::PasswordReset
            | Self::EmailVerification
            | Self::SignInMethodAdded
            | Self::SignUpConfirmation
            | Self::SignUpAttempted => &[Channel::Email],
        }
    }

    /// The priority when the sender names none.
    pub fn default_priority(self) -> Priority {
        match self {
            Self::BookingReceived | Self::BookingConfirmed | Self::BookingReminder | Self::Invitation => {
                Priority::Normal
            }
            // The limit itself reached is sent as urgent by its sender.
            Self::BookingChanged
            | Self::BookingCancelled
            | Self::UsageThresholdReached
            | Self::BillingTrialEnding
            | Self::BillingSubscriptionChanged
            | Self::BillingPaymentFailed
            | Self::BookingFeeCharged
            | Self::WaitlistOffered => Priority::High,
            Self::BillingPaymentSucceeded => Priority::Normal,
            // Someone is waiting for it, at whatever hour.
            Self::PasswordReset
            | Self::EmailVerification
            | Self::SignInMethodAdded
            | Self::SignUpConfirmation
            | Self::SignUpAttempted => Priority::Urgent,
        }
    }
}

/// Who a message is for, and how to reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    /// Their account (in-app messages, push, preferences).
    pub user_id: Option<UserId>,
    /// Their name, for greetings.
    pub name: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// Their phone number (E.164).
    pub phone: Option<String>,
}

/// A message to queue for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// What it is about.
    pub topic: Topic,
    /// How urgent (the topic's default when `None`).
    pub priority: Option<Priority>,
    /// Who it is for.
    pub recipient: Recipient,
    /// The template's variables (an object).
    pub variables: Value,
    /// The record it is about (`("booking", id)`), so later changes can cancel it.
    pub subject: Option<(&'static str, String)>,
    /// Not sent before this instant (a reminder); now when `None`.
    pub not_before: Option<DateTime<Utc>>,
    /// Queued at most once per tenant with this key (a reminder per booking and
    /// start time).
    pub dedupe_key: Option<String>,
    /// The person who had it sent (an inviter), kept with the message so a
    /// tenant's words can be traced to who sent them; `None` for messages the
    /// system sends on its own (reminders, booking notices, account messages).
    pub sent_by: Option<UserId>,
    /// An iCalendar file (RFC 5545) its email carries as `booking.ics`: the
    /// booking's event, so the customer's calendar app adds or updates it.
    pub calendar: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum DeliveryStatus {
    /// Waiting for its time or its next try.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Accepted by the provider or the receiver.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up after the last try.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Not sent, for a reason that retrying cannot change (no provider
    /// configured, the recipient opted out).
    #[sea_orm(string_value = "skipped")]
    Skipped,
    /// Withdrawn before it was sent (a reminder of a cancelled booking).
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum AttemptOutcome {
    /// Accepted.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Refused or unreachable; tried again later.
    #[sea_orm(string_value = "retry")]
    Retry,
    /// Refused for good, or the last try failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Not sent, and never will be.
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

/// A notification, as its recipient reads it in the app.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxMessage {
    /// Id.
    pub id: NotificationId,
    /// What it is about.
    pub topic: String,
    /// How urgent.
    pub priority: Priority,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// The record it is about.
    pub subject: Option<(String, String)>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the recipient read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// One delivery, for the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Id.
    pub id: DeliveryId,
    /// The notification.
    pub notification_id: NotificationId,
    /// Its topic.
    pub topic: String,
    /// The channel.
    pub channel: Channel,
    /// Where to (an email address, a phone number, a webhook endpoint id, a user id).
    pub destination: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Tries so far.
    pub attempts: i32,
    /// When it is tried next, while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// The last error.
    pub last_error: Option<String>,
    /// The provider's id for the message.
    pub provider_message_id: Option<String>,
    /// When it was accepted.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was first opened (email) or read (in-app).
    pub opened_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its number, from 1.
    pub number: i32,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// What the provider or receiver answered (truncated).
    pub response: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only these notifications'.
    pub notification_id: Option<NotificationId>,
    /// Only over this channel.
    pub channel: Option<Channel>,
    /// Only in this status.
    pub status: Option<DeliveryStatus>,
}

/// A URL the tenant receives signed webhooks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Id.
    pub id: WebhookEndpointId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives; empty for all.
    pub topics: Vec<String>,
    /// Whether events are sent to it.
    pub active: bool,
    /// Until when the previous secret still signs (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its signing secret, shown once: when created or rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 key the receiver verifies signatures with.
    pub secret: String,
}

/// A webhook endpoint to add or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInput {
    /// Where events are POSTed (https; http only where allowed by configuration).
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives; empty for all.
    pub topics: Vec<String>,
    /// Whether events are sent to it.
    pub active: bool,
}

/// A change to a webhook endpoint: `None` leaves a field as it is, `Some(None)`
/// clears the description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointPatch {
    /// Where events are POSTed.
    pub url: Option<String>,
    /// What it is for.
    pub description: Option<Option<String>>,
    /// The event types it receives; empty for all.
    pub topics: Option<Vec<String>>,
    /// Whether events are sent to it.
    pub active: Option<bool>,
}
