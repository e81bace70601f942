//! Roles: the built-in and custom roles of a business, the permissions each gives, and
//! the caller's own roles.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use tessera_kernel::{Permission, PermissionSet, RoleId};
use tessera_rbac::{Role, RoleInput, RolePatch};

use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::UpdateRoleInput;
use crate::graphql::{Requires, loaders, parse_id, permission, request, services};

/// The roles every tenant has from the start.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BuiltinRole", remote = "tessera_rbac::BuiltinRole")]
pub(crate) enum BuiltinRoleGql {
    Owner,
    Admin,
    Staff,
    Customer,
}

/// The permission names of `set`, as the API lists them.
fn names(set: &PermissionSet) -> Vec<&'static str> {
    set.iter().map(Permission::name).collect()
}

/// Permission names as a client sends them; an unknown one is `BAD_USER_INPUT`.
pub(crate) fn parse_permissions(names: &[String]) -> ApiResult<Vec<Permission>> {
    names.iter().map(|name| name.parse::<Permission>().map_err(ApiError::from)).collect()
}

/// The tenant's role with `id`, through the request's loader.
pub(super) async fn role_by_id(ctx: &Context<'_>, id: RoleId) -> ApiResult<Option<RoleObject>> {
    let found = loaders(ctx)?.roles.load_one(id).await?;
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
    async fn builtin(&self) -> Option<BuiltinRoleGql> {
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
            let Some(parent) = loaders(ctx)?.roles.load_one(id).await? else { break };
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

/// A new role.
#[derive(InputObject)]
pub(crate) struct CreateRoleInput {
    /// Name, unique in the tenant.
    name: String,
    /// What it is for.
    description: Option<String>,
    /// The role to inherit permissions from.
    parent_id: Option<ID>,
    /// The permissions it grants itself (names from `permissionCatalogue`).
    permissions: Vec<String>,
    /// Whether new members get it when no role is named.
    #[graphql(default = false)]
    is_default: bool,
}

/// The caller's roles in the request's tenant, for `me { roles }`.
pub(crate) async fn my_roles(ctx: &Context<'_>) -> ApiResult<Vec<RoleObject>> {
    let mut roles: Vec<Role> =
        services(ctx)?.rbac.my_assignments(request(ctx)?).await?.into_iter().map(|(_, role)| role).collect();
    roles.sort_by_key(|r| r.id);
    roles.dedup_by_key(|r| r.id);
    Ok(roles.into_iter().map(RoleObject).collect())
}

/// Queries about roles.
#[derive(Default)]
pub(super) struct RoleQueries;

#[Object]
impl RoleQueries {
    /// The tenant's roles.
    #[graphql(guard = "Requires(Permission::RoleRead)", directive = permission::apply(Permission::RoleRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn roles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, RoleObject>> {
        let page = services(ctx)?.rbac.roles(request(ctx)?, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |r| r.id.as_uuid(), RoleObject))
    }

    /// One role of the tenant.
    #[graphql(guard = "Requires(Permission::RoleRead)", directive = permission::apply(Permission::RoleRead.name().to_owned()))]
    async fn role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<RoleObject>> {
        role_by_id(ctx, parse_id("id", &id)?).await
    }
}

/// Mutations about roles.
#[derive(Default)]
pub(super) struct RoleMutations;

#[Object]
impl RoleMutations {
    /// Creates a role. You can only put permissions in it that you hold.
    #[graphql(guard = "Requires(Permission::RoleManage)", directive = permission::apply(Permission::RoleManage.name().to_owned()))]
    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> ApiResult<RoleObject> {
        let input = RoleInput {
            name: input.name,
            description: input.description,
            parent_id: input.parent_id.as_ref().map(|id| parse_id("parentId", id)).transpose()?,
            permissions: parse_permissions(&input.permissions)?,
            is_default: input.is_default,
        };
        Ok(RoleObject(services(ctx)?.rbac.create_role(request(ctx)?, input).await?))
    }

    /// Changes a role. Built-in roles keep their built-in permissions.
    #[graphql(guard = "Requires(Permission::RoleManage)", directive = permission::apply(Permission::RoleManage.name().to_owned()))]
    async fn update_role(&self, ctx: &Context<'_>, id: ID, input: UpdateRoleInput) -> ApiResult<RoleObject> {
        let patch = RolePatch::try_from(input)?;
        Ok(RoleObject(services(ctx)?.rbac.update_role(request(ctx)?, parse_id("id", &id)?, patch).await?))
    }

    /// Deletes a role nobody holds and no role inherits from. Built-in roles stay.
    #[graphql(guard = "Requires(Permission::RoleManage)", directive = permission::apply(Permission::RoleManage.name().to_owned()))]
    async fn delete_role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RoleObject> {
        Ok(RoleObject(services(ctx)?.rbac.delete_role(request(ctx)?, parse_id("id", &id)?).await?))
    }
}
