//! GraphQL for partner clients: a business's managers make OAuth 2.0
//! client-credentials clients, list, rotate and revoke them. The clients
//! themselves call `POST /oauth/token` (see `http::oauth`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use tessera_api_macros::operations;
use tessera_kernel::Permission;

use super::objects::OAuthClientObject;
use crate::error::ApiResult;
use crate::graphql::{Requires, parse_id, request, services};

/// A client with its secret, shown this once.
#[derive(SimpleObject)]
#[graphql(name = "OAuthClientWithSecret")]
pub(crate) struct OAuthClientWithSecretObject {
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

/// Queries about partner clients.
#[derive(Default)]
pub(super) struct PartnerClientQueries;

#[operations]
#[Object]
impl PartnerClientQueries {
    /// The current business's partner clients, newest first (revoked ones too).
    #[access(Requires(Permission::TenantManage))]
    async fn oauth_clients(&self, ctx: &Context<'_>) -> ApiResult<Vec<OAuthClientObject>> {
        let clients = services(ctx)?.identity.oauth_clients(request(ctx)?).await?;
        Ok(clients.into_iter().map(OAuthClientObject::from).collect())
    }
}

/// Mutations about partner clients.
#[derive(Default)]
pub(super) struct PartnerClientMutations;

#[operations]
#[Object]
impl PartnerClientMutations {
    /// Makes a partner client for the current business. Returns its secret,
    /// shown this once; the partner exchanges id and secret at
    /// `POST /oauth/token` for access tokens.
    #[access(Requires(Permission::TenantManage))]
    #[graphql(name = "createOAuthClient")]
    async fn create_oauth_client(
        &self,
        ctx: &Context<'_>,
        input: CreateOAuthClientInput,
    ) -> ApiResult<OAuthClientWithSecretObject> {
        let (client, secret) =
            services(ctx)?.identity.create_oauth_client(request(ctx)?, &input.name, &input.scopes).await?;
        Ok(OAuthClientWithSecretObject { client: client.into(), client_secret: secret })
    }

    /// Gives a client a new secret (shown this once). The old one keeps working
    /// `keepPreviousMinutes` (0 by default, at most a week) while the partner
    /// deploys the new one.
    #[access(Requires(Permission::TenantManage))]
    #[graphql(name = "rotateOAuthClientSecret")]
    async fn rotate_oauth_client_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        keep_previous_minutes: Option<u32>,
    ) -> ApiResult<OAuthClientWithSecretObject> {
        let id = parse_id("id", &id)?;
        let (client, secret) =
            services(ctx)?.identity.rotate_oauth_client_secret(request(ctx)?, id, keep_previous_minutes).await?;
        Ok(OAuthClientWithSecretObject { client: client.into(), client_secret: secret })
    }

    /// Revokes a client: it and every token it holds stop at once.
    #[access(Requires(Permission::TenantManage))]
    #[graphql(name = "revokeOAuthClient")]
    async fn revoke_oauth_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<OAuthClientObject> {
        let id = parse_id("id", &id)?;
        Ok(services(ctx)?.identity.revoke_oauth_client(request(ctx)?, id).await?.into())
    }
}
