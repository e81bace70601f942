use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::metric::{LimitMode, Metric};

/// The sum of a tenant's records of a metric in a period, with the limit that
/// applied at its last change.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_counters")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) metric: Metric,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) period_key: String,
    pub(crate) period_start: Option<DateTimeUtc>,
    pub(crate) resets_at: Option<DateTimeUtc>,
    pub(crate) used: i64,
    pub(crate) overage: i64,
    pub(crate) limit_value: Option<i64>,
    pub(crate) mode: LimitMode,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
