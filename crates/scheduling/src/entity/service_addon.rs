use sea_orm::entity::prelude::*;
use tessera_kernel::{AddonId, ServiceId, TenantId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "service_addons")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: AddonId,
    pub(crate) service_id: ServiceId,
    pub(crate) name: String,
    pub(crate) price_minor: i64,
    pub(crate) duration_minutes: i32,
    pub(crate) active: bool,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
