use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::coupons::RedemptionStatus;

/// A business's redemption of a coupon.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "coupon_redemptions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) coupon_id: Uuid,
    pub(crate) periods_remaining: Option<i32>,
    pub(crate) amount_remaining_minor: Option<i64>,
    pub(crate) status: RedemptionStatus,
    pub(crate) redeemed_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
