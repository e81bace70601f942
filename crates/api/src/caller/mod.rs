//! Who is calling, and what they may do in a tenant now.
//!
//! One function decides a caller's rights in a tenant, and every way in uses it:
//! an HTTP request, each operation over a WebSocket, and each event a
//! subscription is about to deliver. It resolves the member's effective
//! permissions, narrows a partner client to its scopes, and holds the request to
//! the tenant's security policy, so a socket opened yesterday acts with the
//! rights its caller holds today. A request's rights may come from what the
//! last request found ([`recall`]), while the [`stamps`] show nothing they rest
//! on changed; the client's scopes and the tenant's policy are applied afresh
//! each time ([`admit`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Duration, Utc};
use tessera_identity::AuthenticatedSession;
use tessera_kernel::{DomainError, Permission, SessionId, TenantScope};
use tessera_tenant::{MfaRequirement, SecurityPolicy, Tenant, TenantRef};
use uuid::Uuid;

use crate::error::ApiError;
use crate::services::Services;

pub(crate) mod recall;
pub(crate) mod stamps;

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
    let rights = services.rbac.resolve_scope(caller.session.actor.user_id, reference, now).await?;
    admit(services, caller, rights, entry, now).await
}

/// Holds the user's rights in a tenant to how they came: a partner client to
/// its scopes and the tenant's networks, anyone else to the tenant's policy.
pub(crate) async fn admit(
    services: &Services,
    caller: &Caller,
    (tenant, mut scope): Rights,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<Rights, ApiError> {
    let session = &caller.session;
    match &session.client {
        Some(grant) => {
            if tenant.id != grant.tenant_id {
                return Err(DomainError::Forbidden("this client acts only in its own business".into()).into());
            }
            if !tenant.security_policy.allows_ip(caller.ip) {
                return Err(network_refused());
            }
            // At most the client's scopes (with what they imply), and only while
            // whoever made it still holds them.
            let scopes = grant.scopes.clone().with_implied();
            scope.permissions.retain(|p| scopes.contains(*p));
            for held in scope.resource_permissions.values_mut() {
                held.retain(|p| scopes.contains(*p));
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

/// An event's id and where the caller stood for it.
type EventDecision = (Uuid, Standing);

/// Where a subscriber stands when an event is delivered.
#[derive(Debug, Clone)]
pub(crate) enum Standing {
    /// They may act in the tenant, with these rights (boxed: the other variants
    /// are empty, and decisions are kept for recent events).
    Member(Box<Rights>),
    /// Their session ended (signed out, revoked, expired).
    SessionEnded,
    /// They may no longer act in the tenant (membership, roles or its rules).
    Refused,
}

/// How many recent events' decisions a caller keeps: feeds read the same
/// broadcast in the same order, so one that lags a few events behind another
/// still finds its decisions.
const RECENT_EVENTS: usize = 16;

/// The rights found for recent events, shared by every subscription of one
/// caller (one credential from one address) on this gateway, whatever socket
/// it runs on: a caller holding many subscriptions, on one socket or many,
/// resolves its rights once per event, not once per subscription.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventRights {
    recent: Arc<tokio::sync::Mutex<VecDeque<EventDecision>>>,
}

impl EventRights {
    /// The caller's standing for delivering `event`: resolved by the first
    /// subscription that asks, reused by the others; `Err` when it could not be
    /// decided (a passing database failure, not kept).
    pub(crate) async fn for_event(
        &self,
        event: Uuid,
        resolve: impl AsyncFnOnce() -> Result<Standing, ApiError>,
    ) -> Result<Standing, ApiError> {
        let mut recent = self.recent.lock().await;
        if let Some((_, rights)) = recent.iter().find(|(seen, _)| *seen == event) {
            return Ok(rights.clone());
        }
        let rights = resolve().await?;
        if recent.len() == RECENT_EVENTS {
            recent.pop_front();
        }
        recent.push_back((event, rights.clone()));
        Ok(rights)
    }
}

/// Who shares decisions: one credential (session, API key or client token) from
/// one address, since the address and the credential's second factor are part
/// of what is decided.
type CallerKey = (SessionId, Option<IpAddr>);

/// The gateway's [`EventRights`], one per caller while any of its operations
/// runs (held weakly: the last operation to end lets it go).
#[derive(Debug, Default)]
pub(crate) struct EventRightsRegistry {
    callers: Mutex<HashMap<CallerKey, Weak<tokio::sync::Mutex<VecDeque<EventDecision>>>>>,
}

impl EventRightsRegistry {
    /// The decisions shared by `caller`'s operations.
    pub(crate) fn for_caller(&self, caller: &Caller) -> EventRights {
        let key = (caller.session.actor.session_id, caller.ip);
        let mut callers = self.callers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(recent) = callers.get(&key).and_then(Weak::upgrade) {
            return EventRights { recent };
        }
        callers.retain(|_, held| held.strong_count() > 0);
        let rights = EventRights::default();
        callers.insert(key, Arc::downgrade(&rights.recent));
        rights
    }
}
