//! GraphQL for what a business pays the platform, one file per area: its
//! billing details (`details`), its plan and subscription (`subscriptions`),
//! changes of plan or seats by a quote (`changes`), coupons (`coupons`),
//! the cards it keeps at payment providers (`methods`) and its invoices
//! (`invoices`). This module merges their roots; `Query.billing` is the
//! entry to everything a business's owners read here.
//!
//! What customers pay the business for bookings is here too
//! (`booking_payments`: the business's payment account and terms,
//! `payBooking`, refunds; `takings`: the front desk's list of payments and
//! daily takings); a booking's payments are shown through `objects`.

mod booking_payments;
mod changes;
mod coupons;
mod details;
mod invoices;
mod methods;
pub(crate) mod objects;
mod subscriptions;
mod takings;

use async_graphql::MergedObject;

/// Billing's queries.
#[derive(MergedObject, Default)]
pub(crate) struct BillingQuery(
    subscriptions::BillingQueries,
    booking_payments::BookingPaymentQueries,
    takings::TakingsQueries,
);

/// Billing's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct BillingMutation(
    details::BillingDetailsMutations,
    subscriptions::SubscriptionMutations,
    changes::SubscriptionChangeMutations,
    coupons::CouponMutations,
    methods::PaymentMethodMutations,
    invoices::InvoiceMutations,
    booking_payments::BookingPaymentMutations,
);
