use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::metric::{LimitMode, Metric};

/// One version of the platform operator's limit for one tenant (mode `tier`:
/// follow the tier again). Never changed.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_limits")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) metric: Metric,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) version: i32,
    pub(crate) limit_value: Option<i64>,
    pub(crate) mode: LimitMode,
    pub(crate) note: Option<String>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
