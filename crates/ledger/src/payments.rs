//! What customers pay a business for their bookings, and the business's own
//! account at the payment provider that takes it.
//!
//! A payment row is written in the booking's transaction, before anything is
//! asked of the provider; its id is the provider call's idempotency key, so a
//! lost answer creates nothing twice. What the provider says is recorded by
//! [`record`], one conditional `UPDATE` that only moves a payment forward:
//! a settled payment (succeeded, failed, cancelled) never changes again, and a
//! processing one never goes back to waiting, whatever order the answers and
//! events arrive in. The database refuses a captured amount above the amount
//! asked and a refunded total above the captured amount.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, StringLen};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DeriveActiveEnum, EntityTrait, EnumIter, QueryFilter,
    QueryOrder, QuerySelect,
};
use tessera_kernel::{BookingId, CustomerId, DomainError, Result, TenantId};
use uuid::Uuid;

pub use crate::accounts::{PaymentAccount, account_of, set_account, set_terms};
use crate::entity::booking_payment;

/// What a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(30))")]
pub enum BookingPaymentKind {
    /// Part of the price, paid when booking; the rest is paid at the visit.
    #[sea_orm(string_value = "deposit")]
    Deposit,
    /// The whole price, paid when booking.
    #[sea_orm(string_value = "prepayment")]
    Prepayment,
    /// The business's fee for a customer who did not come.
    #[sea_orm(string_value = "no_show_fee")]
    NoShowFee,
    /// The business's fee for cancelling late.
    #[sea_orm(string_value = "late_cancellation_fee")]
    LateCancellationFee,
}

/// Where a payment stands. Refunds do not change it: `refunded_minor` tells
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum BookingPaymentStatus {
    /// Written; the provider has not been asked, or waits for the customer's card.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The customer's bank asks them to authenticate.
    #[sea_orm(string_value = "requires_action")]
    RequiresAction,
    /// The provider is processing it; the outcome comes later.
    #[sea_orm(string_value = "processing")]
    Processing,
    /// The money moved.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Declined or failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Given up before it moved money (the booking's hold ended).
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// The provider was asked and its answer lost; the payment job asks again.
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

impl BookingPaymentKind {
    /// Whether it is a fee charged to a kept card (not paid when booking).
    pub fn is_fee(self) -> bool {
        matches!(self, Self::NoShowFee | Self::LateCancellationFee)
    }
}

impl BookingPaymentStatus {
    /// Whether it never changes again.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// The statuses a payment may be in to move to `self`: forward only.
    fn reached_from(self) -> &'static [BookingPaymentStatus] {
        use BookingPaymentStatus::*;
        match self {
            Succeeded | Failed | Canceled => &[Pending, RequiresAction, Processing, Unknown],
            Processing => &[Pending, RequiresAction, Unknown],
            RequiresAction => &[Pending, Unknown],
            Pending => &[Unknown],
            Unknown => &[Pending],
        }
    }
}

/// An amount asked of a customer for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingPayment {
    /// The business paid.
    pub tenant_id: TenantId,
    /// Id, and the provider calls' idempotency key.
    pub id: Uuid,
    /// The booking.
    pub booking_id: BookingId,
    /// Who pays.
    pub customer_id: CustomerId,
    /// What for.
    pub kind: BookingPaymentKind,
    /// `stripe`.
    pub provider: String,
    /// The business's account it is paid to.
    pub account_id: String,
    /// Asked, in minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Where it stands.
    pub status: BookingPaymentStatus,
    /// The provider's id (`pi_…`), once asked.
    pub provider_payment_id: Option<String>,
    /// Why it failed, as the provider said.
    pub failure_code: Option<String>,
    /// Taken by the provider.
    pub captured_minor: i64,
    /// Given back.
    pub refunded_minor: i64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it settled.
    pub settled_at: Option<DateTime<Utc>>,
}

impl From<booking_payment::Model> for BookingPayment {
    fn from(row: booking_payment::Model) -> Self {
        Self {
            tenant_id: row.tenant_id,
            id: row.id,
            booking_id: row.booking_id,
            customer_id: row.customer_id,
            kind: row.kind,
            provider: row.provider,
            account_id: row.account_id,
            amount_minor: row.amount_minor,
            currency: row.currency,
            status: row.status,
            provider_payment_id: row.provider_payment_id,
            failure_code: row.failure_code,
            captured_minor: row.captured_minor,
            refunded_minor: row.refunded_minor,
            created_at: row.created_at,
            updated_at: row.updated_at,
            settled_at: row.settled_at,
        }
    }
}

/// A payment to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBookingPayment {
    /// The booking.
    pub booking_id: BookingId,
    /// Who pays.
    pub customer_id: CustomerId,
    /// What for.
    pub kind: BookingPaymentKind,
    /// In minor units, above zero.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
}

/// What the provider said about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Where it stands there.
    pub status: BookingPaymentStatus,
    /// Its id there.
    pub provider_payment_id: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
}

/// `now` as both databases keep it (microseconds).
pub(crate) fn stamp(now: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(now, 6)
}

