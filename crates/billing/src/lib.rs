//! Billing: what a business pays the platform.
//!
//! The platform owns the billing engine (periods, trials, cancellation, the
//! business's tier); payment providers will only move money. This crate holds:
//!
//! - [`model`]: plans, billing details, subscriptions;
//! - [`catalogue`]: the versioned plan catalogue (a plan's new price is a new
//!   version; a subscription keeps the price it started with);
//! - `info`: a business's billing details, for its owners (`billing:manage`),
//!   audited;
//! - [`states`]: the subscription state machine, the one place a status
//!   changes;
//! - [`periods`]: billing periods and trials in the business's timezone;
//! - `subscriptions`: starting (one trial per business), cancelling now or
//!   at the period's end, resuming; the business's tier follows the
//!   subscription in the same transaction ([`SubscriptionStatus::tier`]);
//! - `due`: the clock-driven job: trial reminders, trials ending,
//!   subscriptions ending at their period's end;
//! - [`gateway`]: payment providers behind one trait, and Stripe's thin
//!   client;
//! - `methods`: the business's customers at providers and the cards it keeps
//!   there (brand and last four only);
//! - [`BillingHooks`]: how notices reach people, implemented by `api` (which
//!   knows who a business's owners are).
//!
//! Every change to a subscription happens under a per-business lock
//! (`kernel::db::lock_named`), with its audit record and notices in the same
//! transaction.

pub mod catalogue;
mod due;
mod entity;
pub mod gateway;
mod hooks;
mod info;
mod methods;
pub mod model;
mod money;
pub mod periods;
mod service;
pub mod states;
mod subscriptions;

pub use due::{DueReport, TRIAL_REMINDER};
pub use hooks::{BillingHooks, BillingNotice, NoticeKind};
pub use model::{
    Address, BillingInfo, BillingInfoPatch, Interval, NewPlanVersion, PaymentCustomer, PaymentMethod, PaymentProvider,
    PaymentSetup, Plan, Subscription, SubscriptionStatus,
};
pub use money::format_money;
pub use service::BillingService;
pub use subscriptions::MAX_QUANTITY;
