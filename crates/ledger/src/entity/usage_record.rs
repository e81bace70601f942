use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::metric::Metric;

/// One use of something, written in the transaction that caused it. Never changed.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_records")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) metric: Metric,
    pub(crate) quantity: i64,
    pub(crate) occurred_at: DateTimeUtc,
    /// The local date in the tenant's timezone, `2026-12-04`.
    pub(crate) occurred_on: String,
    pub(crate) period_key: String,
    pub(crate) source_kind: String,
    pub(crate) source_id: Option<String>,
    pub(crate) idempotency_key: String,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
