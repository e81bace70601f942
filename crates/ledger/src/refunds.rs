//! Money given back to customers for booking payments.
//!
//! A refund row is written before the provider is asked (its id is the
//! provider call's idempotency key), under the payment's lock, after
//! checking what is left to refund. The database keeps the payment's
//! refunded total from the refund rows (triggers: a pending, unknown or
//! succeeded refund counts; a failed or cancelled one does not, so its
//! amount is refundable again), and its `CHECK` refuses a total above what
//! was captured, whatever wrote the row. [`record`] moves a refund forward
//! only, as `payments::record` moves a payment.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, StringLen};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DeriveActiveEnum, EntityTrait, EnumIter, QueryFilter,
    QueryOrder, QuerySelect,
};
use tessera_kernel::{BookingId, DomainError, Result, TenantId, UserId};
use uuid::Uuid;

use crate::entity::booking_refund;
use crate::payments::{self, BookingPaymentStatus, stamp};

/// Why money is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum RefundKind {
    /// The business's cancellation policy, when the booking was cancelled.
    #[sea_orm(string_value = "policy")]
    Policy,
    /// Someone at the business, with a reason.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// A payment its booking no longer wanted: it arrived after the booking
    /// stopped waiting for it, or the booking was freed while it still
    /// waited for its card.
    #[sea_orm(string_value = "unwanted_payment")]
    UnwantedPayment,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum RefundStatus {
    /// Written; the provider has not answered yet, or is processing it.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The money went back.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// It failed; the amount is refundable again.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Cancelled; the amount is refundable again.
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// The provider's answer was lost; it is asked again.
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

impl RefundStatus {
    /// Whether it never changes again.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    fn reached_from(self) -> &'static [RefundStatus] {
        use RefundStatus::*;
        match self {
            Succeeded | Failed | Canceled => &[Pending, Unknown],
            Unknown => &[Pending],
            Pending => &[Unknown],
        }
    }
}

/// Money given back for a booking payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRefund {
    /// The business.
    pub tenant_id: TenantId,
    /// Id, and the provider call's idempotency key.
    pub id: Uuid,
    /// The payment refunded.
    pub payment_id: Uuid,
    /// Its booking.
    pub booking_id: BookingId,
    /// Why.
    pub kind: RefundKind,
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Where it stands.
    pub status: RefundStatus,
    /// The reason given (by hand), or the policy's words.
    pub reason: Option<String>,
    /// The provider's id (`re_…`), once asked.
    pub provider_refund_id: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// Who gave it back by hand.
    pub created_by: Option<UserId>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it settled.
    pub settled_at: Option<DateTime<Utc>>,
}

impl From<booking_refund::Model> for BookingRefund {
    fn from(row: booking_refund::Model) -> Self {
        Self {
            tenant_id: row.tenant_id,
            id: row.id,
            payment_id: row.payment_id,
            booking_id: row.booking_id,
            kind: row.kind,
            amount_minor: row.amount_minor,
            currency: row.currency,
            status: row.status,
            reason: row.reason,
            provider_refund_id: row.provider_refund_id,
            failure_code: row.failure_code,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            settled_at: row.settled_at,
        }
    }
}

/// A refund to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The payment.
    pub payment_id: Uuid,
    /// Why.
    pub kind: RefundKind,
    /// In minor units, above zero.
    pub amount_minor: i64,
    /// The reason given, or the policy's words.
    pub reason: Option<String>,
    /// Who gives it back, by hand.
    pub created_by: Option<UserId>,
}

/// Writes a refund of a succeeded payment, in the caller's transaction,
/// under the payment's lock: `BAD_USER_INPUT` when the payment was not paid
/// or the amount is more than is left to refund. The database refuses the
/// same whatever the caller checked (the payment's `CHECK`).
pub async fn open(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    new: NewRefund,
    now: DateTime<Utc>,
) -> Result<BookingRefund> {
    tessera_kernel::db::lock_named(txn, &format!("booking-payment:{}", new.payment_id)).await?;
    let payment =
        payments::find(txn, tenant_id, new.payment_id).await?.ok_or(DomainError::NotFound { entity: "payment" })?;
    if payment.status != BookingPaymentStatus::Succeeded {
        return Err(DomainError::invalid("paymentId", "only a payment that went through is refunded"));
    }
    let left = payment.captured_minor - payment.refunded_minor;
    if new.amount_minor <= 0 || new.amount_minor > left {
        return Err(DomainError::invalid(
            "amountMinor",
            format!("must be between 1 and {left}, what is left to refund of this payment"),
        ));
    }
    let now = stamp(now);
    let row = booking_refund::Model {
        tenant_id,
        id: tessera_kernel::id::uuid_v7_at(now),
        payment_id: payment.id,
        booking_id: payment.booking_id,
        kind: new.kind,
        amount_minor: new.amount_minor,
        currency: payment.currency,
        status: RefundStatus::Pending,
        reason: new.reason,
        provider_refund_id: None,
        failure_code: None,
        created_by: new.created_by,
        created_at: now,
        updated_at: now,
        settled_at: None,
    };
    booking_refund::Entity::insert(booking_refund::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict("this payment was refunded by the cancellation policy already".into())
            }
            _ => e.into(),
        })?;
    Ok(row.into())
}

