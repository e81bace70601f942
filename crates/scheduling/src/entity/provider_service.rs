use sea_orm::entity::prelude::*;
use tessera_kernel::{ProviderId, ServiceId, TenantId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_services")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) provider_id: ProviderId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) service_id: ServiceId,
    pub(crate) price_minor: Option<i64>,
    pub(crate) duration_minutes: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(
        belongs_to = "super::provider::Entity",
        from = "(Column::TenantId, Column::ProviderId)",
        to = "(super::provider::Column::TenantId, super::provider::Column::Id)"
    )]
    Provider,
}

impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
