//! Scope resolution: what a caller may do in a tenant (once per request), why
//! (explain, as of any instant), and who holds what across tenants.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{
    DomainError, GroupId, Permission, RequestContext, Resource, Result, RoleId, TenantId, TenantScope, UserId,
};
use tessera_tenant::{Tenant, TenantRef};

use crate::entity::{assignment, group, group_member, role};
use crate::model::{
    Assignment, BuiltinRole, Explanation, GrantStatus, Group, GroupMember, ParentAccess, Role, ScopeType,
};
use crate::resolve::AccessFacts;
use crate::service::{RbacService, active_assignment, load_role_facts};

impl RbacService {
    /// Resolves the `X-Tenant` header for `user_id` at `at`: the tenant and what the
    /// user may do there (their roles and their groups' roles, with parents, within
    /// scope and time, limited by the tenant's status). A tenant that does not exist
    /// and one the user does not belong to answer the same `NOT_FOUND`, so the header
    /// cannot probe for other businesses. An owner of the parent reaches a child that
    /// allows it (`resolve_through_parent`). One transaction; nothing is cached across
    /// requests here; the gateway may reuse an answer (see [`ResolvedScope`]).
    pub async fn resolve_scope(
        &self,
        user_id: UserId,
        reference: &TenantRef,
        at: DateTime<Utc>,
    ) -> Result<(Tenant, TenantScope)> {
        let resolved = self.resolve_scope_until(user_id, reference, at).await?;
        Ok((resolved.tenant, resolved.scope))
    }

    /// [`Self::resolve_scope`], with the instant its answer lapses by itself.
    pub async fn resolve_scope_until(
        &self,
        user_id: UserId,
        reference: &TenantRef,
        at: DateTime<Utc>,
    ) -> Result<ResolvedScope> {
        let txn = self.db.begin(Scope::User(user_id), Access::Read).await?;
        let Some(tenant) = tessera_tenant::find_member_tenant(&txn, user_id, reference).await? else {
            let through_parent = self.resolve_through_parent(&txn, user_id, reference, at).await?;
            txn.commit().await?;
            return through_parent.ok_or(DomainError::NotFound { entity: "tenant" });
        };
        self.db.enter_tenant(&txn, tenant.id).await?;
        let facts = load_facts(&txn, tenant.id, user_id, Some(at)).await?;
        txn.commit().await?;
        let lapses_at = facts.next_lapse(at);
        let effective = facts.effective(at);
        let status = tenant.status;
        let mut permissions = effective.tenant_wide;
        permissions.retain(|p| status.allows(*p));
        let mut resource_permissions = effective.on_resources;
        resource_permissions.retain(|_, set| {
            set.retain(|p| status.allows(*p));
            !set.is_empty()
        });
        let scope = TenantScope { tenant_id: tenant.id, permissions, resource_permissions, through_parent: None };
        Ok(ResolvedScope { tenant, scope, lapses_at })
    }

    /// The roles `user_id` holds in force in `tenant_id` at `at`, directly or
    /// through groups, with their ancestors (a tenant's policy may name a parent
    /// role such as staff and mean its children too).
    pub async fn held_roles(&self, user_id: UserId, tenant_id: TenantId, at: DateTime<Utc>) -> Result<Vec<RoleId>> {
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let facts = load_facts(&txn, tenant_id, user_id, Some(at)).await?;
        txn.commit().await?;
        let mut held: Vec<RoleId> = facts
            .assignments
            .iter()
            .filter(|a| facts.in_force(a, at))
            .flat_map(|a| facts.chain(a.role_id).into_iter().map(|r| r.id))
            .collect();
        held.sort();
        held.dedup();
        Ok(held)
    }

    /// The tenant hierarchy's one route in for a non-member: the tenant lets its
    /// parent manage it, and the user owns the parent (which is not suspended or
    /// deleted). They then act with the built-in admin role's rights: everything but
    /// deleting the tenant. One level only; nothing flows from a child to its parent
    /// or between siblings, since only the parent's own assignments are consulted.
    async fn resolve_through_parent(
        &self,
        txn: &DatabaseTransaction,
        user_id: UserId,
        reference: &TenantRef,
        at: DateTime<Utc>,
    ) -> Result<Option<ResolvedScope>> {
        let Some((tenant, parent)) = tessera_tenant::find_parent_managed_tenant(txn, user_id, reference).await? else {
            return Ok(None);
        };
        if !parent.status.allows(Permission::TenantManage) {
            return Ok(None);
        }
        self.db.enter_tenant(txn, parent.id).await?;
        let facts = load_facts(txn, parent.id, user_id, Some(at)).await?;
        if !facts.is_owner(at) {
            return Ok(None);
        }
        let mut permissions = BuiltinRole::Admin.permissions();
        permissions.retain(|p| tenant.status.allows(*p));
        let scope = TenantScope {
            tenant_id: tenant.id,
            permissions,
            resource_permissions: BTreeMap::new(),
            through_parent: Some(parent.id),
        };
        Ok(Some(ResolvedScope { tenant, scope, lapses_at: facts.next_lapse(at) }))
    }

