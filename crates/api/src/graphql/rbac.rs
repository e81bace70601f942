//! GraphQL for access control: roles, groups, assignments, and the explanation of
//! any decision.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_kernel::{
    AssignmentId, DomainError, GroupId, Permission, PermissionSet, ProviderId, Resource, RoleId, UserId,
};
use tessera_rbac::{
    AccessScope, Assignment, AssignmentFilter, AssignmentState, Explanation, GrantPath, Group, GroupInput, GroupMember,
    NewAssignment, Role, RoleInput, RolePatch, Subject,
};

use super::connection::{connection, page_cost, page_request};
use super::identity::UserObject;
use super::patch::UpdateGroupInput;
use super::patch::UpdateRoleInput;
use super::scheduling::ProviderObject;
use super::{Requires, loaders, parse_id, permission, request, services};
use crate::error::{ApiError, ApiResult};

/// The roles every tenant has from the start.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BuiltinRole", remote = "tessera_rbac::BuiltinRole")]
pub(crate) enum BuiltinRoleGql {
    Owner,
    Admin,
    Staff,
    Customer,
}

fn names(set: &PermissionSet) -> Vec<&'static str> {
    set.iter().map(Permission::name).collect()
}

pub(crate) fn parse_permissions(names: &[String]) -> ApiResult<Vec<Permission>> {
    names.iter().map(|name| name.parse::<Permission>().map_err(ApiError::from)).collect()
}

pub(crate) async fn user_by_id(ctx: &Context<'_>, id: Option<UserId>) -> ApiResult<Option<UserObject>> {
    let Some(id) = id else { return Ok(None) };
    let found = loaders(ctx)?.users.load_one(id).await?;
    Ok(found.map(UserObject::seen))
}

async fn role_by_id(ctx: &Context<'_>, id: RoleId) -> ApiResult<Option<RoleObject>> {
    let found = loaders(ctx)?.roles.load_one(id).await?;
    Ok(found.map(RoleObject))
}

async fn group_by_id(ctx: &Context<'_>, id: GroupId) -> ApiResult<Option<GroupObject>> {
    let found = loaders(ctx)?.groups.load_one(id).await?;
    Ok(found.map(GroupObject))
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

/// Whether an assignment grants its role now.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AssignmentState", remote = "tessera_rbac::AssignmentState")]
pub(crate) enum AssignmentStateGql {
    Active,
    NotYetGranted,
    Expired,
    Revoked,
}

/// A role granted to a user or a group, tenant-wide or on one provider.
#[derive(Clone)]
pub(crate) struct RoleAssignmentObject(pub(crate) Assignment);

#[Object(name = "RoleAssignment")]
impl RoleAssignmentObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The role granted.
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<RoleObject>> {
        role_by_id(ctx, self.0.role_id).await
    }
    /// The user it is granted to (null when granted to a group).
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        match self.0.subject {
            Subject::User(id) => user_by_id(ctx, Some(id)).await,
            Subject::Group(_) => Ok(None),
        }
    }
    /// The group it is granted to (null when granted to a user).
    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Option<GroupObject>> {
        match self.0.subject {
            Subject::Group(id) => group_by_id(ctx, id).await,
            Subject::User(_) => Ok(None),
        }
    }
    /// The provider it is limited to; null when it holds tenant-wide.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        match self.0.scope {
            AccessScope::Tenant => Ok(None),
            AccessScope::Resource(Resource::Provider(id)) => {
                let found = loaders(ctx)?.providers.load_one(id).await?;
                Ok(found.map(ProviderObject))
            }
        }
    }
    /// Who granted it (null: the system, e.g. when the tenant was created).
    async fn granted_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.granted_by).await
    }
    /// When it was granted.
    async fn granted_at(&self) -> DateTime<Utc> {
        self.0.granted_at
    }
    /// When it stops granting by itself.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Who revoked it.
    async fn revoked_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.revoked_by).await
    }
    /// Whether it grants its role now.
    async fn state(&self, ctx: &Context<'_>) -> ApiResult<AssignmentStateGql> {
        let state: AssignmentState = self.0.state_at(request(ctx)?.now());
        Ok(state.into())
    }
}

/// Why an assignment does or does not give the permission asked about.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "GrantStatus", remote = "tessera_rbac::GrantStatus")]
pub(crate) enum GrantStatusGql {
    /// It gives the permission.
    Grants,
    /// It was granted after the instant asked about.
    NotYetGranted,
    /// It had expired.
    Expired,
    /// It had been revoked.
    Revoked,
    /// It holds on another provider, or on one provider when the question was about
    /// the whole tenant.
    OutOfScope,
    /// It is a group's, and the user was not in the group then.
    NotInGroup,
    /// It is a group's, and the group had been deleted.
    GroupDeleted,
    /// Its role (or a parent of it) had been deleted.
    RoleDeleted,
}

