//! The Relay `Node` interface: refetch any object by its id.
//!
//! Ids are UUIDv7, unique across every type, so `node(id)` looks the id up in each
//! type the caller may read, with the same access checks as the type's own query
//! (a permission the caller lacks skips the type; own-only readers find only their
//! own): an id the caller may not see answers null, exactly like one that does not
//! exist.

use async_graphql::{Context, ID, Interface, Object};
use tessera_kernel::{
    BookingId, CustomerId, DomainError, GroupId, Permission, ProviderId, RoleId, ServiceId, SessionId, TenantId, UserId,
};
use uuid::Uuid;

use super::identity::{SessionObject, UserObject};
use super::oauth::OAuthClientObject;
use super::rbac::{GroupObject, RoleObject};
use super::scheduling::{BookingObject, CustomerObject, ProviderObject, ServiceObject};
use super::tenant::TenantObject;
use super::{SignedIn, authenticated, loaders, request, services};
use crate::error::{ApiError, ApiResult};

/// At most this many ids per `nodes` call.
const MAX_NODES: usize = 100;

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
    /// A booking.
    Booking(BookingObject),
    /// A provider.
    Provider(ProviderObject),
    /// A service.
    Service(ServiceObject),
    /// A customer.
    Customer(CustomerObject),
    /// A role.
    Role(RoleObject),
    /// A group.
    Group(GroupObject),
    /// A partner client.
    OAuthClient(OAuthClientObject),
}

/// `None` for an answer that only says the caller may not read the thing: to
/// `node` that is the same as not finding it.
fn unless_refused<T>(found: ApiResult<Option<T>>) -> ApiResult<Option<T>> {
    match found {
        Err(err) if matches!(err.domain(), DomainError::Forbidden(_) | DomainError::NotFound { .. }) => Ok(None),
        other => other,
    }
}

/// The object with `uuid` among the types the caller may read, in the request's
/// tenant (and their own account's tenants, user and sessions).
async fn find(ctx: &Context<'_>, uuid: Uuid) -> ApiResult<Option<Node>> {
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
    if let Some(session) = sessions.items.into_iter().find(|s| s.id == SessionId(uuid)) {
        return Ok(Some(Node::Session(SessionObject::new(session, Some(actor.session_id)))));
    }
    if request.tenant().is_none() {
        return Ok(None);
    }
    let may = |all: Permission, own: Option<Permission>| request.has(all) || own.is_some_and(|p| request.has(p));
    let loaders = loaders(ctx)?;
    if may(Permission::BookingRead, Some(Permission::BookingReadOwn)) {
        let id = BookingId(uuid);
        let found = services.scheduling.bookings_by_ids(request, &[id]).await.map_err(ApiError::from);
        if let Some(mut found) = unless_refused(found.map(Some))?
            && let Some(booking) = found.remove(&id)
        {
            return Ok(Some(Node::Booking(BookingObject(booking))));
        }
    }
    if may(Permission::ProviderRead, None)
        && let Some(provider) = unless_refused(loaders.providers.load_one(ProviderId(uuid)).await)?
    {
        return Ok(Some(Node::Provider(ProviderObject(provider))));
    }
    if may(Permission::ServiceRead, None)
        && let Some(service) = unless_refused(loaders.services.load_one(ServiceId(uuid)).await)?
    {
        return Ok(Some(Node::Service(ServiceObject(service))));
    }
    if may(Permission::CustomerRead, Some(Permission::CustomerReadOwn))
        && let Some(customer) = unless_refused(loaders.customers.load_one(CustomerId(uuid)).await)?
    {
        return Ok(Some(Node::Customer(CustomerObject(customer))));
    }
    if may(Permission::RoleRead, None) {
        if let Some(role) = unless_refused(loaders.roles.load_one(RoleId(uuid)).await)? {
            return Ok(Some(Node::Role(RoleObject(role))));
        }
        if let Some(group) = unless_refused(loaders.groups.load_one(GroupId(uuid)).await)? {
            return Ok(Some(Node::Group(GroupObject(group))));
        }
    }
    if may(Permission::TenantManage, None)
        && let Some(client) = unless_refused(loaders.partner_clients.load_one(uuid).await)?
    {
        return Ok(Some(Node::OAuthClient(OAuthClientObject::from(client))));
    }
    Ok(None)
}

#[derive(Default)]
pub(crate) struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object the caller may read, by id; null when there is none (or the
    /// caller may not see it).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let Ok(uuid) = Uuid::parse_str(&id) else { return Ok(None) };
        find(ctx, uuid).await
    }

    /// Several objects by id, in the order asked (at most 100); null for each
    /// the caller cannot see.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(DomainError::invalid("ids", format!("at most {MAX_NODES} ids")).into());
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.push(match Uuid::parse_str(&id) {
                Ok(uuid) => find(ctx, uuid).await?,
                Err(_) => None,
            });
        }
        Ok(found)
    }
}