    /// Answers "may `user_id` do `permission` (on `resource`, or anywhere in the
    /// tenant) at `at`?" with every assignment that could give it and whether it
    /// does. `at` may lie in the past: assignments, group memberships and deletions
    /// are kept with their times. Role permissions are those the roles have now.
    pub async fn explain(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        permission: Permission,
        resource: Option<Resource>,
        at: DateTime<Utc>,
    ) -> Result<Explanation> {
        let auth = ctx.authorize(Permission::RoleRead)?;
        let txn = self.db.begin(auth.scope(), Access::Read).await?;
        let member = tessera_tenant::is_member(&txn, auth.tenant_id, user_id).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let facts = load_facts(&txn, auth.tenant_id, user_id, None).await?;
        let through_parent = match tenant.parent_tenant_id {
            Some(parent_tenant_id) if !member => {
                // The parent's rows are visible once the transaction acts in it.
                self.db.enter_tenant(&txn, parent_tenant_id).await?;
                let owner_of_parent = tessera_tenant::is_member(&txn, parent_tenant_id, user_id).await?
                    && load_facts(&txn, parent_tenant_id, user_id, None).await?.is_owner(at);
                let allowed_by_tenant = tenant.parent_may_manage;
                let grants =
                    allowed_by_tenant && owner_of_parent && BuiltinRole::Admin.permissions().contains(permission);
                Some(ParentAccess { parent_tenant_id, allowed_by_tenant, owner_of_parent, grants })
            }
            _ => None,
        };
        txn.commit().await?;
        let paths = facts.paths(permission, resource, at);
        let withheld_by_tenant_status = !tenant.status.allows(permission);
        let granted = (member && paths.iter().any(|path| path.status == GrantStatus::Grants))
            || through_parent.is_some_and(|route| route.grants);
        let allowed = granted && !withheld_by_tenant_status;
        Ok(Explanation {
            allowed,
            user_id,
            permission,
            resource,
            at,
            member,
            withheld_by_tenant_status,
            paths,
            through_parent,
        })
    }

    /// The caller's active assignments in the request's tenant (direct and through
    /// groups), with their roles: what `me { roles }` shows. Needs no permission.
    pub async fn my_assignments(&self, ctx: &RequestContext) -> Result<Vec<(Assignment, Role)>> {
        let actor = ctx.require_actor()?;
        let tenant = ctx
            .tenant()
            .ok_or_else(|| DomainError::invalid("X-Tenant", "this field needs a tenant: send the X-Tenant header"))?;
        let scope = Scope::Tenant { tenant_id: tenant.tenant_id, user_id: Some(actor.user_id) };
        let txn = self.db.begin(scope, Access::Read).await?;
        let now = ctx.now();
        let facts = load_facts(&txn, tenant.tenant_id, actor.user_id, Some(now)).await?;
        txn.commit().await?;
        let mut active: Vec<(Assignment, Role)> = facts
            .assignments
            .iter()
            .filter(|a| facts.in_force(a, now))
            .filter_map(|a| facts.roles.get(&a.role_id).map(|role| (a.clone(), role.clone())))
            .collect();
        active.sort_by_key(|(a, _)| a.id);
        Ok(active)
    }

