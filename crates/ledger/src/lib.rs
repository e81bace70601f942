//! Ledger: what each tenant used, what its tier lets it use, and what its
//! customers paid it for bookings.
//!
//! A low crate (it depends on `kernel` alone), called inside other crates'
//! transactions, like `audit::append` and `notify::queue`:
//!
//! - [`metric`]: the metrics (providers, bookings, SMS, …), how each is
//!   counted (a stock, uses per period, a rate per minute) and the period a
//!   use falls in (the calendar month in the tenant's timezone);
//! - [`limits`]: each tier's limits and the platform operator's limits for one
//!   tenant, hard (refused beyond) or soft (allowed, counted as overage),
//!   versioned so a change never rewrites what applied before;
//! - [`usage`]: [`consume`], which records a use under an idempotency key and
//!   adds it to the period's counter in the statement that checks the limit;
//! - [`stock`]: stocks the owning domain recounts (staff seats), under a lock,
//!   recorded as the difference from the counter;
//! - [`alerts`]: thresholds (80 % and 100 % of each limit, and the owners'
//!   own), each fired once per period in the transaction whose use reached it;
//! - [`reads`]: the current period per metric, daily series, use per source;
//! - [`recompute`]: the job proving every counter equals its records;
//! - [`PaymentTerms`]: what a business asks its customers to pay when they
//!   book;
//! - [`payment_reads`]: the front desk's list of payments and daily takings;
//! - [`refunds`]: money given back, never beyond what was paid (the database
//!   keeps the total);
//! - [`cards`]: the card each customer keeps at a business's payment
//!   account for its fees (brand and last four only);
//! - [`payments`]: the business's own payment account, and the payments
//!   asked of its customers for bookings, written in the booking's
//!   transaction and moved only forward;
//! - [`UsageService`]: those reads for a tenant's owners, and the platform
//!   operator's changes.
//!
//! The tenant's tier and timezone come from the caller ([`UsageTerms`]), who
//! has read the tenant in the same transaction; a tier change therefore
//! changes the limits in the transaction that changes the tier.

mod accounts;
pub mod alerts;
pub mod cards;
mod entity;
pub mod limits;
pub mod metric;
pub mod payment_reads;
mod payment_terms;
pub mod payments;
pub mod reads;
pub mod recompute;
pub mod refunds;
mod service;
pub mod stock;
pub mod usage;

pub use alerts::{Fired, Reached, Threshold, UsageAlert, UsageHooks, count_under, count_with};
pub use limits::{Limit, LimitOrigin, NewLimit, TierLimit};
pub use metric::{LimitMode, Measure, Metric, Period};
pub use payment_terms::{CardFees, MAX_DEPOSIT_MINOR, PaymentMode, PaymentTerms};
pub use reads::{EndedOverage, Meter};
pub use recompute::Drift;
pub use service::UsageService;
pub use stock::{lock_stock, settle_stock};
pub use usage::{Counted, Usage, UsageTerms, consume};