/// One refund of the business.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: Uuid) -> Result<Option<BookingRefund>> {
    Ok(booking_refund::Entity::find_by_id((tenant_id, id)).one(conn).await?.map(BookingRefund::from))
}

/// The refunds of `payments_of`, oldest first; every payment answered.
pub async fn of_payments<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    payments_of: &[Uuid],
) -> Result<HashMap<Uuid, Vec<BookingRefund>>> {
    let rows = booking_refund::Entity::find()
        .filter(booking_refund::Column::TenantId.eq(tenant_id))
        .filter(booking_refund::Column::PaymentId.is_in(payments_of.iter().copied()))
        .order_by_asc(booking_refund::Column::Id)
        .all(conn)
        .await?;
    let mut by_payment: HashMap<Uuid, Vec<BookingRefund>> = payments_of.iter().map(|id| (*id, vec![])).collect();
    for row in rows {
        by_payment.entry(row.payment_id).or_default().push(row.into());
    }
    Ok(by_payment)
}

/// The refunds of a booking not settled yet (to ask the provider for).
pub async fn unsettled_of_booking<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    booking_id: BookingId,
) -> Result<Vec<Uuid>> {
    Ok(booking_refund::Entity::find()
        .select_only()
        .column(booking_refund::Column::Id)
        .filter(booking_refund::Column::TenantId.eq(tenant_id))
        .filter(booking_refund::Column::BookingId.eq(booking_id))
        .filter(booking_refund::Column::SettledAt.is_null())
        .into_tuple()
        .all(conn)
        .await?)
}

/// What the provider said about a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundObserved {
    /// Where it stands there.
    pub status: RefundStatus,
    /// Its id there.
    pub provider_refund_id: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
}

/// Records what the provider said, if it moves the refund forward; returns
/// it before and after (`None`: it would not move). A refund that failed
/// gives its amount back to what is refundable, by the database's trigger.
pub async fn record(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    observed: &RefundObserved,
    now: DateTime<Utc>,
) -> Result<Option<(BookingRefund, BookingRefund)>> {
    let before = find(txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "refund" })?;
    let now = stamp(now);
    let to = observed.status;
    let mut update = booking_refund::Entity::update_many()
        .col_expr(booking_refund::Column::Status, Expr::value(to))
        .col_expr(booking_refund::Column::UpdatedAt, Expr::value(now))
        .filter(booking_refund::Column::TenantId.eq(tenant_id))
        .filter(booking_refund::Column::Id.eq(id))
        .filter(booking_refund::Column::Status.is_in(to.reached_from().iter().copied()));
    if let Some(theirs) = &observed.provider_refund_id {
        update = update.col_expr(booking_refund::Column::ProviderRefundId, Expr::value(theirs.clone()));
    }
    if to.is_settled() {
        update = update.col_expr(booking_refund::Column::SettledAt, Expr::value(now));
    }
    if let Some(code) = &observed.failure_code {
        let code: String = code.chars().take(100).collect();
        update = update.col_expr(booking_refund::Column::FailureCode, Expr::value(code));
    }
    if update.exec(txn).await?.rows_affected == 0 {
        return Ok(None);
    }
    let after = find(txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "refund" })?;
    Ok(Some((before, after)))
}

/// Keeps the provider's id of a refund just asked for, when it has none.
pub async fn remember_provider_id(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    theirs: &str,
) -> Result<()> {
    booking_refund::Entity::update_many()
        .col_expr(booking_refund::Column::ProviderRefundId, Expr::value(theirs.to_owned()))
        .filter(booking_refund::Column::TenantId.eq(tenant_id))
        .filter(booking_refund::Column::Id.eq(id))
        .filter(booking_refund::Column::ProviderRefundId.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Refunds of every business not settled and last changed before `before`
/// (the payment job's), the oldest first, at most `limit`.
pub async fn unsettled<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(TenantId, Uuid)>> {
    Ok(booking_refund::Entity::find()
        .select_only()
        .columns([booking_refund::Column::TenantId, booking_refund::Column::Id])
        .filter(booking_refund::Column::SettledAt.is_null())
        .filter(booking_refund::Column::UpdatedAt.lt(before))
        .order_by_asc(booking_refund::Column::UpdatedAt)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}
