//! The rbac service: resolving a request's rights, explaining them, and changing
//! roles, groups and assignments.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect,
};
use tessera_audit::{AuditEntry, SecurityEvent, SecurityEventKind, Severity};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::token::AccountLinks;
use tessera_kernel::{
    AssignmentId, Db, DomainError, GroupId, GroupMemberId, Page, PageRequest, Permission, PermissionSet,
    RequestContext, Resource, Result, RoleId, TenantId, TenantScope, UserId,
};
use tessera_tenant::{Member, Tenant, TenantRef};

use crate::entity::{assignment, group, group_member, role, role_permission};
use crate::model::{
    AccessScope, Assignment, AssignmentFilter, BuiltinRole, Explanation, GrantStatus, Group, GroupInput, GroupMember,
    GroupPatch, NewAssignment, ParentAccess, Role, RoleInput, RolePatch, ScopeType, Subject, parse_description,
    parse_name,
};
use crate::resolve::AccessFacts;

/// Roles, groups and assignments of the request's tenant, and the resolution of
/// what a user may do there.
#[derive(Debug, Clone)]
pub struct RbacService {
    pub(crate) db: Db,
    pub(crate) links: AccountLinks,
    /// Invitation emails (new and resent) one tenant may send in 24 hours.
    pub(crate) invitations_per_day: u32,
}

const ROLE_NAME_TAKEN: &str = "a role with that name exists; choose another";
const GROUP_NAME_TAKEN: &str = "a group with that name exists; choose another";

