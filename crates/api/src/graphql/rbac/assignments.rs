//! Role assignments: granting a role to a member or a group, tenant-wide or on one
//! provider, until an optional expiry, and revoking it.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{AssignmentId, DomainError, Permission, ProviderId, Resource};
use tessera_rbac::{AccessScope, Assignment, AssignmentFilter, AssignmentState, Subject};

use super::groups::{GroupObject, group_by_id};
use super::objects::{RoleObject, role_by_id};
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::{UserObject, user_by_id};
use crate::graphql::scheduling::objects::ProviderObject;
use crate::graphql::{Requires, loaders, parse_id, request, services};

/// Whether an assignment grants its role now.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AssignmentState", remote = "tessera_rbac::AssignmentState")]
pub(crate) enum AssignmentStateEnum {
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
                let found = loaders(ctx)?.providers().load_one(id).await?;
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
    async fn state(&self, ctx: &Context<'_>) -> ApiResult<AssignmentStateEnum> {
        let state: AssignmentState = self.0.state_at(request(ctx)?.now());
        Ok(state.into())
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

/// Queries about role assignments.
#[derive(Default)]
pub(super) struct AssignmentQueries;

#[operations]
#[Object]
impl AssignmentQueries {
    /// Role assignments of the tenant: active ones, or with `includeInactive` the
    /// whole history.
    #[access(Requires(Permission::RoleRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
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
}

/// Mutations about role assignments.
#[derive(Default)]
pub(super) struct AssignmentMutations;

#[operations]
#[Object]
impl AssignmentMutations {
    /// Grants a role to a member or a group. You can only grant what you hold.
    #[access(Requires(Permission::RoleAssign))]
    async fn assign_role(&self, ctx: &Context<'_>, input: AssignRoleInput) -> ApiResult<RoleAssignmentObject> {
        let subject = match (&input.user_id, &input.group_id) {
            (Some(user), None) => Subject::User(parse_id("userId", user)?),
            (None, Some(group)) => Subject::Group(parse_id("groupId", group)?),
            _ => return Err(DomainError::invalid("userId", "give exactly one of userId and groupId").into()),
        };
        let role_id = parse_id("roleId", &input.role_id)?;
        let provider: Option<ProviderId> =
            input.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let (services, request) = (services(ctx)?, request(ctx)?);
        let granted = flows::roles::grant(services, request, role_id, subject, provider, input.expires_at).await?;
        Ok(RoleAssignmentObject(granted))
    }

    /// Revokes a role assignment (it stays in the history, stamped).
    #[access(Requires(Permission::RoleAssign))]
    async fn revoke_role_assignment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RoleAssignmentObject> {
        let id: AssignmentId = parse_id("id", &id)?;
        Ok(RoleAssignmentObject(services(ctx)?.rbac.revoke_assignment(request(ctx)?, id).await?))
    }
}
