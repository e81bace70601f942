//! Assignments: granting a role to a user or group, tenant-wide or on one
//! resource, revoking it, and making someone a member with roles.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    AssignmentId, DomainError, Page, PageRequest, Permission, PermissionSet, RequestContext, Result, RoleId, UserId,
};
use tessera_tenant::Member;

use crate::convert::{scope_columns, subject_columns};
use crate::entity::{assignment, role};
use crate::model::{Assignment, AssignmentFilter, BuiltinRole, NewAssignment, ScopeType, Subject};
use crate::service::{
    RbacService, active_assignment, default_roles, ensure_may_grant, insert_assignment, live_group, live_role,
    load_role_facts, require_member,
};

impl RbacService {
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
        self.record_change(&txn, ctx, &auth, entry, user_id, &facts.role_permissions(input.role_id)).await?;
        txn.commit().await?;
        Assignment::try_from(row)
    }

    /// Revokes an assignment; it stays, stamped with who and when. The actor must
    /// hold what the role gives, and a tenant always keeps one owner.
    pub async fn revoke_assignment(&self, ctx: &RequestContext, id: AssignmentId) -> Result<Assignment> {
        let (auth, txn) = self.open(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let row = assignment::Entity::find_by_id((auth.tenant_id, id))
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
            role::Entity::find_by_id((auth.tenant_id, row.role_id)).lock_exclusive().one(&txn).await?;
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
        self.record_change(&txn, ctx, &auth, entry, row.user_id, &facts.role_permissions(row.role_id)).await?;
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
        self.record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
        txn.commit().await?;
        Ok(member)
    }
}