/// One way the permission could reach the user: assignment → (group) → role → parents.
pub(crate) struct GrantPathObject(GrantPath);

#[Object(name = "GrantPath")]
impl GrantPathObject {
    /// Whether this path gives the permission at the instant asked about.
    async fn status(&self) -> GrantStatusGql {
        self.0.status.into()
    }
    /// The assignment.
    async fn assignment(&self) -> RoleAssignmentObject {
        RoleAssignmentObject(self.0.assignment.clone())
    }
    /// The group the assignment reaches the user through, if any.
    async fn group(&self) -> Option<GroupObject> {
        self.0.group.clone().map(GroupObject)
    }
    /// From the assigned role up through its parents to the role that holds the
    /// permission.
    async fn roles(&self) -> Vec<RoleObject> {
        self.0.roles.iter().cloned().map(RoleObject).collect()
    }
}

/// The answer to "may this user do this, here, then?", with its reasons.
pub(crate) struct ExplanationObject(Explanation);

#[Object(name = "AccessExplanation")]
impl ExplanationObject {
    /// The answer.
    async fn allowed(&self) -> bool {
        self.0.allowed
    }
    /// The permission asked about.
    async fn permission(&self) -> &'static str {
        self.0.permission.name()
    }
    /// The user asked about.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, Some(self.0.user_id)).await
    }
    /// The provider asked about; null when asked about the whole tenant.
    async fn provider_id(&self) -> Option<ID> {
        self.0.resource.map(|Resource::Provider(id)| ID(id.to_string()))
    }
    /// The instant asked about.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Whether the user belongs to the tenant.
    async fn member(&self) -> bool {
        self.0.member
    }
    /// Whether the tenant's status (suspended, pending deletion) withholds the
    /// permission from everyone, whatever the grants say.
    async fn withheld_by_tenant_status(&self) -> bool {
        self.0.withheld_by_tenant_status
    }
    /// Every assignment whose role (or an ancestor) holds the permission, granting
    /// ones first, each with whether it applies.
    async fn paths(&self) -> Vec<GrantPathObject> {
        self.0.paths.iter().cloned().map(GrantPathObject).collect()
    }
    /// For a user who does not belong to the tenant: the route through its parent
    /// tenant (an owner there manages a child that allows it). Null for members and
    /// for tenants without a parent.
    async fn through_parent(&self) -> Option<ParentAccessObject> {
        self.0.through_parent.map(|route| ParentAccessObject {
            parent_tenant_id: ID(route.parent_tenant_id.to_string()),
            allowed_by_tenant: route.allowed_by_tenant,
            owner_of_parent: route.owner_of_parent,
            grants: route.grants,
        })
    }
}

/// How an owner of the parent tenant reaches a child tenant.
#[derive(SimpleObject)]
#[graphql(name = "ParentAccess")]
pub(crate) struct ParentAccessObject {
    /// The parent tenant.
    parent_tenant_id: ID,
    /// Whether the tenant lets its parent's owners manage it (as it is now).
    allowed_by_tenant: bool,
    /// Whether the user owned the parent tenant at the instant asked about.
    owner_of_parent: bool,
    /// Whether this route gives the permission (allowed, owner, and the permission
    /// among the built-in admin role's).
    grants: bool,
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

/// A role to grant: to exactly one of a user or a group; tenant-wide, or on one
/// provider when `providerId` is given.
#[derive(InputObject)]
pub(crate) struct AssignRoleInput {
    /// The role.
    role_id: ID,
    /// The member to grant it to.
    user_id: Option<ID>,
    /// The group to grant it to.
    group_id: Option<ID>,
    /// Limit it to this provider (their schedule and bookings).
    provider_id: Option<ID>,
    /// When it stops granting by itself.
    expires_at: Option<DateTime<Utc>>,
}

/// Which assignments to list.
#[derive(InputObject, Default)]
pub(crate) struct AssignmentFilterInput {
    /// Only this user's direct assignments.
    user_id: Option<ID>,
    /// Only this group's.
    group_id: Option<ID>,
    /// Only this role's.
    role_id: Option<ID>,
    /// Also revoked and expired ones.
    #[graphql(default = false)]
    include_inactive: bool,
}

#[derive(Default)]
pub(crate) struct RbacQuery;

#[Object]
impl RbacQuery {
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

    /// The tenant's groups.
    #[graphql(guard = "Requires(Permission::RoleRead)", directive = permission::apply(Permission::RoleRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
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

