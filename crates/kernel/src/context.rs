//! Who is acting, where, and with which rights.
//!
//! Every service method takes a [`RequestContext`] first. Reaching tenant data needs
//! an [`Authorized`] handle, which only [`RequestContext::authorize`] hands out, and
//! only when the request has a tenant and the actor holds the permission: code that
//! skipped the check has no tenant id to query with.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::db::Scope;
use crate::txn::SharedReads;
use crate::{
    DomainError, OAuthClientId, Permission, PermissionSet, ProviderId, Result, SessionId, SharedClock, TenantId, UserId,
};

/// The signed-in user behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The user.
    pub user_id: UserId,
    /// The session the request came with.
    pub session_id: SessionId,
}

/// One thing inside a tenant that a role can be granted on alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// A provider: their schedule and the bookings they perform.
    Provider(ProviderId),
}

/// The tenant a request acts in, with the actor's rights there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    /// The tenant, resolved from the `X-Tenant` header and checked for membership.
    pub tenant_id: TenantId,
    /// What the actor may do anywhere in it.
    pub permissions: PermissionSet,
    /// What the actor may do on single resources only (roles granted with a
    /// resource scope), beyond `permissions`.
    pub resource_permissions: BTreeMap<Resource, PermissionSet>,
    /// Set when the actor is not a member and acts as an owner of this parent
    /// tenant, which the tenant lets manage it.
    pub through_parent: Option<TenantId>,
}

impl TenantScope {
    /// Rights that hold tenant-wide only.
    pub fn tenant_wide(tenant_id: TenantId, permissions: PermissionSet) -> Self {
        Self { tenant_id, permissions, resource_permissions: BTreeMap::new(), through_parent: None }
    }

    /// Whether `permission` is held tenant-wide or on at least one resource.
    pub fn holds_somewhere(&self, permission: Permission) -> bool {
        self.permissions.contains(permission) || self.resource_permissions.values().any(|set| set.contains(permission))
    }

    /// Whether `permission` holds on `resource`: tenant-wide or granted on it.
    pub fn allows_on(&self, permission: Permission, resource: Resource) -> bool {
        self.permissions.contains(permission)
            || self.resource_permissions.get(&resource).is_some_and(|set| set.contains(permission))
    }

    /// How far `all`, or its `own` variant (`booking:read` and `booking:read_own`),
    /// reaches for the actor; `None` when neither is held anywhere.
    pub fn reach(&self, all: Permission, own: Permission) -> Option<Reach> {
        if self.permissions.contains(all) {
            return Some(Reach::Tenant);
        }
        let resources: Vec<Resource> = self
            .resource_permissions
            .iter()
            .filter(|(_, set)| set.contains(all))
            .map(|(resource, _)| *resource)
            .collect();
        let own = self.permissions.contains(own);
        (own || !resources.is_empty()).then_some(Reach::Limited { own, resources })
    }
}

/// How far an operation reaches for an actor who holds its permission only in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Everything in the tenant.
    Tenant,
    /// Only what the actor takes part in (when `own`: their own bookings, their
    /// own customer profile, the provider linked to them) and the `resources` the
    /// full permission was granted on.
    Limited {
        /// Whether the `*_own` permission is held.
        own: bool,
        /// The resources the full permission was granted on alone.
        resources: Vec<Resource>,
    },
}

/// Facts about the HTTP request, kept for logs, sessions and audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request id (echoed in `x-request-id` and in every log line).
    pub request_id: String,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// Everything a service needs to know about the request it serves.
#[derive(Debug, Clone)]
pub struct RequestContext {
    actor: Option<Actor>,
    /// The partner client the request comes from, when it is one.
    client: Option<OAuthClientId>,
    tenant: Option<TenantScope>,
    meta: RequestMeta,
    clock: SharedClock,
    /// A query request's one read transaction (see [`crate::txn`]).
    reads: Option<SharedReads>,
}

/// Proof that the actor may do one thing in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    /// The tenant the permission holds in.
    pub tenant_id: TenantId,
    /// The actor, if the request has one.
    pub actor: Option<Actor>,
    /// The permission that was checked.
    pub permission: Permission,
}

impl Authorized {
    /// The transaction scope for work done under this authorization.
    pub fn scope(&self) -> Scope {
        Scope::Tenant { tenant_id: self.tenant_id, user_id: self.actor.map(|a| a.user_id) }
    }
}

impl RequestContext {
    /// A context for an anonymous request with no tenant.
    pub fn anonymous(meta: RequestMeta, clock: SharedClock) -> Self {
        Self { actor: None, client: None, tenant: None, meta, clock, reads: None }
    }

    /// The same context with `actor` signed in.
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// The same context marked as coming from partner client `client` (which
    /// acts within its tenant's permissions only, never on an account).
    pub fn with_client(mut self, client: OAuthClientId) -> Self {
        self.client = Some(client);
        self
    }

    /// The partner client the request comes from, if it does.
    pub fn client(&self) -> Option<OAuthClientId> {
        self.client
    }

