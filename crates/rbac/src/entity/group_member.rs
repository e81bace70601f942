use sea_orm::entity::prelude::*;
use tessera_kernel::{GroupId, GroupMemberId, TenantId, UserId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "user_group_members")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: GroupMemberId,
    pub(crate) group_id: GroupId,
    pub(crate) user_id: UserId,
    pub(crate) added_at: DateTimeUtc,
    pub(crate) added_by: Option<UserId>,
    pub(crate) removed_at: Option<DateTimeUtc>,
    pub(crate) removed_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
