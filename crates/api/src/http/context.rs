//! From an HTTP request (or a WebSocket init payload) to a [`RequestContext`]:
//! authentication by bearer token, then the tenant from `X-Tenant`, checked against
//! the user's memberships. The tenant never comes from a GraphQL argument.

use std::net::IpAddr;

use tessera_kernel::{DomainError, RequestContext, RequestMeta};
use tessera_tenant::TenantRef;

use super::AppState;
use crate::caller::{Caller, Entry, admit};
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

/// A request's context and, when someone signed in, who they are (for
/// resolving their rights again later: each event of a subscription).
pub(crate) struct Entered {
    /// The context the operation runs with.
    pub(crate) context: RequestContext,
    /// The signed-in caller, if any.
    pub(crate) caller: Option<Caller>,
}

/// Authenticates `credentials` and resolves the tenant and the caller's rights in it.
pub(crate) async fn build_context(
    app: &AppState,
    credentials: &Credentials,
    meta: RequestMeta,
) -> Result<Entered, ApiError> {
    let services = &app.services;
    let now = services.clock.now();
    let ip = meta.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
    let mut request = RequestContext::anonymous(meta, services.clock.clone());
    // A malformed header is reported after the token is judged, as before.
    let named = credentials.tenant.as_deref().map(TenantRef::parse);
    let Some(token) = &credentials.bearer else {
        if let Some(named) = named {
            named?;
            request.require_actor()?;
        }
        return Ok(Entered { context: request, caller: None });
    };
    let named_tenant = named.as_ref().and_then(|named| named.as_ref().ok());
    let recalled = app.callers.recall(services, token, named_tenant, now).await?;
    named.transpose()?;
    let session = recalled.session;
    request = request.with_actor(session.actor);
    // A partner client acts in its own tenant, named or not.
    if let Some(grant) = &session.client {
        request = request.with_client(grant.client);
    }
    let caller = Caller { session, ip };
    if let Some(rights) = recalled.rights {
        let (_, scope) = admit(services, &caller, rights, Entry::Operation, now).await?;
        request = request.with_tenant(scope);
    }
    Ok(Entered { context: request, caller: Some(caller) })
}
