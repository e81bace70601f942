//! From an HTTP request (or a WebSocket init payload) to a [`RequestContext`]:
//! authentication by bearer token, then the tenant from `X-Tenant`, checked against
//! the user's memberships. The tenant never comes from a GraphQL argument.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use tessera_identity::AuthenticatedSession;
use tessera_kernel::{DomainError, RequestContext, RequestMeta};
use tessera_tenant::{MfaRequirement, SecurityPolicy, Tenant, TenantRef};

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

fn network_refused() -> ApiError {
    DomainError::Forbidden("this business does not allow access from your network".into()).into()
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
    let now = services.clock.now();
    let ip = meta.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
    let mut request = RequestContext::anonymous(meta, services.clock.clone());
    let mut session = None;
    if let Some(token) = &credentials.bearer {
        let found =
            services.identity.authenticate_session(token, now).await?.ok_or_else(|| {
                unauthenticated("the access token is invalid or expired; sign in or refresh the session")
            })?;
        request = request.with_actor(found.actor);
        session = Some(found);
    }
    // A partner client acts in its own tenant, named or not.
    let client = session.as_ref().and_then(|s| s.client.clone());
    if let Some(grant) = &client {
        request = request.with_client(grant.client);
    }
    let reference = match (&credentials.tenant, &client) {
        (Some(raw), _) => Some(TenantRef::parse(raw)?),
        (None, Some(grant)) => Some(TenantRef::Id(grant.tenant_id)),
        (None, None) => None,
    };
    if let Some(reference) = reference {
        request.require_actor()?;
        let Some(session) = session else { return Err(unauthenticated("sign in to act in a tenant")) };
        let (tenant, mut scope) = services.rbac.resolve_scope(session.actor.user_id, &reference, now).await?;
        match &session.client {
            Some(grant) => {
                if tenant.id != grant.tenant_id {
                    return Err(DomainError::Forbidden("this client acts only in its own business".into()).into());
                }
                if !tenant.security_policy.allows_ip(ip) {
                    return Err(network_refused());
                }
                // At most the client's scopes, and only while whoever made it
                // still holds them.
                scope.permissions.retain(|p| grant.scopes.contains(*p));
                for held in scope.resource_permissions.values_mut() {
                    held.retain(|p| grant.scopes.contains(*p));
                }
            }
            None => enforce_policy(app, &tenant, &session, ip, now).await?,
        }
        request = request.with_tenant(scope);
    }
    Ok(request)
}

/// Holds a request entering `tenant` to the tenant's security policy: its
/// networks, how long the session may have idled, and whether it must have
/// begun with a second factor (or may still use a grace sign-in).
async fn enforce_policy(
    app: &AppState,
    tenant: &Tenant,
    session: &AuthenticatedSession,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let policy = &tenant.security_policy;
    if *policy == SecurityPolicy::default() {
        return Ok(());
    }
    if !policy.allows_ip(ip) {
        return Err(network_refused());
    }
    if let Some(minutes) = policy.session_idle_minutes
        && now - session.last_used_at > Duration::minutes(i64::from(minutes))
    {
        return Err(unauthenticated(
            "the session was idle longer than this business allows; sign in again or refresh the session",
        ));
    }
    if policy.require_mfa == MfaRequirement::Off || session.second_factor {
        return Ok(());
    }
    let services = &app.services;
    let user_id = session.actor.user_id;
    let held = match policy.require_mfa {
        MfaRequirement::Roles => services.rbac.held_roles(user_id, tenant.id, now).await?,
        _ => Vec::new(),
    };
    if !policy.requires_mfa(&held, now) {
        return Ok(());
    }
    if services.identity.has_second_factor(user_id).await? {
        return Err(DomainError::Forbidden(
            "this business requires signing in with a second factor; sign in again with your passkey or authenticator app"
                .into(),
        )
        .into());
    }
    let grace = services
        .tenants
        .use_mfa_grace(tenant.id, user_id, session.actor.session_id, policy.mfa_grace_logins, now)
        .await?;
    if grace {
        return Ok(());
    }
    Err(DomainError::Forbidden(
        "this business requires two-factor sign-in: add a passkey (startPasskeyRegistration) or set up an authenticator app (enrollTotp, then confirmTotp) and sign in again"
            .into(),
    )
    .into())
}