impl RbacService {
    /// A service over `db`.
    pub fn new(db: Db) -> Self {
        Self { db, links: AccountLinks::default(), invitations_per_day: crate::invitation::INVITATIONS_PER_DAY }
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

    /// Resolves the `X-Tenant` header for `user_id` at `at`: the tenant and what the
    /// user may do there (their roles and their groups' roles, with parents, within
    /// scope and time, limited by the tenant's status). A tenant that does not exist
    /// and one the user does not belong to answer the same `NOT_FOUND`, so the header
    /// cannot probe for other businesses. An owner of the parent reaches a child that
    /// allows it (`resolve_through_parent`). One transaction; nothing is cached across
    /// requests, so a change takes effect on the next one.
    pub async fn resolve_scope(
        &self,
        user_id: UserId,
        reference: &TenantRef,
        at: DateTime<Utc>,
    ) -> Result<(Tenant, TenantScope)> {
        let txn = self.db.begin(Scope::User(user_id), Access::Read).await?;
        let Some(tenant) = tessera_tenant::find_member_tenant(&txn, user_id, reference).await? else {
            let through_parent = self.resolve_through_parent(&txn, user_id, reference, at).await?;
            txn.commit().await?;
            return through_parent.ok_or(DomainError::NotFound { entity: "tenant" });
        };
        self.db.enter_tenant(&txn, tenant.id).await?;
        let facts = load_facts(&txn, tenant.id, user_id, Some(at)).await?;
        txn.commit().await?;
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
        Ok((tenant, scope))
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
    ) -> Result<Option<(Tenant, TenantScope)>> {
        let Some((tenant, parent)) = tessera_tenant::find_parent_managed_tenant(txn, user_id, reference).await? else {
            return Ok(None);
        };
        if !parent.status.allows(Permission::TenantManage) {
            return Ok(None);
        }
        self.db.enter_tenant(txn, parent.id).await?;
        if !load_facts(txn, parent.id, user_id, Some(at)).await?.is_owner(at) {
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
        Ok(Some((tenant, scope)))
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

    /// The tenant's live roles.
    pub async fn roles(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Role>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let keyset = page.keyset()?;
        let rows = keyset
            .apply(
                role::Entity::find()
                    .filter(role::Column::TenantId.eq(auth.tenant_id))
                    .filter(role::Column::DeletedAt.is_null()),
                role::Column::Id,
            )
            .all(&txn)
            .await?;
        let roles = with_permissions(&txn, rows).await?;
        txn.commit().await?;
        Ok(keyset.finish(roles))
    }

    /// Roles by id (deleted ones too, for history), for batched loading.
    pub async fn roles_by_ids(&self, ctx: &RequestContext, ids: &[RoleId]) -> Result<HashMap<RoleId, Role>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let rows = role::Entity::find()
            .filter(role::Column::TenantId.eq(auth.tenant_id))
            .filter(role::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        let roles = with_permissions(&txn, rows).await?;
        txn.commit().await?;
        Ok(roles.into_iter().map(|r| (r.id, r)).collect())
    }

    /// Creates a role. Its permissions (with its parent's) must all be held by the
    /// actor: nobody can mint rights they do not have.
    pub async fn create_role(&self, ctx: &RequestContext, input: RoleInput) -> Result<Role> {
        let (auth, txn) = self.open(ctx, Permission::RoleManage, Access::Write).await?;
        let now = ctx.now();
        let id = RoleId::generate(now);
        let name = parse_name(&input.name)?;
        let description = parse_description(input.description.as_deref())?;
        let own: PermissionSet = input.permissions.iter().copied().collect();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        if let Some(parent) = input.parent_id {
            live_role(&facts, parent, "parentId")?;
        }
        let mut total = own.clone();
        if let Some(parent) = input.parent_id {
            total.extend(&facts.role_permissions(parent));
        }
        ensure_may_grant(ctx, &total)?;
        if input.is_default {
            clear_default(&txn, auth.tenant_id).await?;
        }
        let row = role::ActiveModel {
            id: Set(id),
            tenant_id: Set(auth.tenant_id),
            builtin_key: Set(None),
            name: Set(name),
            description: Set(description),
            parent_role_id: Set(input.parent_id),
            is_default: Set(input.is_default),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, ROLE_NAME_TAKEN))?;
        write_permissions(&txn, auth.tenant_id, id, &own).await?;
        let role = to_role(row, own);
        let entry = AuditEntry::change("role.created", "role", id, None, Some(&role_snapshot(&role)))?;
        record_change(&txn, ctx, &auth, entry, None, &total).await?;
        txn.commit().await?;
        Ok(role)
    }

    /// Changes a role. A built-in role keeps its built-in permissions and has no
    /// parent; a parent that would make a cycle is refused; the resulting
    /// permissions must all be held by the actor.
    pub async fn update_role(&self, ctx: &RequestContext, id: RoleId, patch: RolePatch) -> Result<Role> {
        let (auth, txn) = self.open(ctx, Permission::RoleManage, Access::Write).await?;
        let now = ctx.now();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        let current = live_role(&facts, id, "id")?.clone();
        let mut row = role::Entity::find_by_id(id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "role" })?;
        let mut own = current.permissions.clone();
        if let Some(permissions) = &patch.permissions {
            own = permissions.iter().copied().collect();
            if let Some(builtin) = current.builtin {
                let missing = own.missing_from(&builtin.permissions());
                if !missing.is_empty() {
                    return Err(DomainError::invalid(
                        "permissions",
                        format!("the built-in {} role must keep {}", builtin.key(), list(&missing)),
                    ));
                }
            }
        }
        let parent = patch.parent_id.unwrap_or(current.parent_id);
        if let Some(parent) = parent {
            if current.builtin.is_some() {
                return Err(DomainError::invalid("parentId", "built-in roles have no parent"));
            }
            live_role(&facts, parent, "parentId")?;
            if facts.chain(parent).iter().any(|ancestor| ancestor.id == id) {
                return Err(DomainError::invalid("parentId", "that parent would make the role its own ancestor"));
            }
        }
        let mut total = own.clone();
        if let Some(parent) = parent {
            total.extend(&facts.role_permissions(parent));
        }
        ensure_may_grant(ctx, &total)?;
        // The actor must also hold what the role gave before: editing a role is
        // granting or taking away its rights from everyone who has it.
        ensure_may_grant(ctx, &facts.role_permissions(id))?;
        let mut active = row.clone().into_active_model();
        if let Some(name) = &patch.name {
            active.name = Set(parse_name(name)?);
        }
        if let Some(description) = &patch.description {
            active.description = Set(parse_description(description.as_deref())?);
        }
        if let Some(is_default) = patch.is_default {
            if is_default && !row.is_default {
                clear_default(&txn, auth.tenant_id).await?;
            }
            active.is_default = Set(is_default);
        }
        active.parent_role_id = Set(parent);
        active.updated_at = Set(now);
        row = active.update(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, ROLE_NAME_TAKEN))?;
        if patch.permissions.is_some() {
            role_permission::Entity::delete_many().filter(role_permission::Column::RoleId.eq(id)).exec(&txn).await?;
            let stored = match current.builtin {
                Some(builtin) => builtin.permissions().missing_from(&own),
                None => own.clone(),
            };
            write_permissions(&txn, auth.tenant_id, id, &stored).await?;
        }
        let role = to_role(row, own);
        let entry = AuditEntry::change(
            "role.updated",
            "role",
            id,
            Some(&role_snapshot(&current)),
            Some(&role_snapshot(&role)),
        )?;
        let mut affected = total;
        affected.extend(&facts.role_permissions(id));
        record_change(&txn, ctx, &auth, entry, None, &affected).await?;
        txn.commit().await?;
        Ok(role)
    }

