use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, TenantId, UserId};

use crate::refunds::{RefundKind, RefundStatus};

/// Money given back for a booking payment (`booking_refunds`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_refunds")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) payment_id: Uuid,
    pub(crate) booking_id: BookingId,
    pub(crate) kind: RefundKind,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: RefundStatus,
    pub(crate) reason: Option<String>,
    pub(crate) provider_refund_id: Option<String>,
    pub(crate) failure_code: Option<String>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) settled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
