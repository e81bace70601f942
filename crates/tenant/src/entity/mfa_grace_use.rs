use sea_orm::entity::prelude::*;
use tessera_kernel::{SessionId, TenantId, UserId};

/// A session of a member without a second factor that used the tenant while it
/// requires one: one grace sign-in.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_grace_uses")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) user_id: UserId,
    pub(crate) session_id: SessionId,
    pub(crate) used_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
