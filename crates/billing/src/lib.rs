//! Billing: what a business pays the platform, and how its customers pay it
//! for bookings.
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
//! - `invoices`: numbered invoices with lines and totals that add up;
//! - `overage`: use beyond a soft limit, priced by the plan version and
//!   billed once per usage period at the renewal after it ends;
//! - [`coupons`] and `discounts`: coupons the operator offers and owners
//!   redeem, and what they take off an invoice, in order, never below zero;
//! - `render`: an invoice as an HTML page a person reads and prints;
//! - [`quotes`] and `proration`: what a change of plan or seats costs, by
//!   day in the business's timezone, and the rules of when it applies;
//! - `changes`: previewing a change (a quote kept for a few minutes) and
//!   applying it for exactly the quoted amount; `change_undo`: undoing one
//!   whose charge did not go through;
//! - `charging`: collecting an invoice from the kept card (the payment row
//!   first, its id the idempotency key), and what a payment or a decline does
//!   to the subscription (the retry schedule, past due, unpaid);
//! - `upcoming`: the invoice the next period will get, as the job will issue
//!   it;
//! - `due`: the clock-driven job: trial reminders, a trial's first charge or
//!   its end, renewals, retries, and payments whose answer was lost;
//! - [`gateway`]: payment providers behind one trait, Stripe's and Conekta's
//!   thin clients and Stripe's webhook signatures;
//! - `events`: provider events kept once and applied by asking the provider
//!   for the object as it is now, so they never move a payment back;
//! - `methods`: the business's customers at providers and the cards it keeps
//!   there (brand and last four only);
//! - `booking_payments`: customers paying a business for their bookings on
//!   the business's own provider account: the provider's payment made after
//!   the booking commits (its row's id the key), and what the provider says
//!   settling the booking (confirmed, or its time freed);
//! - `booking_refunds`: giving it back, by the cancellation policy, by hand
//!   (`payment:refund`), or of a payment its booking no longer wanted;
//! - `takings`: the front desk's list of booking payments and daily takings;
//! - `payment_accounts`: the business's own provider account and its
//!   payment terms, set by its owners;
//! - [`BillingHooks`]: how notices reach people, implemented by `api` (which
//!   knows who a business's owners are).
//!
//! Every change to a subscription happens under a per-business lock
//! (`kernel::db::lock_named`), with its audit record and notices in the same
//! transaction.

mod booking_cards;
mod booking_fees;
mod booking_payments;
mod booking_refunds;
pub mod catalogue;
mod change_undo;
mod changes;
mod charging;
pub mod coupons;
mod discounts;
mod due;
mod dunning;
mod entity;
mod events;
pub mod gateway;
mod hooks;
mod info;
mod invoices;
mod methods;
pub mod model;
mod money;
mod overage;
mod payment_accounts;
pub mod periods;
mod proration;
pub mod quotes;
mod render;
mod service;
pub mod states;
mod subscriptions;
mod takings;
mod upcoming;

pub use booking_cards::BookingCardSetup;
pub use booking_payments::BookingCheckout;
pub use changes::QUOTE_TTL;
pub use charging::Collected;
pub use coupons::{Coupon, CouponDuration, CouponRedemption, MAX_ACTIVE_COUPONS, NewCoupon, RedemptionStatus};
pub use due::{DueReport, TRIAL_REMINDER, UNKNOWN_AFTER};
pub use events::{InboundEvent, PLATFORM_ACCOUNT};
pub use hooks::{BillingHooks, BillingNotice, NoticeKind};
pub use methods::MAX_PAYMENT_METHODS;
pub use model::{
    Address, BillingInfo, BillingInfoPatch, Interval, Invoice, InvoiceLine, InvoiceReason, InvoiceStatus, LineKind,
    NewPlanVersion, OveragePrice, PaymentCustomer, PaymentMethod, PaymentProvider, PaymentSetup, PaymentState, Plan,
    Subscription, SubscriptionStatus,
};
pub use money::format_money;
pub use quotes::{ChangeApplied, ChangeTiming, Quote, ScheduledChange};
pub use service::BillingService;
pub use subscriptions::MAX_QUANTITY;
pub use upcoming::UpcomingInvoice;
