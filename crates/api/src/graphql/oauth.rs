//! GraphQL for partner clients: a business's managers make OAuth 2.0
//! client-credentials clients, list, rotate and revoke them. The clients
//! themselves call `POST /oauth/token` (see `http::oauth`).

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_identity::OAuthClient;
use tessera_kernel::{Permission, UserId};

use super::identity::UserObject;
use super::identity::user_by_id;
use super::{Requires, parse_id, permission, request, services};
use crate::error::ApiResult;

/// A partner's API client of the current business (never its secret).
#[derive(Clone, SimpleObject)]
#[graphql(name = "OAuthClient", complex)]
pub(crate) struct OAuthClientObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// What it is ("Acme booking widget").
    name: String,
    /// The public client id, for `POST /oauth/token`.
    client_id: String,
    /// What it may do: permission names. It acts within the rights of whoever
    /// made it, narrowed to these.
    scopes: Vec<String>,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When its secret was last replaced.
    rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it last obtained a token.
    last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    created_by: UserId,
}

#[ComplexObject]
impl OAuthClientObject {
    /// Who made it (and whose rights bound it).
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, Some(self.created_by)).await
    }
}

impl From<OAuthClient> for OAuthClientObject {
    fn from(c: OAuthClient) -> Self {
        Self {
            id: ID(c.id.to_string()),
            name: c.name,
            client_id: c.client_id,
            scopes: c.scopes.iter().map(|p| p.name().to_owned()).collect(),
            created_at: c.created_at,
            rotated_at: c.rotated_at,
            previous_secret_expires_at: c.previous_secret_expires_at,
            last_used_at: c.last_used_at,
            revoked_at: c.revoked_at,
            created_by: c.created_by,
        }
    }
}

/// A client with its secret, shown this once.
#[derive(SimpleObject)]
pub(crate) struct OAuthClientWithSecret {
    /// The client.
    client: OAuthClientObject,
    /// `client_secret` for `POST /oauth/token`. Store it now: it is not shown again.
    client_secret: String,
}

/// A new partner client.
#[derive(InputObject)]
pub(crate) struct CreateOAuthClientInput {
    /// What it is.
    name: String,
    /// Permission names it may use (`booking:read`); only ones you hold here.
    scopes: Vec<String>,
}

#[derive(Default)]
pub(crate) struct OAuthQuery;

#[Object]
impl OAuthQuery {
    /// The current business's partner clients, newest first (revoked ones too).
    #[graphql(guard = "Requires(Permission::TenantManage)", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn oauth_clients(&self, ctx: &Context<'_>) -> ApiResult<Vec<OAuthClientObject>> {
        let clients = services(ctx)?.identity.oauth_clients(request(ctx)?).await?;
        Ok(clients.into_iter().map(OAuthClientObject::from).collect())
    }
}

#[derive(Default)]
pub(crate) struct OAuthMutation;

#[Object]
impl OAuthMutation {
    /// Makes a partner client for the current business. Returns its secret,
    /// shown this once; the partner exchanges id and secret at
    /// `POST /oauth/token` for access tokens.
    #[graphql(guard = "Requires(Permission::TenantManage)", name = "createOAuthClient", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn create_oauth_client(
        &self,
        ctx: &Context<'_>,
        input: CreateOAuthClientInput,
    ) -> ApiResult<OAuthClientWithSecret> {
        let (client, secret) =
            services(ctx)?.identity.create_oauth_client(request(ctx)?, &input.name, &input.scopes).await?;
        Ok(OAuthClientWithSecret { client: client.into(), client_secret: secret })
    }

    /// Gives a client a new secret (shown this once). The old one keeps working
    /// `keepPreviousMinutes` (0 by default, at most a week) while the partner
    /// deploys the new one.
    #[graphql(guard = "Requires(Permission::TenantManage)", name = "rotateOAuthClientSecret", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn rotate_oauth_client_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        keep_previous_minutes: Option<u32>,
    ) -> ApiResult<OAuthClientWithSecret> {
        let id = parse_id("id", &id)?;
        let (client, secret) =
            services(ctx)?.identity.rotate_oauth_client_secret(request(ctx)?, id, keep_previous_minutes).await?;
        Ok(OAuthClientWithSecret { client: client.into(), client_secret: secret })
    }

    /// Revokes a client: it and every token it holds stop at once.
    #[graphql(guard = "Requires(Permission::TenantManage)", name = "revokeOAuthClient", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn revoke_oauth_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<OAuthClientObject> {
        let id = parse_id("id", &id)?;
        let revoked = services(ctx)?.identity.revoke_oauth_client(request(ctx)?, id).await?;
        services(ctx)?.bus.publish_now(crate::events::BusMessage::SessionRevoked {
            session_id: tessera_kernel::SessionId(revoked.id),
        });
        Ok(revoked.into())
    }
}
