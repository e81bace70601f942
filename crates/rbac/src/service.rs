//! The rbac service: its construction and the helpers every area shares (opening
//! an authorised transaction, the anti-escalation rule, recording an access
//! change, live roles and groups, writing an assignment). The areas are beside it:
//! `scope` (resolving and explaining rights), `roles`, `groups`, `assignments`,
//! `invitation` and `invitation_link`, with row conversions in `convert`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter,
};
use tessera_audit::{AuditEntry, SecurityEvent, SecurityEventKind, Severity};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::token::AccountLinks;
use tessera_kernel::txn::Txn;
use tessera_kernel::{
    AssignmentId, Db, DomainError, GroupId, Permission, PermissionSet, RequestContext, Result, RoleId, TenantId, UserId,
};
use tessera_ledger::UsageHooks;

use crate::convert::{scope_columns, subject_columns, with_permissions};
use crate::entity::{assignment, group, role};
use crate::model::{NewAssignment, Role};
use crate::resolve::AccessFacts;

/// Roles, groups and assignments of the request's tenant, and the resolution of
/// what a user may do there.
#[derive(Debug, Clone)]
pub struct RbacService {
    pub(crate) db: Db,
    /// Where staff seats are counted against the tenant's tier.
    pub(crate) usage: Arc<dyn UsageHooks>,
    pub(crate) links: AccountLinks,
    /// Invitation emails (new and resent) one tenant may send in 24 hours.
    pub(crate) invitations_per_day: u32,
}

impl RbacService {
    /// A service over `db`, counting staff seats through `usage`.
    pub fn new(db: Db, usage: Arc<dyn UsageHooks>) -> Self {
        Self { db, usage, links: AccountLinks::default(), invitations_per_day: crate::invitation::INVITATIONS_PER_DAY }
    }

    /// The same service letting each tenant send `per_day` invitation emails a day.
    pub fn with_invitations_per_day(mut self, per_day: u32) -> Self {
        self.invitations_per_day = per_day;
        self
    }

    /// The same service sending invitation links under `links`.
    pub fn with_links(mut self, links: AccountLinks) -> Self {
        self.links = links;
        self
    }

    pub(crate) async fn open(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        access: Access,
    ) -> Result<(Authorized, Txn)> {
        self.db.begin_authorized(ctx, permission, access).await
    }
}

/// Writes `grant` as granted by `granted_by` (`None`: the system) at `granted_at`.
/// Callers have checked the role, the subject and the actor's rights.
pub(crate) async fn insert_assignment(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    grant: &NewAssignment,
    granted_by: Option<UserId>,
    granted_at: DateTime<Utc>,
) -> Result<assignment::Model> {
    let (user_id, group_id) = subject_columns(grant.subject);
    let (scope_type, scope_id) = scope_columns(grant.scope);
    let row = assignment::ActiveModel {
        id: Set(AssignmentId::generate(granted_at)),
        tenant_id: Set(tenant_id),
        role_id: Set(grant.role_id),
        user_id: Set(user_id),
        group_id: Set(group_id),
        scope_type: Set(scope_type),
        scope_id: Set(scope_id),
        granted_by: Set(granted_by),
        granted_at: Set(granted_at),
        expires_at: Set(grant.expires_at),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(row)
}

/// Refuses to let the actor grant (or take away) permissions they do not hold
/// tenant-wide themselves.
pub(crate) fn ensure_may_grant(ctx: &RequestContext, wanted: &PermissionSet) -> Result<()> {
    let held = ctx.tenant().map(|t| t.permissions.clone()).unwrap_or_default();
    let missing = held.missing_from(wanted);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!(
            "you can only grant or take away permissions you hold yourself; you lack {}",
            list(&missing)
        )))
    }
}

pub(crate) fn list(set: &PermissionSet) -> String {
    set.iter().map(Permission::name).collect::<Vec<_>>().join(", ")
}