    /// Deletes a custom role that nobody holds and no role inherits from. It stays
    /// in the history of the assignments that named it.
    pub async fn delete_role(&self, ctx: &RequestContext, id: RoleId) -> Result<Role> {
        let (auth, txn) = self.open(ctx, Permission::RoleManage, Access::Write).await?;
        let now = ctx.now();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        let current = live_role(&facts, id, "id")?.clone();
        if let Some(builtin) = current.builtin {
            return Err(DomainError::Conflict(format!("the built-in {} role cannot be deleted", builtin.key())));
        }
        if facts.roles.values().any(|r| r.parent_id == Some(id) && r.deleted_at.is_none()) {
            return Err(DomainError::Conflict("other roles inherit from this one; change their parent first".into()));
        }
        let holders = assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(auth.tenant_id))
            .filter(assignment::Column::RoleId.eq(id))
            .filter(active_assignment(now))
            .count(&txn)
            .await?;
        if holders > 0 {
            return Err(DomainError::Conflict(format!("revoke the role's {holders} active assignment(s) first")));
        }
        ensure_may_grant(ctx, &facts.role_permissions(id))?;
        let mut row = role::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "role" })?
            .into_active_model();
        row.deleted_at = Set(Some(now));
        row.is_default = Set(false);
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        let role = to_role(row, current.permissions.clone());
        let entry = AuditEntry::change(
            "role.deleted",
            "role",
            id,
            Some(&role_snapshot(&current)),
            Some(&role_snapshot(&role)),
        )?;
        record_change(&txn, ctx, &auth, entry, None, &facts.role_permissions(id)).await?;
        txn.commit().await?;
        Ok(role)
    }

    /// The tenant's live groups.
    pub async fn groups(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Group>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let keyset = page.keyset()?;
        let rows = keyset
            .apply(
                group::Entity::find()
                    .filter(group::Column::TenantId.eq(auth.tenant_id))
                    .filter(group::Column::DeletedAt.is_null()),
                group::Column::Id,
            )
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Group::from))
    }

    /// Groups by id (deleted ones too), for batched loading.
    pub async fn groups_by_ids(&self, ctx: &RequestContext, ids: &[GroupId]) -> Result<HashMap<GroupId, Group>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let rows = group::Entity::find()
            .filter(group::Column::TenantId.eq(auth.tenant_id))
            .filter(group::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|g| (g.id, Group::from(g))).collect())
    }

    /// Creates a group.
    pub async fn create_group(&self, ctx: &RequestContext, input: GroupInput) -> Result<Group> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let id = GroupId::generate(now);
        let row = group::ActiveModel {
            id: Set(id),
            tenant_id: Set(auth.tenant_id),
            name: Set(parse_name(&input.name)?),
            description: Set(parse_description(input.description.as_deref())?),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, GROUP_NAME_TAKEN))?;
        let entry = AuditEntry::change("group.created", "group", id, None, Some(&row))?;
        record_change(&txn, ctx, &auth, entry, None, &PermissionSet::empty()).await?;
        txn.commit().await?;
        Ok(Group::from(row))
    }

    /// Renames a group or changes its description.
    pub async fn update_group(&self, ctx: &RequestContext, id: GroupId, patch: GroupPatch) -> Result<Group> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let before = live_group(&txn, auth.tenant_id, id).await?;
        let mut row = before.clone().into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(parse_name(name)?);
        }
        if let Some(description) = &patch.description {
            row.description = Set(parse_description(description.as_deref())?);
        }
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, GROUP_NAME_TAKEN))?;
        let entry = AuditEntry::change("group.updated", "group", id, Some(&before), Some(&row))?;
        record_change(&txn, ctx, &auth, entry, None, &PermissionSet::empty()).await?;
        txn.commit().await?;
        Ok(Group::from(row))
    }

    /// Deletes a group: its assignments stop granting at once; members and
    /// assignments stay for history. The actor must hold what the group's roles give.
    pub async fn delete_group(&self, ctx: &RequestContext, id: GroupId) -> Result<Group> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let before = live_group(&txn, auth.tenant_id, id).await?;
        let given = group_permissions(&txn, auth.tenant_id, id, now).await?;
        ensure_may_grant(ctx, &given)?;
        let mut row = before.clone().into_active_model();
        row.deleted_at = Set(Some(now));
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("group.deleted", "group", id, Some(&before), Some(&row))?;
        record_change(&txn, ctx, &auth, entry, None, &given).await?;
        txn.commit().await?;
        Ok(Group::from(row))
    }

    /// A group's members: current ones, or everyone who ever was with `history`.
    pub async fn group_members(
        &self,
        ctx: &RequestContext,
        group_id: GroupId,
        history: bool,
        page: &PageRequest,
    ) -> Result<Page<GroupMember>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let keyset = page.keyset()?;
        let mut select = group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(auth.tenant_id))
            .filter(group_member::Column::GroupId.eq(group_id));
        if !history {
            select = select.filter(group_member::Column::RemovedAt.is_null());
        }
        let rows = keyset.apply(select, group_member::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(GroupMember::from))
    }

    /// Adds a member of the tenant to a group. The group's roles reach them at once,
    /// so the actor must hold what those roles give.
    pub async fn add_group_member(
        &self,
        ctx: &RequestContext,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<GroupMember> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        live_group(&txn, auth.tenant_id, group_id).await?;
        require_member(&txn, auth.tenant_id, user_id).await?;
        let given = group_permissions(&txn, auth.tenant_id, group_id, now).await?;
        ensure_may_grant(ctx, &given)?;
        let row = group_member::ActiveModel {
            id: Set(GroupMemberId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            group_id: Set(group_id),
            user_id: Set(user_id),
            added_at: Set(now),
            added_by: Set(auth.actor.map(|a| a.user_id)),
            removed_at: Set(None),
            removed_by: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "the user is already in the group"))?;
        let entry = AuditEntry::change("group.member_added", "group_member", row.id, None, Some(&row))?;
        record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
        txn.commit().await?;
        Ok(GroupMember::from(row))
    }

    /// Removes a user from a group; the record stays, stamped with who and when.
    pub async fn remove_group_member(
        &self,
        ctx: &RequestContext,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<GroupMember> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        live_group(&txn, auth.tenant_id, group_id).await?;
        let given = group_permissions(&txn, auth.tenant_id, group_id, now).await?;
        ensure_may_grant(ctx, &given)?;
        let current = group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(auth.tenant_id))
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.eq(user_id))
            .filter(group_member::Column::RemovedAt.is_null())
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "group member" })?;
        let mut row = current.clone().into_active_model();
        row.removed_at = Set(Some(now));
        row.removed_by = Set(auth.actor.map(|a| a.user_id));
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("group.member_removed", "group_member", row.id, Some(&current), Some(&row))?;
        record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
        txn.commit().await?;
        Ok(GroupMember::from(row))
    }

    /// Assignments of the tenant, newest last.
    pub async fn assignments(
        &self,
        ctx: &RequestContext,
        filter: &AssignmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Assignment>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let keyset = page.keyset()?;
        let mut select = assignment::Entity::find().filter(assignment::Column::TenantId.eq(auth.tenant_id));
        if let Some(user_id) = filter.user_id {
            select = select.filter(assignment::Column::UserId.eq(user_id));
        }
        if let Some(group_id) = filter.group_id {
            select = select.filter(assignment::Column::GroupId.eq(group_id));
        }
        if let Some(role_id) = filter.role_id {
            select = select.filter(assignment::Column::RoleId.eq(role_id));
        }
        if !filter.include_inactive {
            select = select.filter(active_assignment(ctx.now()));
        }
        let rows = keyset.apply(select, assignment::Column::Id).all(&txn).await?;
        txn.commit().await?;
        keyset.finish(rows).try_map(Assignment::try_from)
    }

    /// Assignments of the tenant by id, revoked and expired ones included (`role:read`).
    pub async fn assignments_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[AssignmentId],
    ) -> Result<HashMap<AssignmentId, Assignment>> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let rows = assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(auth.tenant_id))
            .filter(assignment::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(|row| Assignment::try_from(row).map(|a| (a.id, a))).collect()
    }

    /// Grants a role to a member or a group, tenant-wide or on one resource, until
    /// an optional expiry. The actor must hold every permission the role gives.
    /// Whether a resource exists is checked by the caller (the API asks the crate
    /// that owns it).
    pub async fn assign_role(&self, ctx: &RequestContext, input: NewAssignment) -> Result<Assignment> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        live_role(&facts, input.role_id, "roleId")?;
        ensure_may_grant(ctx, &facts.role_permissions(input.role_id))?;
        if input.expires_at.is_some_and(|expires| expires <= now) {
            return Err(DomainError::invalid("expiresAt", "must be in the future"));
        }
        match input.subject {
            Subject::User(user_id) => require_member(&txn, auth.tenant_id, user_id).await?,
            Subject::Group(group_id) => {
                live_group(&txn, auth.tenant_id, group_id).await?;
            }
        }
        let (scope_type, scope_id) = scope_columns(input.scope);
        let (user_id, group_id) = subject_columns(input.subject);
        let duplicate = assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(auth.tenant_id))
            .filter(assignment::Column::RoleId.eq(input.role_id))
            .filter(match user_id {
                Some(user) => assignment::Column::UserId.eq(user),
                None => assignment::Column::GroupId.eq(group_id),
            })
            .filter(assignment::Column::ScopeType.eq(scope_type))
            .filter(match scope_id {
                Some(id) => assignment::Column::ScopeId.eq(id),
                None => assignment::Column::ScopeId.is_null(),
            })
            .filter(active_assignment(now))
            .one(&txn)
            .await?;
        if duplicate.is_some() {
            return Err(DomainError::Conflict(
                "that role is already granted there; revoke it first to change it".into(),
            ));
        }
        let row = insert_assignment(&txn, auth.tenant_id, &input, auth.actor.map(|a| a.user_id), now).await?;
        let entry = AuditEntry::change("assignment.granted", "assignment", row.id, None, Some(&row))?;
        record_change(&txn, ctx, &auth, entry, user_id, &facts.role_permissions(input.role_id)).await?;
        txn.commit().await?;
        Assignment::try_from(row)
    }

    /// Revokes an assignment; it stays, stamped with who and when. The actor must
    /// hold what the role gives, and a tenant always keeps one owner.
    pub async fn revoke_assignment(&self, ctx: &RequestContext, id: AssignmentId) -> Result<Assignment> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let row = assignment::Entity::find_by_id(id)
            .filter(assignment::Column::TenantId.eq(auth.tenant_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "assignment" })?;
        if row.revoked_at.is_some() {
            return Err(DomainError::Conflict("the assignment is already revoked".into()));
        }
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        ensure_may_grant(ctx, &facts.role_permissions(row.role_id))?;
        let owner_role = facts.roles.values().find(|r| r.builtin == Some(BuiltinRole::Owner)).map(|r| r.id);
        if owner_role == Some(row.role_id) && row.user_id.is_some() && row.scope_type == ScopeType::Tenant {
            // Owners revoking each other at the same instant must not both count
            // the other as the one who stays: every change to the owners of a
            // tenant takes the owner role's row first, so they are decided one
            // after the other (SQLite writers are serialised anyway).
            role::Entity::find_by_id(row.role_id).lock_exclusive().one(&txn).await?;
            let other_owners = assignment::Entity::find()
                .filter(assignment::Column::TenantId.eq(auth.tenant_id))
                .filter(assignment::Column::RoleId.eq(row.role_id))
                .filter(assignment::Column::UserId.is_not_null())
                .filter(assignment::Column::UserId.ne(row.user_id))
                .filter(assignment::Column::ScopeType.eq(ScopeType::Tenant))
                .filter(assignment::Column::RevokedAt.is_null())
                .filter(assignment::Column::ExpiresAt.is_null())
                .count(&txn)
                .await?;
            if other_owners == 0 {
                return Err(DomainError::Conflict(
                    "a tenant must keep an owner: grant the owner role to someone else first".into(),
                ));
            }
        }
        let before = row.clone();
        let mut active = row.into_active_model();
        active.revoked_at = Set(Some(now));
        active.revoked_by = Set(auth.actor.map(|a| a.user_id));
        let row = active.update(&txn).await?;
        let entry = AuditEntry::change("assignment.revoked", "assignment", id, Some(&before), Some(&row))?;
        record_change(&txn, ctx, &auth, entry, row.user_id, &facts.role_permissions(row.role_id)).await?;
        txn.commit().await?;
        Assignment::try_from(row)
    }

    /// Makes an existing user a member of the request's tenant with `roles` (the
    /// tenant's default role when none is named), in one transaction. Used by the
    /// demo seed and tests; invitations (which ask the user first) build on it.
    pub async fn add_member(&self, ctx: &RequestContext, user_id: UserId, roles: &[RoleId]) -> Result<Member> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        let roles: Vec<RoleId> = if roles.is_empty() { default_roles(&facts) } else { roles.to_vec() };
        let mut given = PermissionSet::empty();
        for role_id in &roles {
            live_role(&facts, *role_id, "roles")?;
            given.extend(&facts.role_permissions(*role_id));
        }
        ensure_may_grant(ctx, &given)?;
        let member = tessera_tenant::insert_membership(&txn, auth.tenant_id, user_id, now).await?;
        for (offset, role_id) in roles.iter().enumerate() {
            // Distinct v7 ids for assignments made in the same instant.
            let granted_at = now + chrono::Duration::microseconds(i64::try_from(offset).unwrap_or(0));
            let grant = NewAssignment::tenant_wide(*role_id, Subject::User(user_id));
            insert_assignment(&txn, auth.tenant_id, &grant, auth.actor.map(|a| a.user_id), granted_at).await?;
        }
        let joined = serde_json::json!({ "userId": user_id, "roles": roles });
        let entry = AuditEntry::change("member.added", "member", user_id, None, Some(&joined))?;
        record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
        txn.commit().await?;
        Ok(member)
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
            role::Entity::find_by_id(owner_role).lock_exclusive().one(&txn).await?;
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

    /// The tenant's role with built-in key `builtin`.
    pub async fn builtin_role(&self, ctx: &RequestContext, builtin: BuiltinRole) -> Result<Role> {
        let (auth, txn) = self.open(ctx, Permission::RoleRead, Access::Read).await?;
        let row = role::Entity::find()
            .filter(role::Column::TenantId.eq(auth.tenant_id))
            .filter(role::Column::BuiltinKey.eq(builtin))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "role" })?;
        let mut roles = with_permissions(&txn, vec![row]).await?;
        txn.commit().await?;
        roles.pop().ok_or(DomainError::NotFound { entity: "role" })
    }

    async fn open(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        access: Access,
    ) -> Result<(Authorized, DatabaseTransaction)> {
        self.db.begin_authorized(ctx, permission, access).await
    }
}

