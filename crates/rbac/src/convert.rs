//! Rows into the crate's model types.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tessera_kernel::{DomainError, GroupId, Permission, PermissionSet, Resource, Result, RoleId, TenantId, UserId};

use crate::entity::{assignment, group, group_member, role, role_permission};
use crate::model::{AccessScope, Assignment, BuiltinRole, Group, GroupMember, Role, ScopeType, Subject};

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

pub(crate) fn scope_columns(scope: AccessScope) -> (ScopeType, Option<uuid::Uuid>) {
    match scope {
        AccessScope::Tenant => (ScopeType::Tenant, None),
        AccessScope::Resource(Resource::Provider(id)) => (ScopeType::Provider, Some(id.as_uuid())),
    }
}

pub(crate) fn subject_columns(subject: Subject) -> (Option<UserId>, Option<GroupId>) {
    match subject {
        Subject::User(user) => (Some(user), None),
        Subject::Group(group) => (None, Some(group)),
    }
}

/// A role's permissions as stored: built-in ones from code plus the stored extras.
pub(crate) fn to_role(row: role::Model, permissions: PermissionSet) -> Role {
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

/// Attaches each role's own permissions (built-in ones plus stored ones) to
/// `rows`, roles of `tenant_id`.
pub(crate) async fn with_permissions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    rows: Vec<role::Model>,
) -> Result<Vec<Role>> {
    let ids: Vec<RoleId> = rows.iter().map(|r| r.id).collect();
    let mut stored: HashMap<RoleId, PermissionSet> = HashMap::new();
    if !ids.is_empty() {
        let found = role_permission::Entity::find()
            .filter(role_permission::Column::TenantId.eq(tenant_id))
            .filter(role_permission::Column::RoleId.is_in(ids))
            .all(conn)
            .await?;
        for row in found {
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
