use sea_orm::entity::prelude::*;
use tessera_kernel::{OAuthClientId, TenantId, UserId};

/// A partner's client-credentials client of one tenant.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_clients")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: OAuthClientId,
    pub(crate) name: String,
    /// The public identifier (`tpc_…`).
    pub(crate) client_id: String,
    pub(crate) secret_hash: String,
    /// The secret before the last rotation, while it still works.
    pub(crate) previous_secret_hash: Option<String>,
    pub(crate) previous_secret_expires_at: Option<DateTimeUtc>,
    /// Permission names, space-separated (OAuth's own form).
    pub(crate) scopes: String,
    /// Whose rights the client acts within.
    pub(crate) created_by: UserId,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) rotated_at: Option<DateTimeUtc>,
    pub(crate) last_used_at: Option<DateTimeUtc>,
    pub(crate) revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
