//! Personal API keys: listing, creating (the secret shown once) and revoking.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::ApiKey;
use tessera_kernel::ApiKeyId;

use crate::error::{ApiError, ApiResult};
use crate::graphql::{InSession, SignedIn, request, services};

/// A personal API key (never its secret).
#[derive(Clone, SimpleObject)]
#[graphql(name = "ApiKey")]
pub(crate) struct ApiKeyObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// What it is for.
    name: String,
    /// Its first characters, to tell keys apart (`tsk_AbCdEfGh`).
    prefix: String,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When it stops working.
    expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyObject {
    fn from(k: ApiKey) -> Self {
        Self {
            id: ID(k.id.to_string()),
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new API key with its secret, shown this once.
#[derive(SimpleObject)]
#[graphql(name = "CreatedApiKey")]
pub(crate) struct CreatedApiKeyObject {
    /// The key.
    api_key: ApiKeyObject,
    /// Send as `Authorization: Bearer <secret>`. Store it now: it is not shown again.
    secret: String,
}

/// Queries about API keys.
#[derive(Default)]
pub(super) struct ApiKeyQueries;

#[operations]
#[Object]
impl ApiKeyQueries {
    /// The caller's API keys that are not revoked, newest first.
    #[access(SignedIn)]
    async fn my_api_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiKeyObject>> {
        Ok(services(ctx)?.identity.my_api_keys(request(ctx)?).await?.into_iter().map(ApiKeyObject::from).collect())
    }
}

/// Mutations about API keys.
#[derive(Default)]
pub(super) struct ApiKeyMutations;

#[operations]
#[Object]
impl ApiKeyMutations {
    /// Makes a personal API key acting as the caller, valid `expiresInDays` (90
    /// unless given, at most 365). Use it as a bearer token (with `X-Tenant` as
    /// usual). Needs a signed-in session, not another key.
    #[access(InSession)]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: Option<u32>,
    ) -> ApiResult<CreatedApiKeyObject> {
        let (key, secret) = services(ctx)?.identity.create_api_key(request(ctx)?, &name, expires_in_days).await?;
        Ok(CreatedApiKeyObject { api_key: key.into(), secret })
    }

    /// Revokes one of the caller's API keys at once (its subscriptions too).
    #[access(SignedIn)]
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKeyObject> {
        let id: ApiKeyId = id
            .parse()
            .map_err(|_| ApiError::from(tessera_kernel::DomainError::invalid("id", "must be an API key id")))?;
        Ok(services(ctx)?.identity.revoke_api_key(request(ctx)?, id).await?.into())
    }
}
