use sea_orm::entity::prelude::*;
use tessera_kernel::{PlanId, TenantTier};

use crate::model::Interval;

/// One version of a plan in the catalogue; never changed once written.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: PlanId,
    pub(crate) code: String,
    pub(crate) version: i32,
    pub(crate) name: String,
    pub(crate) tier: TenantTier,
    pub(crate) interval: Interval,
    pub(crate) price_minor: i64,
    pub(crate) currency: String,
    pub(crate) trial_days: i32,
    pub(crate) per_seat: bool,
    pub(crate) available: bool,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
