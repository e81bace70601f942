use sea_orm::entity::prelude::*;
use tessera_kernel::PlanId;
use tessera_ledger::Metric;

/// What a plan version charges per unit of a metric used beyond a soft limit;
/// never changed once written.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_overage_prices")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) plan_id: PlanId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) metric: Metric,
    pub(crate) unit_price_minor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
