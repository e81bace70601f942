use sea_orm::entity::prelude::*;
use tessera_kernel::{InvitationId, TenantId, UserId};

/// An invitation; the token is kept only as its hash.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "invitations")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: InvitationId,
    pub(crate) email: String,
    /// JSON array of role ids.
    pub(crate) role_ids: String,
    #[serde(skip)]
    pub(crate) token_hash: String,
    pub(crate) invited_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) expires_at: DateTimeUtc,
    pub(crate) last_sent_at: DateTimeUtc,
    pub(crate) accepted_at: Option<DateTimeUtc>,
    pub(crate) accepted_by: Option<UserId>,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    pub(crate) cancelled_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