/// Writes a payment asked of a customer, in the booking's transaction, to
/// `account`. One open payment of a kind per booking (the database's rule):
/// a second is a `CONFLICT`.
pub async fn open(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    account: &PaymentAccount,
    new: NewBookingPayment,
    now: DateTime<Utc>,
) -> Result<BookingPayment> {
    let now = stamp(now);
    let row = booking_payment::Model {
        tenant_id,
        id: tessera_kernel::id::uuid_v7_at(now),
        booking_id: new.booking_id,
        customer_id: new.customer_id,
        kind: new.kind,
        provider: account.provider.clone(),
        account_id: account.account_id.clone(),
        amount_minor: new.amount_minor,
        currency: new.currency,
        status: BookingPaymentStatus::Pending,
        provider_payment_id: None,
        failure_code: None,
        captured_minor: 0,
        refunded_minor: 0,
        created_at: now,
        updated_at: now,
        settled_at: None,
    };
    booking_payment::Entity::insert(booking_payment::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict("this booking has a payment under way already".into())
            }
            _ => e.into(),
        })?;
    Ok(row.into())
}

/// One payment of the business.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: Uuid) -> Result<Option<BookingPayment>> {
    Ok(booking_payment::Entity::find_by_id((tenant_id, id)).one(conn).await?.map(BookingPayment::from))
}

/// The payments of `bookings`, oldest first; every booking answered.
pub async fn of_bookings<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    bookings: &[BookingId],
) -> Result<HashMap<BookingId, Vec<BookingPayment>>> {
    let rows = booking_payment::Entity::find()
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::BookingId.is_in(bookings.iter().copied()))
        .order_by_asc(booking_payment::Column::Id)
        .all(conn)
        .await?;
    let mut by_booking: HashMap<BookingId, Vec<BookingPayment>> = bookings.iter().map(|id| (*id, vec![])).collect();
    for row in rows {
        by_booking.entry(row.booking_id).or_default().push(row.into());
    }
    Ok(by_booking)
}

/// The booking's payment asked at booking (deposit or prepayment) that is
/// still open or succeeded: the newest.
pub async fn booking_payment<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    booking_id: BookingId,
) -> Result<Option<BookingPayment>> {
    Ok(booking_payment::Entity::find()
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::BookingId.eq(booking_id))
        .filter(booking_payment::Column::Kind.is_in([BookingPaymentKind::Deposit, BookingPaymentKind::Prepayment]))
        .order_by_desc(booking_payment::Column::Id)
        .one(conn)
        .await?
        .map(BookingPayment::from))
}

/// Records what the provider said, if it moves the payment forward; returns
/// the payment before and after, or `None` when it would not (a settled
/// payment, or an older answer). One conditional `UPDATE`: two answers
/// recorded at once move it once.
pub async fn record(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    observed: &Observed,
    now: DateTime<Utc>,
) -> Result<Option<(BookingPayment, BookingPayment)>> {
    let Some(before) = find(txn, tenant_id, id).await? else { return Err(DomainError::NotFound { entity: "payment" }) };
    let to = observed.status;
    let now = stamp(now);
    let mut update = booking_payment::Entity::update_many()
        .col_expr(booking_payment::Column::Status, Expr::value(to))
        .col_expr(booking_payment::Column::UpdatedAt, Expr::value(now))
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::Id.eq(id))
        .filter(booking_payment::Column::Status.is_in(to.reached_from().iter().copied()));
    if let Some(theirs) = &observed.provider_payment_id {
        if before.provider_payment_id.as_ref().is_some_and(|ours| ours != theirs) {
            return Err(DomainError::Internal(format!("payment {id} is another provider payment's")));
        }
        update = update.col_expr(booking_payment::Column::ProviderPaymentId, Expr::value(theirs.clone()));
    }
    if to.is_settled() {
        update = update.col_expr(booking_payment::Column::SettledAt, Expr::value(now));
    }
    if to == BookingPaymentStatus::Succeeded {
        update = update.col_expr(booking_payment::Column::CapturedMinor, Expr::value(before.amount_minor));
    }
    if to == BookingPaymentStatus::Failed {
        let code = observed.failure_code.as_deref().map(|c| c.chars().take(100).collect::<String>());
        update = update.col_expr(booking_payment::Column::FailureCode, Expr::value(code));
    }
    if update.exec(txn).await?.rows_affected == 0 {
        return Ok(None);
    }
    let after = find(txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "payment" })?;
    Ok(Some((before, after)))
}

/// Keeps the provider's id of a payment just asked for, when the payment
/// has none yet.
pub async fn remember_provider_id(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    provider_payment_id: &str,
) -> Result<()> {
    booking_payment::Entity::update_many()
        .col_expr(booking_payment::Column::ProviderPaymentId, Expr::value(provider_payment_id.to_owned()))
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::Id.eq(id))
        .filter(booking_payment::Column::ProviderPaymentId.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Payments of every business not settled and last changed before `before`
/// (the payment job's: it asks the provider how they stand), the oldest
/// first, at most `limit`.
pub async fn unsettled<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(TenantId, Uuid)>> {
    Ok(booking_payment::Entity::find()
        .select_only()
        .columns([booking_payment::Column::TenantId, booking_payment::Column::Id])
        .filter(booking_payment::Column::Status.is_in([
            BookingPaymentStatus::Pending,
            BookingPaymentStatus::RequiresAction,
            BookingPaymentStatus::Processing,
            BookingPaymentStatus::Unknown,
        ]))
        .filter(booking_payment::Column::UpdatedAt.lt(before))
        .order_by_asc(booking_payment::Column::UpdatedAt)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Moves every payment of customer `from` to customer `to`, in the
/// caller's transaction (two records of one person merged).
pub async fn move_customer(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    from: CustomerId,
    to: CustomerId,
) -> Result<()> {
    booking_payment::Entity::update_many()
        .col_expr(booking_payment::Column::CustomerId, Expr::value(to))
        .filter(booking_payment::Column::TenantId.eq(tenant_id))
        .filter(booking_payment::Column::CustomerId.eq(from))
        .exec(txn)
        .await?;
    Ok(())
}