    /// The same context acting in `tenant`.
    pub fn with_tenant(mut self, tenant: TenantScope) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// The same context with its reads sharing one transaction; the caller
    /// ends it with [`SharedReads::finish`] once the operation has answered.
    pub fn with_shared_reads(mut self) -> (Self, SharedReads) {
        let reads = SharedReads::default();
        self.reads = Some(reads.clone());
        (self, reads)
    }

    /// The request's shared read transaction, if its reads share one.
    pub fn shared_reads(&self) -> Option<&SharedReads> {
        self.reads.as_ref()
    }

    /// The signed-in actor, if any.
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }

    /// The signed-in actor, or `UNAUTHENTICATED`.
    pub fn require_actor(&self) -> Result<Actor> {
        self.actor.ok_or_else(|| DomainError::Unauthenticated("sign in first".into()))
    }

    /// The request's tenant, if one was selected.
    pub fn tenant(&self) -> Option<&TenantScope> {
        self.tenant.as_ref()
    }

    /// Whether the actor holds `permission` in the request's tenant.
    pub fn has(&self, permission: Permission) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.permissions.contains(permission))
    }

    /// Checks `permission` tenant-wide in the request's tenant and returns the
    /// handle that tenant-scoped service calls need.
    pub fn authorize(&self, permission: Permission) -> Result<Authorized> {
        let tenant = self.require_tenant()?;
        if !tenant.permissions.contains(permission) {
            return Err(DomainError::Forbidden(format!("missing permission {permission}")));
        }
        Ok(Authorized { tenant_id: tenant.tenant_id, actor: self.actor, permission })
    }

    /// Checks `permission` on one resource of the request's tenant: held
    /// tenant-wide, or granted on that resource alone.
    pub fn authorize_on(&self, permission: Permission, resource: Resource) -> Result<Authorized> {
        let tenant = self.require_tenant()?;
        if !tenant.allows_on(permission, resource) {
            return Err(DomainError::Forbidden(format!("missing permission {permission}")));
        }
        Ok(Authorized { tenant_id: tenant.tenant_id, actor: self.actor, permission })
    }

    /// Checks that `permission` is held tenant-wide or on at least one resource,
    /// for operations that name their resource only inside the data (an exception
    /// to remove). The caller must then check the resource with
    /// [`RequestContext::may_on`].
    pub fn authorize_somewhere(&self, permission: Permission) -> Result<Authorized> {
        let tenant = self.require_tenant()?;
        if !tenant.holds_somewhere(permission) {
            return Err(DomainError::Forbidden(format!("missing permission {permission}")));
        }
        Ok(Authorized { tenant_id: tenant.tenant_id, actor: self.actor, permission })
    }

    /// Checks that `all` or its `own` variant is held and says how far it reaches;
    /// the caller then limits what it reads or changes to that [`Reach`].
    pub fn authorize_reach(&self, all: Permission, own: Permission) -> Result<(Authorized, Reach)> {
        let tenant = self.require_tenant()?;
        let reach = tenant
            .reach(all, own)
            .ok_or_else(|| DomainError::Forbidden(format!("missing permission {all} (or {own})")))?;
        let permission = match &reach {
            Reach::Limited { own: true, resources } if resources.is_empty() => own,
            _ => all,
        };
        Ok((Authorized { tenant_id: tenant.tenant_id, actor: self.actor, permission }, reach))
    }

    /// Whether the actor holds `permission` on `resource` (tenant-wide or there).
    pub fn may_on(&self, permission: Permission, resource: Resource) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.allows_on(permission, resource))
    }

    fn require_tenant(&self) -> Result<&TenantScope> {
        self.tenant
            .as_ref()
            .ok_or_else(|| DomainError::invalid("X-Tenant", "this operation needs a tenant: send the X-Tenant header"))
    }

    /// The request facts.
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// The request's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The current instant, from the request's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn instant() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single().unwrap_or_default()
    }

    fn scope(permissions: &[Permission], on: &[(Resource, Permission)]) -> TenantScope {
        let mut scope = TenantScope::tenant_wide(TenantId::generate(instant()), permissions.iter().copied().collect());
        for (resource, permission) in on {
            scope.resource_permissions.entry(*resource).or_default().insert(*permission);
        }
        scope
    }

    #[test]
    fn reach_is_the_tenant_with_the_full_permission_else_own_records_and_granted_resources() {
        use Permission::{BookingRead, BookingReadOwn};
        let provider = Resource::Provider(ProviderId::generate(instant()));
        assert_eq!(scope(&[BookingRead, BookingReadOwn], &[]).reach(BookingRead, BookingReadOwn), Some(Reach::Tenant));
        assert_eq!(
            scope(&[BookingReadOwn], &[(provider, BookingRead)]).reach(BookingRead, BookingReadOwn),
            Some(Reach::Limited { own: true, resources: vec![provider] })
        );
        assert_eq!(
            scope(&[], &[(provider, BookingRead)]).reach(BookingRead, BookingReadOwn),
            Some(Reach::Limited { own: false, resources: vec![provider] })
        );
        assert_eq!(scope(&[], &[(provider, BookingReadOwn)]).reach(BookingRead, BookingReadOwn), None);
        assert_eq!(scope(&[Permission::BookingCreate], &[]).reach(BookingRead, BookingReadOwn), None);
    }
}
