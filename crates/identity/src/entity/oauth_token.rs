use sea_orm::entity::prelude::*;
use tessera_kernel::{OAuthClientId, TenantId};

/// A short-lived access token a client exchanged its secret for.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_tokens")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) client_row_id: OAuthClientId,
    /// The client's tenant, where its row is read (tokens themselves are global).
    pub(crate) client_tenant_id: TenantId,
    pub(crate) token_hash: String,
    /// The scopes granted, space-separated.
    pub(crate) scopes: String,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
