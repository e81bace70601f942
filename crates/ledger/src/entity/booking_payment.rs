use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, CustomerId, TenantId};

use crate::payments::{BookingPaymentKind, BookingPaymentStatus};

/// An amount asked of a customer for a booking (`booking_payments`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_payments")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) booking_id: BookingId,
    pub(crate) customer_id: CustomerId,
    pub(crate) kind: BookingPaymentKind,
    pub(crate) provider: String,
    pub(crate) account_id: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: BookingPaymentStatus,
    pub(crate) provider_payment_id: Option<String>,
    pub(crate) failure_code: Option<String>,
    pub(crate) captured_minor: i64,
    pub(crate) refunded_minor: i64,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) settled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