/// Assignments that are neither revoked nor expired at `now`.
pub(crate) fn active_assignment(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(assignment::Column::RevokedAt.is_null())
        .add(Condition::any().add(assignment::Column::ExpiresAt.is_null()).add(assignment::Column::ExpiresAt.gt(now)))
}

pub(crate) async fn require_member<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, user_id: UserId) -> Result<()> {
    if tessera_tenant::is_member(conn, tenant_id, user_id).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound { entity: "member" })
    }
}

pub(crate) async fn live_group<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: GroupId) -> Result<group::Model> {
    group::Entity::find_by_id((tenant_id, id))
        .filter(group::Column::DeletedAt.is_null())
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound { entity: "group" })
}

/// The tenant's live default roles: what a new member gets when no role is named.
pub(crate) fn default_roles(facts: &AccessFacts) -> Vec<RoleId> {
    facts.roles.values().filter(|r| r.is_default && r.deleted_at.is_none()).map(|r| r.id).collect()
}

pub(crate) fn live_role<'a>(facts: &'a AccessFacts, id: RoleId, field: &str) -> Result<&'a Role> {
    match facts.roles.get(&id) {
        Some(role) if role.deleted_at.is_none() => Ok(role),
        _ if field == "id" => Err(DomainError::NotFound { entity: "role" }),
        _ => Err(DomainError::invalid(field, "no such role in this tenant")),
    }
}

/// Permissions whose change is a high-severity security event: they control who
/// may do what, or reveal it.
const ADMINISTRATIVE: [Permission; 6] = [
    Permission::TenantManage,
    Permission::TenantDelete,
    Permission::PolicyManage,
    Permission::RoleManage,
    Permission::RoleAssign,
    Permission::AuditRead,
];

impl RbacService {
    /// Records an access change in its transaction: the staff seats it leaves
    /// (every access change passes here, so none can add a seat uncounted; see
    /// `seats.rs`), the audit entry, a `permission_changed` security event when
    /// it changes what someone may do (`affected`: the permissions given or
    /// taken; `about`: the user, when one), and the `AccessChanged` event that
    /// live subscribers re-check their rights on.
    pub(crate) async fn record_change(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        auth: &Authorized,
        entry: AuditEntry,
        about: Option<UserId>,
        affected: &PermissionSet,
    ) -> Result<()> {
        let at = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(txn, auth.tenant_id).await?;
        crate::seats::settle(txn, &*self.usage, &tenant, at).await?;
        let payload = serde_json::json!({ "change": entry.action, "by": auth.actor.map(|a| a.user_id) });
        let subject = uuid::Uuid::parse_str(&entry.target_id)
            .map_err(|e| DomainError::Internal(format!("an access change names no id: {e}")))?;
        event::enqueue(txn, &DomainEvent::new(at, auth.tenant_id, EventKind::AccessChanged, subject, payload)).await?;
        if !affected.is_empty() {
            let severity =
                if ADMINISTRATIVE.iter().any(|p| affected.contains(*p)) { Severity::High } else { Severity::Medium };
            let details = serde_json::json!({
                "action": entry.action,
                "targetType": entry.target_type,
                "targetId": entry.target_id,
                "permissions": affected.iter().map(Permission::name).collect::<Vec<_>>(),
            });
            let event = SecurityEvent { kind: SecurityEventKind::PermissionChanged, severity, user_id: about, details };
            tessera_audit::record_security_event(txn, ctx, Some(auth.tenant_id), event).await?;
        }
        tessera_audit::append(txn, ctx, auth, entry).await
    }
}

/// Every role of the tenant (deleted ones too), for walking parents.
pub(crate) async fn load_role_facts<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<AccessFacts> {
    let rows = role::Entity::find().filter(role::Column::TenantId.eq(tenant_id)).all(conn).await?;
    let roles = with_permissions(conn, tenant_id, rows).await?;
    Ok(AccessFacts { roles: roles.into_iter().map(|r| (r.id, r)).collect(), ..AccessFacts::default() })
}
