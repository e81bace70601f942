//! Groups: named sets of members that roles can be granted to.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{GroupId, Permission};
use tessera_rbac::{Group, GroupInput, GroupMember, GroupPatch};

use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::{UserObject, user_by_id};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set};
use crate::graphql::{Requires, loaders, parse_id, request, services};

/// The tenant's group with `id`, through the request's loader.
pub(super) async fn group_by_id(ctx: &Context<'_>, id: GroupId) -> ApiResult<Option<GroupObject>> {
    let found = loaders(ctx)?.groups().load_one(id).await?;
    Ok(found.map(GroupObject))
}

/// Users gathered to be given roles together.
#[derive(Clone)]
pub(crate) struct GroupObject(pub(crate) Group);

#[Object(name = "Group")]
impl GroupObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name, unique in the tenant.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was deleted.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// Its members; with `history`, everyone who ever was, with when they left.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] history: bool,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, GroupMemberObject>> {
        let page = services(ctx)?
            .rbac
            .group_members(request(ctx)?, self.0.id, history, &page_request(first, after, last, before))
            .await?;
        Ok(connection(page, |m| m.id.as_uuid(), GroupMemberObject))
    }
}

/// A user's time in a group.
pub(crate) struct GroupMemberObject(GroupMember);

#[Object(name = "GroupMember")]
impl GroupMemberObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, Some(self.0.user_id)).await
    }
    /// When they were added.
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.added_at
    }
    /// Who added them (null: the system).
    async fn added_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.added_by).await
    }
    /// When they were removed.
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
    }
    /// Who removed them.
    async fn removed_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.removed_by).await
    }
}

/// A group's name and description.
#[derive(InputObject)]
pub(crate) struct GroupDetailsInput {
    /// Name, unique in the tenant.
    name: String,
    /// What it is for.
    description: Option<String>,
}

impl From<GroupDetailsInput> for GroupInput {
    fn from(input: GroupDetailsInput) -> Self {
        Self { name: input.name, description: input.description }
    }
}

/// Changes to a group; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateGroupInput {
    /// Name, unique in the tenant.
    name: MaybeUndefined<String>,
    /// What it is for; null clears it.
    description: MaybeUndefined<String>,
}

impl TryFrom<UpdateGroupInput> for GroupPatch {
    type Error = ApiError;

    fn try_from(i: UpdateGroupInput) -> ApiResult<Self> {
        Ok(Self { name: kept_or_set("name", i.name)?, description: kept_cleared_or_set(i.description) })
    }
}

/// Queries about groups.
#[derive(Default)]
pub(super) struct GroupQueries;

#[operations]
#[Object]
impl GroupQueries {
    /// The tenant's groups.
    #[access(Requires(Permission::RoleRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, GroupObject>> {
        let page = services(ctx)?.rbac.groups(request(ctx)?, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |g| g.id.as_uuid(), GroupObject))
    }
}

/// Mutations about groups.
#[derive(Default)]
pub(super) struct GroupMutations;

#[operations]
#[Object]
impl GroupMutations {
    /// Creates a group.
    #[access(Requires(Permission::RoleAssign))]
    async fn create_group(&self, ctx: &Context<'_>, input: GroupDetailsInput) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.create_group(request(ctx)?, input.into()).await?))
    }

    /// Renames a group or changes its description.
    #[access(Requires(Permission::RoleAssign))]
    async fn update_group(&self, ctx: &Context<'_>, id: ID, input: UpdateGroupInput) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.update_group(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?))
    }

    /// Deletes a group; its assignments stop granting at once.
    #[access(Requires(Permission::RoleAssign))]
    async fn delete_group(&self, ctx: &Context<'_>, id: ID) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.delete_group(request(ctx)?, parse_id("id", &id)?).await?))
    }

    /// Adds a member of the tenant to a group.
    #[access(Requires(Permission::RoleAssign))]
    async fn add_group_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> ApiResult<GroupMemberObject> {
        let member = services(ctx)?
            .rbac
            .add_group_member(request(ctx)?, parse_id("groupId", &group_id)?, parse_id("userId", &user_id)?)
            .await?;
        Ok(GroupMemberObject(member))
    }

    /// Removes a user from a group (the record of their time in it stays).
    #[access(Requires(Permission::RoleAssign))]
    async fn remove_group_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> ApiResult<GroupMemberObject> {
        let member = services(ctx)?
            .rbac
            .remove_group_member(request(ctx)?, parse_id("groupId", &group_id)?, parse_id("userId", &user_id)?)
            .await?;
        Ok(GroupMemberObject(member))
    }
}
