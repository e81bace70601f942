//! Roles: listing, creating, changing and deleting them (built-in roles keep their
//! permissions; nobody grants what they do not hold), and installing the built-in
//! ones in a new tenant.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    DomainError, Page, PageRequest, Permission, PermissionSet, RequestContext, Result, RoleId, TenantId, UserId,
};

use crate::convert::{to_role, with_permissions};
use crate::entity::{assignment, role, role_permission};
use crate::model::{BuiltinRole, NewAssignment, Role, RoleInput, RolePatch, Subject, parse_description, parse_name};
use crate::service::{
    RbacService, active_assignment, ensure_may_grant, insert_assignment, list, live_role, load_role_facts,
};

const ROLE_NAME_TAKEN: &str = "a role with that name exists; choose another";

impl RbacService {
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
        let roles = with_permissions(&txn, auth.tenant_id, rows).await?;
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
        let roles = with_permissions(&txn, auth.tenant_id, rows).await?;
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
        self.record_change(&txn, ctx, &auth, entry, None, &total).await?;
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
        let mut row = role::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "role" })?;
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
            role_permission::Entity::delete_many()
                .filter(role_permission::Column::TenantId.eq(auth.tenant_id))
                .filter(role_permission::Column::RoleId.eq(id))
                .exec(&txn)
                .await?;
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
        self.record_change(&txn, ctx, &auth, entry, None, &affected).await?;
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
        let mut row = role::Entity::find_by_id((auth.tenant_id, id))
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
        self.record_change(&txn, ctx, &auth, entry, None, &facts.role_permissions(id)).await?;
        txn.commit().await?;
        Ok(role)
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
        let mut roles = with_permissions(&txn, auth.tenant_id, vec![row]).await?;
        txn.commit().await?;
        roles.pop().ok_or(DomainError::NotFound { entity: "role" })
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
