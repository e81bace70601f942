use sea_orm::entity::prelude::*;

use crate::coupons::CouponDuration;

/// A coupon the platform offers (global).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "coupons")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) percent_bps: Option<i32>,
    pub(crate) amount_off_minor: Option<i64>,
    pub(crate) currency: Option<String>,
    pub(crate) duration: CouponDuration,
    pub(crate) duration_periods: Option<i32>,
    pub(crate) max_redemptions: Option<i32>,
    pub(crate) times_redeemed: i32,
    pub(crate) redeem_by: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
