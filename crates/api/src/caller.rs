//! Who is calling, and what they may do in a tenant now.
//!
//! One function decides a caller's rights in a tenant, and every way in uses it:
//! an HTTP request, each operation over a WebSocket, and each event a
//! subscription is about to deliver. It resolves the member's effective
//! permissions, narrows a partner client to its scopes, and holds the request to
//! the tenant's security policy, so a socket opened yesterday acts with the
//! rights its caller holds today.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tessera_identity::AuthenticatedSession;
use tessera_kernel::{DomainError, Permission, TenantScope};
use tessera_tenant::{MfaRequirement, SecurityPolicy, Tenant, TenantRef};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::Services;

/// A signed-in caller: the session (or API key, or partner client token) they
/// came with and the network they came from.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The session as it was when the operation started.
    pub(crate) session: AuthenticatedSession,
    /// The client's address, for network rules.
    pub(crate) ip: Option<IpAddr>,
}

/// Why rights are being resolved: an operation starting, or an event about to
/// be delivered to an operation already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A request or a WebSocket operation: every rule applies.
    Operation,
    /// A subscription event. Idle time was judged when the subscription
    /// started; receiving its events is the use the session is kept for.
    Event,
}

/// The caller's tenant and their rights in it now, or why they have none.
pub(crate) async fn enter_tenant(
    services: &Services,
    caller: &Caller,
    reference: &TenantRef,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<Rights, ApiError> {
    let session = &caller.session;
    let (tenant, mut scope) = services.rbac.resolve_scope(session.actor.user_id, reference, now).await?;
    match &session.client {
        Some(grant) => {
            if tenant.id != grant.tenant_id {
                return Err(DomainError::Forbidden("this client acts only in its own business".into()).into());
            }
            if !tenant.security_policy.allows_ip(caller.ip) {
                return Err(network_refused());
            }
            // At most the client's scopes, and only while whoever made it still
            // holds them.
            scope.permissions.retain(|p| grant.scopes.contains(*p));
            for held in scope.resource_permissions.values_mut() {
                held.retain(|p| grant.scopes.contains(*p));
            }
        }
        None => {
            let sets_the_policy = scope.permissions.contains(Permission::PolicyManage);
            enforce_policy(services, &tenant, caller, entry, sets_the_policy, now).await?
        }
    }
    Ok((tenant, scope))
}

fn network_refused() -> ApiError {
    DomainError::Forbidden("this business does not allow access from your network".into()).into()
}

/// Sign-ins without a second factor that those who set the policy always have,
/// whatever the policy grants others: requiring a factor of everyone must not
/// shut out the owner who has not set one up yet.
const POLICY_SETTER_GRACE_LOGINS: u32 = 5;

/// Holds a caller entering `tenant` to the tenant's security policy: its
/// networks, how long the session may have idled, and whether it must have
/// begun with a second factor (or may still use a grace sign-in).
async fn enforce_policy(
    services: &Services,
    tenant: &Tenant,
    caller: &Caller,
    entry: Entry,
    sets_the_policy: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let policy = &tenant.security_policy;
    if *policy == SecurityPolicy::default() {
        return Ok(());
    }
    if !policy.allows_ip(caller.ip) {
        return Err(network_refused());
    }
    let session = &caller.session;
    if let Some(minutes) = policy.session_idle_minutes
        && entry == Entry::Operation
        && now - session.last_used_at > Duration::minutes(i64::from(minutes))
    {
        return Err(DomainError::Unauthenticated(
            "the session was idle longer than this business allows; sign in again or refresh the session".into(),
        )
        .into());
    }
    if policy.require_mfa == MfaRequirement::Off || session.second_factor {
        return Ok(());
    }
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
    let grace_logins =
        if sets_the_policy { policy.mfa_grace_logins.max(POLICY_SETTER_GRACE_LOGINS) } else { policy.mfa_grace_logins };
    let grace = services.tenants.use_mfa_grace(tenant.id, user_id, session.actor.session_id, grace_logins, now).await?;
    if grace {
        return Ok(());
    }
    Err(DomainError::Forbidden(
        "this business requires two-factor sign-in: add a passkey (startPasskeyRegistration) or set up an authenticator app (enrollTotp, then confirmTotp) and sign in again"
            .into(),
    )
    .into())
}

/// A caller's tenant and rights in it, as `enter_tenant` found them.
pub(crate) type Rights = (Tenant, TenantScope);

/// An event's id and the rights found for it (`None`: no longer any).
type EventDecision = (Uuid, Option<Rights>);

/// The rights found for one event, shared by the subscriptions of one
/// connection: a socket holding many subscriptions resolves its rights once per
/// event, not once per subscription.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventRights {
    last: Arc<tokio::sync::Mutex<Option<EventDecision>>>,
}

impl EventRights {
    /// The caller's rights for delivering `event`: resolved by the first
    /// subscription that asks, reused by the others. `None` when the caller may
    /// no longer act in the tenant; `Err` when that could not be decided (a
    /// passing database failure).
    pub(crate) async fn for_event(
        &self,
        event: Uuid,
        resolve: impl AsyncFnOnce() -> Result<Option<Rights>, ApiError>,
    ) -> Result<Option<Rights>, ApiError> {
        let mut last = self.last.lock().await;
        if let Some((seen, rights)) = last.as_ref()
            && *seen == event
        {
            return Ok(rights.clone());
        }
        let rights = resolve().await?;
        *last = Some((event, rights.clone()));
        Ok(rights)
    }
}
