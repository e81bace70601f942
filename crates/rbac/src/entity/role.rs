use sea_orm::entity::prelude::*;
use tessera_kernel::{RoleId, TenantId};

use crate::model::BuiltinRole;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: RoleId,
    pub(crate) builtin_key: Option<BuiltinRole>,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) parent_role_id: Option<RoleId>,
    pub(crate) is_default: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