/// Installs the built-in roles in a tenant being created and makes its creator
/// owner, inside the creating transaction.
pub(crate) async fn install_builtin_roles(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    owner: UserId,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut owner_role = None;
    for (offset, builtin) in BuiltinRole::ALL.into_iter().enumerate() {
        let id = RoleId::generate(at + chrono::Duration::microseconds(i64::try_from(offset).unwrap_or(0)));
        role::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            builtin_key: Set(Some(builtin)),
            name: Set(builtin.default_name().to_owned()),
            description: Set(Some(builtin.default_description().to_owned())),
            parent_role_id: Set(None),
            is_default: Set(builtin == BuiltinRole::Customer),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        }
        .insert(txn)
        .await?;
        if builtin == BuiltinRole::Owner {
            owner_role = Some(id);
        }
    }
    let owner_role = owner_role.ok_or_else(|| DomainError::Internal("no owner role was installed".into()))?;
    insert_assignment(txn, tenant_id, &NewAssignment::tenant_wide(owner_role, Subject::User(owner)), None, at).await?;
    Ok(())
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

fn list(set: &PermissionSet) -> String {
    set.iter().map(Permission::name).collect::<Vec<_>>().join(", ")
}

/// Assignments that are neither revoked nor expired at `now`.
pub(crate) fn active_assignment(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(assignment::Column::RevokedAt.is_null())
        .add(Condition::any().add(assignment::Column::ExpiresAt.is_null()).add(assignment::Column::ExpiresAt.gt(now)))
}