    /// The tenants whose only direct, lasting owner is `user_id`: closing their
    /// account would leave those businesses without anyone who can run them.
    /// Each tenant's owner role is locked while its owners are counted, as when
    /// an owner is revoked.
    pub async fn tenants_solely_owned_by(&self, user_id: UserId) -> Result<Vec<TenantId>> {
        let txn = self.db.begin(Scope::User(user_id), Access::Read).await?;
        let tenants = tessera_tenant::tenant_ids_of_user(&txn, user_id).await?;
        txn.commit().await?;
        let mut sole = Vec::new();
        for tenant_id in tenants {
            let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Write).await?;
            let facts = load_role_facts(&txn, tenant_id).await?;
            let Some(owner_role) = facts.roles.values().find(|r| r.builtin == Some(BuiltinRole::Owner)).map(|r| r.id)
            else {
                continue;
            };
            role::Entity::find_by_id((tenant_id, owner_role)).lock_exclusive().one(&txn).await?;
            let owners: Vec<UserId> = assignment::Entity::find()
                .filter(assignment::Column::TenantId.eq(tenant_id))
                .filter(assignment::Column::RoleId.eq(owner_role))
                .filter(assignment::Column::ScopeType.eq(ScopeType::Tenant))
                .filter(assignment::Column::RevokedAt.is_null())
                .filter(assignment::Column::ExpiresAt.is_null())
                .all(&txn)
                .await?
                .into_iter()
                .filter_map(|a| a.user_id)
                .collect();
            txn.commit().await?;
            if owners.contains(&user_id) && owners.iter().all(|o| *o == user_id) {
                sole.push(tenant_id);
            }
        }
        Ok(sole)
    }

    /// The tenant's staff: members holding, directly or through a live group, an
    /// assignment in force to a role granting more than a customer may do. Their logins
    /// and account security events are the tenant's to audit (`audit:read`); a
    /// customer's are not, since she may book with many businesses.
    pub async fn staff_accounts(&self, ctx: &RequestContext) -> Result<Vec<UserId>> {
        let (auth, txn) = self.open(ctx, Permission::AuditRead, Access::Read).await?;
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        // Staff are decided by what their roles grant, not by the roles' names: a
        // role granting no more than a customer may do (an empty custom role, a
        // "VIP" customer role) does not make a customer's account activity,
        // which spans every business she books with, this business's to read.
        let customer = BuiltinRole::Customer.permissions();
        let staff_roles: Vec<RoleId> = facts
            .roles
            .values()
            .filter(|r| facts.role_permissions(r.id).iter().any(|p| !customer.contains(p)))
            .map(|r| r.id)
            .collect();
        let granted = assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(auth.tenant_id))
            .filter(assignment::Column::RoleId.is_in(staff_roles))
            .filter(active_assignment(ctx.now()))
            .all(&txn)
            .await?;
        let mut users: HashSet<UserId> = granted.iter().filter_map(|a| a.user_id).collect();
        let groups: Vec<GroupId> = granted.iter().filter_map(|a| a.group_id).collect();
        if !groups.is_empty() {
            let live_groups = group::Entity::find()
                .filter(group::Column::TenantId.eq(auth.tenant_id))
                .filter(group::Column::Id.is_in(groups))
                .filter(group::Column::DeletedAt.is_null())
                .all(&txn)
                .await?;
            let in_groups = group_member::Entity::find()
                .filter(group_member::Column::TenantId.eq(auth.tenant_id))
                .filter(group_member::Column::GroupId.is_in(live_groups.into_iter().map(|g| g.id)))
                .filter(group_member::Column::RemovedAt.is_null())
                .all(&txn)
                .await?;
            users.extend(in_groups.into_iter().map(|m| m.user_id));
        }
        let candidates: Vec<UserId> = users.into_iter().collect();
        let mut staff = tessera_tenant::members_among(&txn, auth.tenant_id, &candidates).await?;
        txn.commit().await?;
        staff.sort();
        Ok(staff)
    }
}

/// A caller's tenant and rights in it, and when that answer lapses by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedScope {
    /// The tenant the reference named.
    pub tenant: Tenant,
    /// What the caller may do there.
    pub scope: TenantScope,
    /// When an assignment behind the answer expires (`None`: none does).
    /// Until then the answer changes only with a write, which announces an
    /// access, tenant or membership change for the tenant (or, for an owner
    /// reaching a child, for its parent): a cache may keep the answer that long,
    /// checking for such a change on each use.
    pub lapses_at: Option<DateTime<Utc>>,
}

/// Everything needed to resolve `user_id`'s access in `tenant_id`. With `current`,
/// only what is in force at that instant is loaded (the per-request path); without,
/// the whole history (for explanations as of any instant).
async fn load_facts<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    user_id: UserId,
    current: Option<DateTime<Utc>>,
) -> Result<AccessFacts> {
    let mut facts = load_role_facts(conn, tenant_id).await?;
    let mut memberships = group_member::Entity::find()
        .filter(group_member::Column::TenantId.eq(tenant_id))
        .filter(group_member::Column::UserId.eq(user_id));
    if current.is_some() {
        memberships = memberships.filter(group_member::Column::RemovedAt.is_null());
    }
    facts.memberships = memberships.all(conn).await?.into_iter().map(GroupMember::from).collect();
    let group_ids: Vec<GroupId> =
        facts.memberships.iter().map(|m| m.group_id).collect::<HashSet<_>>().into_iter().collect();
    if !group_ids.is_empty() {
        facts.groups = group::Entity::find()
            .filter(group::Column::TenantId.eq(tenant_id))
            .filter(group::Column::Id.is_in(group_ids.iter().copied()))
            .all(conn)
            .await?
            .into_iter()
            .map(|g| (g.id, Group::from(g)))
            .collect();
    }
    let mut subjects = Condition::any().add(assignment::Column::UserId.eq(user_id));
    if !group_ids.is_empty() {
        subjects = subjects.add(assignment::Column::GroupId.is_in(group_ids));
    }
    let mut assignments =
        assignment::Entity::find().filter(assignment::Column::TenantId.eq(tenant_id)).filter(subjects);
    if let Some(now) = current {
        assignments = assignments.filter(active_assignment(now));
    }
    facts.assignments =
        assignments.all(conn).await?.into_iter().map(Assignment::try_from).collect::<Result<Vec<_>>>()?;
    Ok(facts)
}
