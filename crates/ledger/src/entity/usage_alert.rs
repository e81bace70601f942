use sea_orm::entity::prelude::*;
use tessera_kernel::{TenantId, UserId};

use crate::metric::Metric;

/// A threshold a business's owners added: a percentage of the limit or an amount.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_alerts")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) metric: Metric,
    pub(crate) percent: Option<i32>,
    pub(crate) amount: Option<i64>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