fn scope_columns(scope: AccessScope) -> (ScopeType, Option<uuid::Uuid>) {
    match scope {
        AccessScope::Tenant => (ScopeType::Tenant, None),
        AccessScope::Resource(Resource::Provider(id)) => (ScopeType::Provider, Some(id.as_uuid())),
    }
}

fn subject_columns(subject: Subject) -> (Option<UserId>, Option<GroupId>) {
    match subject {
        Subject::User(user) => (Some(user), None),
        Subject::Group(group) => (None, Some(group)),
    }
}

async fn require_member<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, user_id: UserId) -> Result<()> {
    if tessera_tenant::is_member(conn, tenant_id, user_id).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound { entity: "member" })
    }
}

async fn live_group<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: GroupId) -> Result<group::Model> {
    group::Entity::find_by_id(id)
        .filter(group::Column::TenantId.eq(tenant_id))
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

/// What the group's active assignments give, for anti-escalation checks.
async fn group_permissions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    group_id: GroupId,
    now: DateTime<Utc>,
) -> Result<PermissionSet> {
    let facts = load_role_facts(conn, tenant_id).await?;
    let rows = assignment::Entity::find()
        .filter(assignment::Column::TenantId.eq(tenant_id))
        .filter(assignment::Column::GroupId.eq(group_id))
        .filter(active_assignment(now))
        .all(conn)
        .await?;
    let mut all = PermissionSet::empty();
    for row in rows {
        all.extend(&facts.role_permissions(row.role_id));
    }
    Ok(all)
}

