//! Reading a business's booking payments for its front desk: a filtered,
//! paged list, and the takings of each local day (what was paid, what was
//! given back, the fees), per provider and currency and in total.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::paging::{Keyset, Page};
use tessera_kernel::{BookingId, CustomerId, DomainError, Result, TenantId};

use crate::entity::{booking_payment, booking_refund};
use crate::payments::{BookingPayment, BookingPaymentKind, BookingPaymentStatus};
use crate::refunds::RefundStatus;

/// The longest stretch of days one takings read covers.
pub const MAX_TAKINGS_DAYS: i64 = 31;

/// Which payments to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// In one of these statuses (any when empty).
    pub statuses: Vec<BookingPaymentStatus>,
    /// Of one of these kinds (any when empty).
    pub kinds: Vec<BookingPaymentKind>,
    /// Asked at or after.
    pub from: Option<DateTime<Utc>>,
    /// Asked before.
    pub to: Option<DateTime<Utc>>,
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// Of this booking.
    pub booking_id: Option<BookingId>,
}

/// A page of the business's payments, the oldest first (by id, which is
/// time-ordered).
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    filter: &PaymentFilter,
    keyset: &Keyset,
) -> Result<Page<BookingPayment>> {
    let mut select = booking_payment::Entity::find().filter(booking_payment::Column::TenantId.eq(tenant_id));
    if !filter.statuses.is_empty() {
        select = select.filter(booking_payment::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if !filter.kinds.is_empty() {
        select = select.filter(booking_payment::Column::Kind.is_in(filter.kinds.iter().copied()));
    }
    if let Some(from) = filter.from {
        select = select.filter(booking_payment::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(booking_payment::Column::CreatedAt.lt(to));
    }
    if let Some(customer) = filter.customer_id {
        select = select.filter(booking_payment::Column::CustomerId.eq(customer));
    }
    if let Some(booking) = filter.booking_id {
        select = select.filter(booking_payment::Column::BookingId.eq(booking));
    }
    let rows = keyset.apply(select, booking_payment::Column::Id).all(conn).await?;
    Ok(keyset.finish(rows).map(BookingPayment::from))
}

/// What one provider took in one currency over a stretch of time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Takings {
    /// Deposits and prepayments that went through.
    pub paid_minor: i64,
    /// No-show and late-cancellation fees that went through.
    pub fees_minor: i64,
    /// Given back.
    pub refunded_minor: i64,
}

impl Takings {
    /// What stays with the business.
    pub fn net_minor(&self) -> i64 {
        self.paid_minor + self.fees_minor - self.refunded_minor
    }
}

/// Takings keyed by (provider, currency).
pub type TakingsBy = BTreeMap<(String, String), Takings>;

/// The takings of each local day from `from` to `to` (both included, at most
/// [`MAX_TAKINGS_DAYS`]) in `tz`: a payment counts on the day it went
/// through, a refund on the day it did. Days without any are left out.
pub async fn takings<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    tz: Tz,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<BTreeMap<NaiveDate, TakingsBy>> {
    if to < from {
        return Err(DomainError::invalid("to", "must be on or after from"));
    }
    if (to - from).num_days() >= MAX_TAKINGS_DAYS {
        return Err(DomainError::invalid("to", format!("takings cover at most {MAX_TAKINGS_DAYS} days")));
    }
    let start = local_midnight(from, tz)?;
    let end = local_midnight(to.succ_opt().unwrap_or(to), tz)?;
    let paid: Vec<(DateTime<Utc>, String, String, BookingPaymentKind, i64)> = booking_payment::Entity::find()
        .select_only()
        .columns([
            booking_payment::Column::SettledAt,
            booking_payment::Column::Provider,
            booking_payment::Column::Currency,
            booking_payment::Column::Kind,
            booking_payment::Column::CapturedMinor,
        ])
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::Status.eq(BookingPaymentStatus::Succeeded))
        .filter(booking_payment::Column::SettledAt.gte(start))
        .filter(booking_payment::Column::SettledAt.lt(end))
        .into_tuple()
        .all(conn)
        .await?;
    let given: Vec<(DateTime<Utc>, String, i64, uuid::Uuid)> = booking_refund::Entity::find()
        .select_only()
        .columns([
            booking_refund::Column::SettledAt,
            booking_refund::Column::Currency,
            booking_refund::Column::AmountMinor,
            booking_refund::Column::PaymentId,
        ])
        .filter(booking_refund::Column::TenantId.eq(tenant_id))
        .filter(booking_refund::Column::Status.eq(RefundStatus::Succeeded))
        .filter(booking_refund::Column::SettledAt.gte(start))
        .filter(booking_refund::Column::SettledAt.lt(end))
        .into_tuple()
        .all(conn)
        .await?;
    // The provider a refund went through is its payment's.
    let payment_ids: Vec<uuid::Uuid> = given.iter().map(|(_, _, _, payment)| *payment).collect();
    let providers: BTreeMap<uuid::Uuid, String> = if payment_ids.is_empty() {
        BTreeMap::new()
    } else {
        booking_payment::Entity::find()
            .select_only()
            .columns([booking_payment::Column::Id, booking_payment::Column::Provider])
            .filter(booking_payment::Column::TenantId.eq(tenant_id))
            .filter(booking_payment::Column::Id.is_in(payment_ids))
            .into_tuple::<(uuid::Uuid, String)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };
    let mut days: BTreeMap<NaiveDate, TakingsBy> = BTreeMap::new();
    let day = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive();
    for (at, provider, currency, kind, captured) in paid {
        let line = days.entry(day(at)).or_default().entry((provider, currency)).or_default();
        match kind {
            BookingPaymentKind::Deposit | BookingPaymentKind::Prepayment => line.paid_minor += captured,
            BookingPaymentKind::NoShowFee | BookingPaymentKind::LateCancellationFee => line.fees_minor += captured,
        }
    }
    for (at, currency, amount, payment) in given {
        let provider = providers.get(&payment).cloned().unwrap_or_default();
        days.entry(day(at)).or_default().entry((provider, currency)).or_default().refunded_minor += amount;
    }
    Ok(days)
}

/// The instant a local date begins in `tz` (the first valid instant, across
/// a daylight-saving gap).
fn local_midnight(date: NaiveDate, tz: Tz) -> Result<DateTime<Utc>> {
    (0..=120)
        .step_by(30)
        .find_map(|minutes| {
            let time = chrono::NaiveTime::MIN + chrono::Duration::minutes(minutes);
            date.and_time(time).and_local_timezone(tz).earliest()
        })
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| DomainError::Internal(format!("{date} has no midnight in {tz}")))
}
