use sea_orm::entity::prelude::*;
use tessera_kernel::{PlanId, SubscriptionId, TenantId};

use crate::model::{Interval, SubscriptionStatus};

/// A business's subscription to one plan version.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: SubscriptionId,
    pub(crate) plan_id: PlanId,
    pub(crate) status: SubscriptionStatus,
    pub(crate) quantity: i32,
    pub(crate) unit_price_minor: i64,
    pub(crate) currency: String,
    pub(crate) interval: Interval,
    pub(crate) current_period_start: DateTimeUtc,
    pub(crate) current_period_end: DateTimeUtc,
    pub(crate) trial_end: Option<DateTimeUtc>,
    pub(crate) trial_reminded_at: Option<DateTimeUtc>,
    pub(crate) cancel_at_period_end: bool,
    pub(crate) canceled_at: Option<DateTimeUtc>,
    pub(crate) ended_at: Option<DateTimeUtc>,
    pub(crate) previous_subscription_id: Option<SubscriptionId>,
    pub(crate) version: i32,
    pub(crate) anchor_at: Option<DateTimeUtc>,
    pub(crate) period_number: i32,
    pub(crate) pending_plan_id: Option<PlanId>,
    pub(crate) pending_quantity: Option<i32>,
    pub(crate) overage_billed_through: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
