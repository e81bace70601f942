use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::metric::Metric;

/// A threshold reached: at most one per tenant, metric, period, threshold and level.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_alert_firings")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) metric: Metric,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) period_key: String,
    /// `80%` (of the limit) or `500` (an amount).
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) threshold: String,
    /// The use at which it fires.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) level: i64,
    /// The use that reached it.
    pub(crate) used: i64,
    pub(crate) limit_value: Option<i64>,
    pub(crate) fired_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
