//! Roles: the built-in and custom roles of a business, the permissions each gives, and
//! the caller's own roles.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_rbac::{RoleInput, RolePatch};

use super::objects::{RoleObject, role_by_id};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set};
use crate::graphql::{Requires, parse_id, request, services};

/// Permission names as a client sends them; an unknown one is `BAD_USER_INPUT`.
fn parse_permissions(names: &[String]) -> ApiResult<Vec<Permission>> {
    names.iter().map(|name| name.parse::<Permission>().map_err(ApiError::from)).collect()
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

/// Changes to a role; omitted fields keep their value. Built-in roles keep
/// their built-in permissions.
#[derive(InputObject)]
pub(crate) struct UpdateRoleInput {
    /// A new name.
    name: MaybeUndefined<String>,
    /// A new description; null clears it.
    description: MaybeUndefined<String>,
    /// A new parent; null removes it.
    parent_id: MaybeUndefined<ID>,
    /// The complete new list of the role's own permissions.
    permissions: MaybeUndefined<Vec<String>>,
    /// Whether new members get it by default.
    is_default: MaybeUndefined<bool>,
}

impl TryFrom<UpdateRoleInput> for RolePatch {
    type Error = ApiError;

    fn try_from(i: UpdateRoleInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            description: kept_cleared_or_set(i.description),
            parent_id: kept_cleared_or_set(i.parent_id)
                .map(|parent| parent.map(|id| parse_id("parentId", &id)).transpose())
                .transpose()?,
            permissions: kept_or_set("permissions", i.permissions)?.as_deref().map(parse_permissions).transpose()?,
            is_default: kept_or_set("isDefault", i.is_default)?,
        })
    }
}

/// Queries about roles.
#[derive(Default)]
pub(super) struct RoleQueries;

#[operations]
#[Object]
impl RoleQueries {
    /// The tenant's roles.
    #[access(Requires(Permission::RoleRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
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
    #[access(Requires(Permission::RoleRead))]
    async fn role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<RoleObject>> {
        role_by_id(ctx, parse_id("id", &id)?).await
    }
}

/// Mutations about roles.
#[derive(Default)]
pub(super) struct RoleMutations;

#[operations]
#[Object]
impl RoleMutations {
    /// Creates a role. You can only put permissions in it that you hold.
    #[access(Requires(Permission::RoleManage))]
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
    #[access(Requires(Permission::RoleManage))]
    async fn update_role(&self, ctx: &Context<'_>, id: ID, input: UpdateRoleInput) -> ApiResult<RoleObject> {
        let patch = RolePatch::try_from(input)?;
        Ok(RoleObject(services(ctx)?.rbac.update_role(request(ctx)?, parse_id("id", &id)?, patch).await?))
    }

    /// Deletes a role nobody holds and no role inherits from. Built-in roles stay.
    #[access(Requires(Permission::RoleManage))]
    async fn delete_role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RoleObject> {
        Ok(RoleObject(services(ctx)?.rbac.delete_role(request(ctx)?, parse_id("id", &id)?).await?))
    }
}
