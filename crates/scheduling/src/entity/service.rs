use sea_orm::entity::prelude::*;
use tessera_kernel::{ServiceId, TenantId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "services")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ServiceId,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) price_minor: i64,
    pub(crate) currency: String,
    pub(crate) duration_minutes: i32,
    pub(crate) buffer_before_minutes: i32,
    pub(crate) buffer_after_minutes: i32,
    pub(crate) active: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) deleted_at: Option<DateTimeUtc>,
    /// The service's own [`tessera_ledger::PaymentTerms`] (JSON), over the
    /// business's.
    pub(crate) payment_policy: Option<String>,
    /// Set for a class: booked in its sessions, seat by seat, and the
    /// capacity a new session gets.
    pub(crate) class_capacity: Option<i32>,
    /// The type of resource it needs, if any, from `resource_offset_minutes`
    /// after its start for `resource_minutes` (the rest of it when `None`).
    pub(crate) resource_type: Option<String>,
    pub(crate) resource_offset_minutes: i32,
    pub(crate) resource_minutes: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
