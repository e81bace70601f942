//! The Relay `Node` interface: refetch any object by its id.
//!
//! Ids are UUIDv7, unique across every type, so `node(id)` looks the id up in each
//! type the caller may read, with the same access checks as every other read.

use async_graphql::{Context, ID, Interface, Object};
use tessera_kernel::{SessionId, TenantId, UserId};

use super::identity::{SessionObject, UserObject};
use super::tenant::TenantObject;
use super::{SignedIn, authenticated, request, services};
use crate::error::ApiResult;

/// An object with a globally unique id.
// One value per `node` answer, built and dropped within the request: the size
// of its largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub(crate) enum Node {
    /// A tenant.
    Tenant(TenantObject),
    /// A user.
    User(UserObject),
    /// A session.
    Session(SessionObject),
}

#[derive(Default)]
pub(crate) struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object the caller may read, by id; null when there is none.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let Ok(uuid) = uuid::Uuid::parse_str(&id) else { return Ok(None) };
        let (services, request) = (services(ctx)?, request(ctx)?);
        if let Some(tenant) = services.tenants.tenant_by_id(request, TenantId(uuid)).await? {
            return Ok(Some(Node::Tenant(TenantObject(tenant))));
        }
        let actor = request.require_actor()?;
        if actor.user_id == UserId(uuid) {
            return Ok(Some(Node::User(UserObject::seen(services.identity.me(request).await?))));
        }
        let sessions = services
            .identity
            .my_sessions(request, &tessera_kernel::PageRequest { first: Some(100), ..Default::default() })
            .await?;
        Ok(sessions
            .items
            .into_iter()
            .find(|s| s.id == SessionId(uuid))
            .map(|s| Node::Session(SessionObject::new(s, Some(actor.session_id)))))
    }
}
