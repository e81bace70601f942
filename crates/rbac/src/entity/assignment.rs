use sea_orm::entity::prelude::*;
use tessera_kernel::{AssignmentId, GroupId, RoleId, TenantId, UserId};

use crate::model::ScopeType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "role_assignments")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: AssignmentId,
    pub(crate) role_id: RoleId,
    pub(crate) user_id: Option<UserId>,
    pub(crate) group_id: Option<GroupId>,
    pub(crate) scope_type: ScopeType,
    pub(crate) scope_id: Option<Uuid>,
    pub(crate) granted_by: Option<UserId>,
    pub(crate) granted_at: DateTimeUtc,
    pub(crate) expires_at: Option<DateTimeUtc>,
    pub(crate) revoked_at: Option<DateTimeUtc>,
    pub(crate) revoked_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
