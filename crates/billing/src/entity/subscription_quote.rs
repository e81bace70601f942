use sea_orm::entity::prelude::*;
use tessera_kernel::{PlanId, SubscriptionId, TenantId};

use crate::quotes::ChangeTiming;

/// What a change to a subscription costs, as previewed; applied at most once.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "subscription_quotes")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) subscription_id: SubscriptionId,
    pub(crate) subscription_version: i32,
    pub(crate) plan_id: PlanId,
    pub(crate) quantity: i32,
    pub(crate) timing: ChangeTiming,
    pub(crate) computed_at: DateTimeUtc,
    pub(crate) expires_at: DateTimeUtc,
    pub(crate) currency: String,
    pub(crate) amount_due_minor: i64,
    /// The lines, as JSON (`quotes::StoredLine`).
    pub(crate) lines: String,
    /// The subscription's plan and period before the change, as JSON, to
    /// undo a change whose charge was declined.
    pub(crate) before: Option<String>,
    pub(crate) applied_at: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
