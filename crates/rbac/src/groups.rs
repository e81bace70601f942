//! Groups and their members: a role assigned to a group reaches its current
//! members, so adding one is granting what the group's roles give.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    DomainError, GroupId, GroupMemberId, Page, PageRequest, Permission, PermissionSet, RequestContext, Result,
    TenantId, UserId,
};

use crate::entity::{assignment, group, group_member};
use crate::model::{Group, GroupInput, GroupMember, GroupPatch, parse_description, parse_name};
use crate::service::{RbacService, active_assignment, ensure_may_grant, live_group, load_role_facts, require_member};

const GROUP_NAME_TAKEN: &str = "a group with that name exists; choose another";

impl RbacService {
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
        self.record_change(&txn, ctx, &auth, entry, None, &PermissionSet::empty()).await?;
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
        self.record_change(&txn, ctx, &auth, entry, None, &PermissionSet::empty()).await?;
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
        self.record_change(&txn, ctx, &auth, entry, None, &given).await?;
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
        self.record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
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
        self.record_change(&txn, ctx, &auth, entry, Some(user_id), &given).await?;
        txn.commit().await?;
        Ok(GroupMember::from(row))
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
