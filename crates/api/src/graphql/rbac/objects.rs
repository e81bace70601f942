//! Access control's types that other domains show: roles, and the caller's own
//! roles for `me { roles }`. Other domains import these, never rbac's resolver
//! files.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use tessera_kernel::{Permission, PermissionSet, RoleId};
use tessera_rbac::Role;

use crate::error::ApiResult;
use crate::graphql::{loaders, request, services};

/// The roles every tenant has from the start.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BuiltinRole", remote = "tessera_rbac::BuiltinRole")]
pub(crate) enum BuiltinRoleEnum {
    Owner,
    Admin,
    Staff,
    Customer,
}

/// The permission names of `set`, as the API lists them.
fn names(set: &PermissionSet) -> Vec<&'static str> {
    set.iter().map(Permission::name).collect()
}

/// The tenant's role with `id`, through the request's loader.
pub(super) async fn role_by_id(ctx: &Context<'_>, id: RoleId) -> ApiResult<Option<RoleObject>> {
    let found = loaders(ctx)?.roles().load_one(id).await?;
    Ok(found.map(RoleObject))
}

/// A named set of permissions in a tenant.
#[derive(Clone)]
pub(crate) struct RoleObject(pub(crate) Role);

#[Object(name = "Role")]
impl RoleObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Which built-in role this is; null for the tenant's own roles.
    async fn builtin(&self) -> Option<BuiltinRoleEnum> {
        self.0.builtin.map(Into::into)
    }
    /// Name, unique in the tenant.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Whether new members get it when no role is named.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    /// The role it inherits permissions from.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<RoleObject>> {
        match self.0.parent_id {
            Some(id) => role_by_id(ctx, id).await,
            None => Ok(None),
        }
    }
    /// The permissions the role grants itself (built-in ones cannot be removed).
    async fn permissions(&self) -> Vec<&'static str> {
        names(&self.0.permissions)
    }
    /// Everything the role grants, its ancestors' permissions included.
    async fn all_permissions(&self, ctx: &Context<'_>) -> ApiResult<Vec<&'static str>> {
        let mut all = self.0.permissions.clone();
        let mut seen = vec![self.0.id];
        let mut next = self.0.parent_id;
        while let Some(id) = next {
            if seen.contains(&id) {
                break;
            }
            seen.push(id);
            let Some(parent) = loaders(ctx)?.roles().load_one(id).await? else { break };
            all.extend(&parent.permissions);
            next = parent.parent_id;
        }
        Ok(names(&all))
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When it was deleted (deleted roles appear only in history).
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// The caller's roles in the request's tenant, for `me { roles }`.
pub(crate) async fn my_roles(ctx: &Context<'_>) -> ApiResult<Vec<RoleObject>> {
    let mut roles: Vec<Role> =
        services(ctx)?.rbac.my_assignments(request(ctx)?).await?.into_iter().map(|(_, role)| role).collect();
    roles.sort_by_key(|r| r.id);
    roles.dedup_by_key(|r| r.id);
    Ok(roles.into_iter().map(RoleObject).collect())
}
