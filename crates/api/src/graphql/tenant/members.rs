//! Members: who belongs to the business, with their roles.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{Permission, TenantId};
use tessera_tenant::Member;

use super::tenants::TenantObject;
use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::UserObject;
use crate::graphql::{Requires, loaders, request, services};

/// A user's membership in a tenant.
#[derive(SimpleObject)]
#[graphql(name = "Membership", complex)]
pub(crate) struct MembershipObject {
    /// Id.
    id: ID,
    /// When they joined.
    joined_at: DateTime<Utc>,
    #[graphql(skip)]
    tenant_id: TenantId,
    #[graphql(skip)]
    user_id: tessera_kernel::UserId,
}

#[ComplexObject]
impl MembershipObject {
    /// The tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> ApiResult<Option<TenantObject>> {
        let found = loaders(ctx)?.tenants().load_one(self.tenant_id).await?;
        Ok(found.map(TenantObject))
    }
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        let found = loaders(ctx)?.users().load_one(self.user_id).await?;
        Ok(found.map(UserObject::seen))
    }
}

impl From<Member> for MembershipObject {
    fn from(m: Member) -> Self {
        Self { id: ID(m.id.to_string()), joined_at: m.joined_at, tenant_id: m.tenant_id, user_id: m.user_id }
    }
}

/// Queries about members.
#[derive(Default)]
pub(super) struct MemberQueries;

#[operations]
#[Object]
impl MemberQueries {
    /// The members of the current tenant.
    #[access(Requires(Permission::MemberRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, MembershipObject>> {
        let page = services(ctx)?.tenants.members(request(ctx)?, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |m| m.id.as_uuid(), MembershipObject::from))
    }
}
