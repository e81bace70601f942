//! Explaining access: which grants give a member a permission, and which do not and
//! why.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{Permission, Resource};
use tessera_rbac::{Explanation, GrantPath};

use super::assignments::RoleAssignmentObject;
use super::groups::GroupObject;
use super::objects::RoleObject;
use crate::error::ApiResult;
use crate::graphql::identity::objects::{UserObject, user_by_id};
use crate::graphql::{Requires, parse_id, request, services};

/// Why an assignment does or does not give the permission asked about.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "GrantStatus", remote = "tessera_rbac::GrantStatus")]
pub(crate) enum GrantStatusEnum {
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
    async fn status(&self) -> GrantStatusEnum {
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
pub(crate) struct AccessExplanationObject(Explanation);

#[Object(name = "AccessExplanation")]
impl AccessExplanationObject {
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

/// Queries about explaining access.
#[derive(Default)]
pub(super) struct ExplainQueries;

#[operations]
#[Object]
impl ExplainQueries {
    /// May `userId` do `permission` (on `providerId`, or anywhere in the tenant) at
    /// `at` (default: now)? Answers with every assignment that could give it and
    /// whether it does, so any decision can be explained, including past ones.
    #[access(Requires(Permission::RoleRead))]
    async fn explain_access(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        #[graphql(name = "permission")] permission_name: String,
        provider_id: Option<ID>,
        at: Option<DateTime<Utc>>,
    ) -> ApiResult<AccessExplanationObject> {
        let request = request(ctx)?;
        let asked: Permission = permission_name.parse()?;
        let resource = provider_id.as_ref().map(|id| parse_id("providerId", id).map(Resource::Provider)).transpose()?;
        let at = at.unwrap_or_else(|| request.now());
        let explanation =
            services(ctx)?.rbac.explain(request, parse_id("userId", &user_id)?, asked, resource, at).await?;
        Ok(AccessExplanationObject(explanation))
    }
}
