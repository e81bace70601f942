use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::model::LineKind;

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) invoice_id: Uuid,
    pub(crate) position: i32,
    pub(crate) kind: LineKind,
    pub(crate) description: String,
    pub(crate) quantity: i32,
    pub(crate) unit_minor: i64,
    pub(crate) amount_minor: i64,
    pub(crate) period_start: Option<DateTimeUtc>,
    pub(crate) period_end: Option<DateTimeUtc>,
    pub(crate) coupon_redemption_id: Option<Uuid>,
    pub(crate) metric: Option<String>,
    pub(crate) usage_period: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
