use sea_orm::entity::prelude::*;
use tessera_kernel::{RoleId, TenantId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "role_permissions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) role_id: RoleId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) permission: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
