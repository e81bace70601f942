//! The front desk's view of what customers paid: the business's booking
//! payments, filtered and paged, and its takings day by day (`payment:read`).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_ledger::payment_reads::{PaymentFilter, Takings, TakingsBy};

use super::objects::{BookingPaymentKindEnum, BookingPaymentObject, BookingPaymentStatusEnum, PaymentProviderEnum};
use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{Requires, parse_id, request, services};

/// Which booking payments to list.
#[derive(InputObject, Default)]
pub(crate) struct BookingPaymentFilterInput {
    /// In one of these statuses.
    status: Option<Vec<BookingPaymentStatusEnum>>,
    /// Of one of these kinds.
    kind: Option<Vec<BookingPaymentKindEnum>>,
    /// Asked at or after.
    from: Option<DateTime<Utc>>,
    /// Asked before.
    to: Option<DateTime<Utc>>,
    /// Of this customer.
    customer_id: Option<ID>,
    /// Of this booking.
    booking_id: Option<ID>,
}

/// What one provider took in one currency.
#[derive(SimpleObject)]
#[graphql(name = "TakingsLine")]
pub(crate) struct TakingsLineObject {
    /// The provider.
    provider: Option<PaymentProviderEnum>,
    /// Deposits and prepayments that went through.
    paid: MoneyObject,
    /// No-show and late-cancellation fees that went through.
    fees: MoneyObject,
    /// Given back.
    refunded: MoneyObject,
    /// What stays with the business: paid and fees, less refunded.
    net: MoneyObject,
}

/// One local day's takings.
#[derive(SimpleObject)]
#[graphql(name = "TakingsDay")]
pub(crate) struct TakingsDayObject {
    /// The date, in the business's timezone.
    date: NaiveDate,
    /// Per provider and currency.
    lines: Vec<TakingsLineObject>,
}

/// Takings over some days.
#[derive(SimpleObject)]
#[graphql(name = "Takings")]
pub(crate) struct TakingsObject {
    /// Each day with any, in order.
    days: Vec<TakingsDayObject>,
    /// All the days together, per provider and currency.
    total: Vec<TakingsLineObject>,
}

fn lines(by: &TakingsBy) -> ApiResult<Vec<TakingsLineObject>> {
    by.iter()
        .map(|((provider, currency), takings)| {
            Ok(TakingsLineObject {
                provider: super::objects::provider_named(provider),
                paid: money(takings.paid_minor, currency)?,
                fees: money(takings.fees_minor, currency)?,
                refunded: money(takings.refunded_minor, currency)?,
                net: money(takings.net_minor(), currency)?,
            })
        })
        .collect()
}

/// The front desk's queries.
#[derive(Default)]
pub(super) struct TakingsQueries;

#[operations]
#[Object]
impl TakingsQueries {
    /// The business's booking payments, the oldest first (`last: 20` for
    /// the newest), optionally filtered.
    #[access(Requires(Permission::PaymentRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn booking_payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<BookingPaymentFilterInput>,
    ) -> ApiResult<Connection<String, BookingPaymentObject>> {
        let f = filter.unwrap_or_default();
        let filter = PaymentFilter {
            statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
            kinds: f.kind.unwrap_or_default().into_iter().map(Into::into).collect(),
            from: f.from,
            to: f.to,
            customer_id: f.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?,
            booking_id: f.booking_id.as_ref().map(|id| parse_id("bookingId", id)).transpose()?,
        };
        let page = page_request(first, after, last, before);
        let page = services(ctx)?.billing.booking_payments(request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |p| p.id, BookingPaymentObject))
    }

    /// What the business took each local day from `from` to `to` (both
    /// included, at most 31 days): payments on the day they went through,
    /// refunds on the day they did; per provider and currency, and in total.
    #[access(Requires(Permission::PaymentRead))]
    async fn takings(&self, ctx: &Context<'_>, from: NaiveDate, to: NaiveDate) -> ApiResult<TakingsObject> {
        let days = services(ctx)?.billing.takings(request(ctx)?, from, to).await?;
        let mut total = TakingsBy::new();
        for by in days.values() {
            for (key, takings) in by {
                let sum: &mut Takings = total.entry(key.clone()).or_default();
                sum.paid_minor += takings.paid_minor;
                sum.fees_minor += takings.fees_minor;
                sum.refunded_minor += takings.refunded_minor;
            }
        }
        let days = days
            .iter()
            .map(|(date, by)| Ok(TakingsDayObject { date: *date, lines: lines(by)? }))
            .collect::<ApiResult<_>>()?;
        Ok(TakingsObject { days, total: lines(&total)? })
    }
}