    /// Role assignments of the tenant: active ones, or with `includeInactive` the
    /// whole history.
    #[graphql(guard = "Requires(Permission::RoleRead)", directive = permission::apply(Permission::RoleRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn role_assignments(
        &self,
        ctx: &Context<'_>,
        filter: Option<AssignmentFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, RoleAssignmentObject>> {
        let input = filter.unwrap_or_default();
        let filter = AssignmentFilter {
            user_id: input.user_id.as_ref().map(|id| parse_id("filter.userId", id)).transpose()?,
            group_id: input.group_id.as_ref().map(|id| parse_id("filter.groupId", id)).transpose()?,
            role_id: input.role_id.as_ref().map(|id| parse_id("filter.roleId", id)).transpose()?,
            include_inactive: input.include_inactive,
        };
        let page =
            services(ctx)?.rbac.assignments(request(ctx)?, &filter, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |a| a.id.as_uuid(), RoleAssignmentObject))
    }

    /// May `userId` do `permission` (on `providerId`, or anywhere in the tenant) at
    /// `at` (default: now)? Answers with every assignment that could give it and
    /// whether it does, so any decision can be explained, including past ones.
    #[graphql(guard = "Requires(Permission::RoleRead)", directive = permission::apply(Permission::RoleRead.name().to_owned()))]
    async fn explain_access(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        #[graphql(name = "permission")] permission_name: String,
        provider_id: Option<ID>,
        at: Option<DateTime<Utc>>,
    ) -> ApiResult<ExplanationObject> {
        let request = request(ctx)?;
        let asked: Permission = permission_name.parse()?;
        let resource = provider_id.as_ref().map(|id| parse_id("providerId", id).map(Resource::Provider)).transpose()?;
        let at = at.unwrap_or_else(|| request.now());
        let explanation =
            services(ctx)?.rbac.explain(request, parse_id("userId", &user_id)?, asked, resource, at).await?;
        Ok(ExplanationObject(explanation))
    }
}

#[derive(Default)]
pub(crate) struct RbacMutation;

#[Object]
impl RbacMutation {
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

    /// Creates a group.
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn create_group(&self, ctx: &Context<'_>, input: GroupDetailsInput) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.create_group(request(ctx)?, input.into()).await?))
    }

    /// Renames a group or changes its description.
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn update_group(&self, ctx: &Context<'_>, id: ID, input: UpdateGroupInput) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.update_group(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?))
    }

    /// Deletes a group; its assignments stop granting at once.
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn delete_group(&self, ctx: &Context<'_>, id: ID) -> ApiResult<GroupObject> {
        Ok(GroupObject(services(ctx)?.rbac.delete_group(request(ctx)?, parse_id("id", &id)?).await?))
    }

    /// Adds a member of the tenant to a group.
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn add_group_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> ApiResult<GroupMemberObject> {
        let member = services(ctx)?
            .rbac
            .add_group_member(request(ctx)?, parse_id("groupId", &group_id)?, parse_id("userId", &user_id)?)
            .await?;
        Ok(GroupMemberObject(member))
    }

    /// Removes a user from a group (the record of their time in it stays).
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn remove_group_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> ApiResult<GroupMemberObject> {
        let member = services(ctx)?
            .rbac
            .remove_group_member(request(ctx)?, parse_id("groupId", &group_id)?, parse_id("userId", &user_id)?)
            .await?;
        Ok(GroupMemberObject(member))
    }

    /// Grants a role to a member or a group. You can only grant what you hold.
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn assign_role(&self, ctx: &Context<'_>, input: AssignRoleInput) -> ApiResult<RoleAssignmentObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let subject = match (&input.user_id, &input.group_id) {
            (Some(user), None) => Subject::User(parse_id("userId", user)?),
            (None, Some(group)) => Subject::Group(parse_id("groupId", group)?),
            _ => return Err(DomainError::invalid("userId", "give exactly one of userId and groupId").into()),
        };
        let scope = match &input.provider_id {
            None => AccessScope::Tenant,
            Some(id) => {
                let provider: ProviderId = parse_id("providerId", id)?;
                if !services.scheduling.providers_by_ids(request, &[provider]).await?.contains_key(&provider) {
                    return Err(DomainError::invalid("providerId", "no such provider in this tenant").into());
                }
                AccessScope::Resource(Resource::Provider(provider))
            }
        };
        let input = NewAssignment {
            role_id: parse_id("roleId", &input.role_id)?,
            subject,
            scope,
            expires_at: input.expires_at,
        };
        Ok(RoleAssignmentObject(services.rbac.assign_role(request, input).await?))
    }

    /// Revokes a role assignment (it stays in the history, stamped).
    #[graphql(guard = "Requires(Permission::RoleAssign)", directive = permission::apply(Permission::RoleAssign.name().to_owned()))]
    async fn revoke_role_assignment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RoleAssignmentObject> {
        let id: AssignmentId = parse_id("id", &id)?;
        Ok(RoleAssignmentObject(services(ctx)?.rbac.revoke_assignment(request(ctx)?, id).await?))
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
