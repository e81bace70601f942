//! From an HTTP request (or a WebSocket init payload) to a [`RequestContext`]:
//! authentication by bearer token, then the tenant from `X-Tenant`, checked against
//! the user's memberships. The tenant never comes from a GraphQL argument.

use tessera_kernel::{DomainError, RequestContext, RequestMeta};
use tessera_tenant::TenantRef;

use super::AppState;
use crate::error::ApiError;

/// What a client presented.
#[derive(Debug, Clone, Default)]
pub(crate) struct Credentials {
    /// The bearer token, without the `Bearer ` prefix.
    pub(crate) bearer: Option<String>,
    /// The raw `X-Tenant` value.
    pub(crate) tenant: Option<String>,
}

impl Credentials {
    /// Reads `Authorization` and `X-Tenant` headers.
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Result<Self, ApiError> {
        let text = |name: &str| headers.get(name).map(|v| v.to_str().map(str::to_owned));
        let bearer = match text("authorization") {
            None => None,
            Some(Ok(value)) => Some(parse_bearer(&value)?),
            Some(Err(_)) => return Err(unauthenticated("the Authorization header must be `Bearer <token>`")),
        };
        let tenant = match text("x-tenant") {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => return Err(DomainError::invalid("X-Tenant", "must be a tenant id or slug").into()),
        };
        Ok(Self { bearer, tenant })
    }

    /// Reads a `connection_init` payload: `{"Authorization": "Bearer …", "X-Tenant": "…"}`
    /// (keys in any case; `authToken` and `tenant` are accepted too).
    pub(crate) fn from_init_payload(payload: &serde_json::Value) -> Result<Self, ApiError> {
        let mut creds = Self::default();
        let Some(object) = payload.as_object() else { return Ok(creds) };
        for (key, value) in object {
            let Some(value) = value.as_str() else { continue };
            match key.to_ascii_lowercase().as_str() {
                "authorization" => creds.bearer = Some(parse_bearer(value)?),
                "authtoken" | "token" => creds.bearer = Some(value.trim().to_owned()),
                "x-tenant" | "tenant" => creds.tenant = Some(value.to_owned()),
                _ => {}
            }
        }
        Ok(creds)
    }
}

fn unauthenticated(message: &str) -> ApiError {
    DomainError::Unauthenticated(message.into()).into()
}

fn parse_bearer(value: &str) -> Result<String, ApiError> {
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthenticated("the Authorization header must be `Bearer <token>`"));
    }
    Ok(token.trim().to_owned())
}

/// Authenticates `credentials` and resolves the tenant.
pub(crate) async fn build_context(
    app: &AppState,
    credentials: &Credentials,
    meta: RequestMeta,
) -> Result<RequestContext, ApiError> {
    let services = &app.services;
    let mut request = RequestContext::anonymous(meta, services.clock.clone());
    if let Some(token) = &credentials.bearer {
        let actor =
            services.identity.authenticate(token, services.clock.now()).await?.ok_or_else(|| {
                unauthenticated("the access token is invalid or expired; sign in or refresh the session")
            })?;
        request = request.with_actor(actor);
    }
    if let Some(raw) = &credentials.tenant {
        let actor = request.require_actor()?;
        let reference = TenantRef::parse(raw)?;
        let (_, scope) = services.rbac.resolve_scope(actor.user_id, &reference, services.clock.now()).await?;
        request = request.with_tenant(scope);
    }
    Ok(request)
}