async fn clear_default<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<()> {
    role::Entity::update_many()
        .col_expr(role::Column::IsDefault, Expr::value(false))
        .filter(role::Column::TenantId.eq(tenant_id))
        .filter(role::Column::IsDefault.eq(true))
        .exec(conn)
        .await?;
    Ok(())
}

async fn write_permissions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    role_id: RoleId,
    permissions: &PermissionSet,
) -> Result<()> {
    if permissions.is_empty() {
        return Ok(());
    }
    let rows = permissions.iter().map(|p| role_permission::ActiveModel {
        role_id: Set(role_id),
        permission: Set(p.name().to_owned()),
        tenant_id: Set(tenant_id),
    });
    role_permission::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
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

/// Records an access change in its transaction: the audit entry, a
/// `permission_changed` security event when it changes what someone may do
/// (`affected`: the permissions given or taken; `about`: the user, when one), and
/// the `AccessChanged` event that live subscribers re-check their rights on.
pub(crate) async fn record_change(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    entry: AuditEntry,
    about: Option<UserId>,
    affected: &PermissionSet,
) -> Result<()> {
    let at = ctx.now();
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

/// What the audit log keeps of a role: its fields and its own permissions.
fn role_snapshot(role: &Role) -> serde_json::Value {
    serde_json::json!({
        "name": role.name,
        "description": role.description,
        "parentId": role.parent_id,
        "isDefault": role.is_default,
        "permissions": role.permissions.iter().map(Permission::name).collect::<Vec<_>>(),
        "deletedAt": role.deleted_at,
    })
}

/// A role's permissions as stored: built-in ones from code plus the stored extras.
fn to_role(row: role::Model, permissions: PermissionSet) -> Role {
    Role {
        id: row.id,
        tenant_id: row.tenant_id,
        builtin: row.builtin_key,
        name: row.name,
        description: row.description,
        parent_id: row.parent_role_id,
        is_default: row.is_default,
        permissions,
        created_at: row.created_at,
        updated_at: row.updated_at,
        deleted_at: row.deleted_at,
    }
}

/// Attaches each role's own permissions (built-in ones plus stored ones).
async fn with_permissions<C: ConnectionTrait>(conn: &C, rows: Vec<role::Model>) -> Result<Vec<Role>> {
    let ids: Vec<RoleId> = rows.iter().map(|r| r.id).collect();
    let mut stored: HashMap<RoleId, PermissionSet> = HashMap::new();
    if !ids.is_empty() {
        for row in role_permission::Entity::find().filter(role_permission::Column::RoleId.is_in(ids)).all(conn).await? {
            if let Some(permission) = parse_stored(&row.permission) {
                stored.entry(row.role_id).or_default().insert(permission);
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut permissions = row.builtin_key.map(BuiltinRole::permissions).unwrap_or_default();
            if let Some(extra) = stored.get(&row.id) {
                permissions.extend(extra);
            }
            to_role(row, permissions)
        })
        .collect())
}

/// A stored permission name; one no longer in the catalogue grants nothing.
fn parse_stored(name: &str) -> Option<Permission> {
    let parsed = name.parse().ok();
    if parsed.is_none() {
        tracing::warn!(permission = name, "a role holds a permission that is no longer in the catalogue");
    }
    parsed
}

/// Every role of the tenant (deleted ones too), for walking parents.
pub(crate) async fn load_role_facts<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<AccessFacts> {
    let rows = role::Entity::find().filter(role::Column::TenantId.eq(tenant_id)).all(conn).await?;
    let roles = with_permissions(conn, rows).await?;
    Ok(AccessFacts { roles: roles.into_iter().map(|r| (r.id, r)).collect(), ..AccessFacts::default() })
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

impl From<group::Model> for Group {
    fn from(row: group::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
        }
    }
}

impl From<group_member::Model> for GroupMember {
    fn from(row: group_member::Model) -> Self {
        Self {
            id: row.id,
            group_id: row.group_id,
            user_id: row.user_id,
            added_at: row.added_at,
            added_by: row.added_by,
            removed_at: row.removed_at,
            removed_by: row.removed_by,
        }
    }
}

impl TryFrom<assignment::Model> for Assignment {
    type Error = DomainError;

    fn try_from(row: assignment::Model) -> Result<Self> {
        let subject = match (row.user_id, row.group_id) {
            (Some(user), None) => Subject::User(user),
            (None, Some(group)) => Subject::Group(group),
            _ => return Err(DomainError::Internal(format!("assignment {} has no single subject", row.id.as_uuid()))),
        };
        let scope = match (row.scope_type, row.scope_id) {
            (ScopeType::Tenant, _) => AccessScope::Tenant,
            (ScopeType::Provider, Some(id)) => {
                AccessScope::Resource(Resource::Provider(tessera_kernel::ProviderId(id)))
            }
            (ScopeType::Provider, None) => {
                return Err(DomainError::Internal(format!("assignment {} has no provider", row.id.as_uuid())));
            }
        };
        Ok(Self {
            id: row.id,
            tenant_id: row.tenant_id,
            role_id: row.role_id,
            subject,
            scope,
            granted_by: row.granted_by,
            granted_at: row.granted_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
        })
    }
}
