//! Notify: messages that are delivered, logged and retried.
//!
//! A change that should tell someone (a booking made, moved, cancelled; a
//! reminder due) calls [`queue`] inside its own transaction, so the message exists
//! exactly when the change does (the outbox pattern). Each message fans out into
//! deliveries, one per channel and destination: email over SMTP, SMS and push
//! through provider traits, the recipient's in-app inbox (read over GraphQL and
//! pushed live), and signed webhooks ([`queue_event`]) to the tenant's endpoints.
//!
//! The [`DeliveryWorker`] claims due deliveries with a lease, sends them, records
//! every attempt in the delivery log, and retries failures with exponential
//! backoff; a crashed worker's leases run out and its deliveries are taken again.
//! Every message carries its notification's id to the receiver (webhook id,
//! `Message-ID`, provider idempotency key), so a retry is recognisably the same
//! message. Templates are per topic and language with safe built-in defaults
//! ([`template`]); email opens are tracked by a pixel, in-app ones by reading.
//!
//! Account messages ("reset your password") are the platform's, about accounts
//! no tenant owns: [`queue_account_message`] puts them in an outbox of their
//! own, which the same worker sends from by email.
//!
//! Members and tenants choose channels and quiet hours ([`Preferences`]); the
//! worker skips a channel turned off and holds email, SMS and push during quiet
//! hours. Urgent messages (a password reset) go through regardless.

mod account;
mod channel;
mod endpoints;
mod entity;
mod inbox;
mod model;
mod preference;
mod preference_settings;
mod queue;
mod service;
pub mod template;
mod template_billing;
mod template_service;
mod template_shape;
mod template_usage;
mod template_waitlist;
mod webhook;
mod worker;
mod worker_account;
mod worker_digest;
mod worker_quota;
mod worker_send;
mod worker_topics;

pub use account::{queue_account_message, withdraw_account_messages};
pub use channel::{
    EmailMessage, EmailSender, PushSender, Receipt, Recorder, SendError, ShortMessage, SmsSender, SmtpSender,
};
pub use endpoints::WEBHOOK_EVENT_TYPES;
pub use model::{
    Attempt, AttemptOutcome, Channel, Delivery, DeliveryFilter, DeliveryStatus, EndpointInput, EndpointPatch,
    EndpointWithSecret, InboxMessage, NewNotification, Priority, Recipient, Topic, WebhookEndpoint,
};
pub use preference::{DailyDigest, PreferenceView, Preferences, QuietHours};
pub use queue::{queue, queue_all, queue_event, queued_since, withdraw};
pub use service::NotifyService;
pub use template_service::{Preview, TemplateView};
pub use webhook::{TargetPolicy, WebhookClient, sign};
pub use worker::{DeliveryWorker, Providers, WorkerConfig};
