//! The Relay `Node` interface: refetch any object by its id.
//!
//! Ids are UUIDv7, unique across every type, so `node(id)` looks the id up in each
//! type the caller may read, with the same access checks as the type's own query
//! (a permission the caller lacks skips the type; own-only readers find only their
//! own): an id the caller may not see answers null, exactly like one that does not
//! exist.

use std::collections::HashMap;
use std::future::Future;
use tessera_api_macros::operations;

use async_graphql::{Context, Guard, ID, Interface, Object};
use tessera_kernel::{
    AddonId, AssignmentId, BookingId, CustomerId, DomainError, GroupId, InvitationId, NotificationId, OAuthClientId,
    Permission, ProviderId, RoleId, ServiceId, SessionId, TenantId, WebhookEndpointId,
};
use uuid::Uuid;

use super::identity::{ApiKeyObject, OAuthClientObject, PasskeyObject, SessionObject, UserObject};
use super::notify::{NotificationObject, WebhookEndpointObject};
use super::rbac::{GroupObject, InvitationObject, RoleAssignmentObject, RoleObject};
use super::scheduling::{AddonObject, BookingObject, CustomerObject, ProviderObject, ReviewObject, ServiceObject};
use super::tenant::TenantObject;
use super::{loaders, request, services};
use crate::error::{ApiError, ApiResult};

/// At most this many ids per `nodes` call.
const MAX_NODES: usize = 100;

/// An object with a globally unique id.
// One value per `node` answer, built and dropped within the request: the size
// of its largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Interface, Clone)]
#[graphql(name = "Node")]
#[graphql(field(name = "id", ty = "ID"))]
pub(crate) enum NodeInterface {
    /// A tenant.
    Tenant(TenantObject),
    /// A user.
    User(UserObject),
    /// A session.
    Session(SessionObject),
    /// A personal API key.
    ApiKey(ApiKeyObject),
    /// A passkey.
    Passkey(PasskeyObject),
    /// A booking.
    Booking(BookingObject),
    /// A review of a booking.
    Review(ReviewObject),
    /// A provider.
    Provider(ProviderObject),
    /// A service.
    Service(ServiceObject),
    /// An add-on of a service.
    Addon(AddonObject),
    /// A customer.
    Customer(CustomerObject),
    /// A role.
    Role(RoleObject),
    /// A group.
    Group(GroupObject),
    /// A role granted to a member or group.
    RoleAssignment(RoleAssignmentObject),
    /// An invitation to join the business.
    Invitation(InvitationObject),
    /// A partner client.
    OAuthClient(OAuthClientObject),
    /// A webhook endpoint.
    WebhookEndpoint(WebhookEndpointObject),
    /// One of the caller's in-app notifications.
    Notification(NotificationObject),
}

/// Guard: a signed-in person or a partner client. What a partner client may not
/// read (an account's sessions, keys, passkeys and inbox) is left out by `find`.
struct Authenticated;

impl Guard for Authenticated {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        request(ctx)?.require_actor().map_err(ApiError::from)?;
        Ok(())
    }
}

/// The ids asked for and the objects found for them so far.
struct Lookup {
    wanted: Vec<Uuid>,
    found: HashMap<Uuid, NodeInterface>,
}

impl Lookup {
    fn missing<K: From<Uuid>>(&self) -> Vec<K> {
        self.wanted.iter().filter(|id| !self.found.contains_key(id)).map(|id| K::from(*id)).collect()
    }

    fn complete(&self) -> bool {
        self.wanted.iter().all(|id| self.found.contains_key(id))
    }

    /// Looks the ids still missing up in one kind of object, when `allowed`: one
    /// query for all of them. An answer that only says the caller may not read
    /// that kind is, to `node`, the same as finding nothing.
    async fn kind<K: From<Uuid>, F>(&mut self, allowed: bool, load: impl FnOnce(Vec<K>) -> F) -> ApiResult<()>
    where
        F: Future<Output = ApiResult<Vec<(Uuid, NodeInterface)>>>,
    {
        if !allowed || self.complete() {
            return Ok(());
        }
        match load(self.missing()).await {
            Ok(found) => self.found.extend(found),
            Err(err) if matches!(err.domain(), DomainError::Forbidden(_) | DomainError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        Ok(())
    }
}

/// The objects with the ids `wanted` among the types the caller may read: in the
/// request's tenant, and (for a person, not a partner client) their own account's
/// tenants, user, sessions, keys, passkeys and inbox. A fixed number of queries
/// however many ids.
async fn find(ctx: &Context<'_>, mut wanted: Vec<Uuid>) -> ApiResult<HashMap<Uuid, NodeInterface>> {
    let (services, request, loaders) = (services(ctx)?, request(ctx)?, loaders(ctx)?);
    let actor = request.require_actor()?;
    wanted.sort_unstable();
    wanted.dedup();
    let mut lookup = Lookup { wanted, found: HashMap::new() };
    let in_person = request.client().is_none();
    let in_tenant = request.tenant().map(|t| t.tenant_id);
    let may = |all: Permission, own: Option<Permission>| request.has(all) || own.is_some_and(|p| request.has(p));

    lookup
        .kind(in_person, |ids: Vec<TenantId>| async move {
            let found = services.tenants.tenants_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|t| (t.id.0, NodeInterface::Tenant(TenantObject(t)))).collect())
        })
        .await?;
    // A partner client reads its own business only.
    let own_business = !in_person && in_tenant.is_some_and(|t| lookup.wanted.contains(&t.0));
    lookup
        .kind(own_business && may(Permission::TenantRead, None), |_: Vec<TenantId>| async move {
            let tenant = services.tenants.current_tenant(request).await?;
            Ok(vec![(tenant.id.0, NodeInterface::Tenant(TenantObject(tenant)))])
        })
        .await?;
    let own_id = actor.user_id.0;
    lookup
        .kind(in_person && lookup.wanted.contains(&own_id), |_: Vec<Uuid>| async move {
            let me = services.identity.me(request).await?;
            Ok(vec![(own_id, NodeInterface::User(UserObject::seen(me)))])
        })
        .await?;

    // Without a tenant `may` grants nothing, so these kinds are skipped.
    let reads_bookings = may(Permission::BookingRead, Some(Permission::BookingReadOwn));
    lookup
        .kind(reads_bookings, |ids: Vec<BookingId>| async move {
            let found = services.scheduling.bookings_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|b| (b.id.0, NodeInterface::Booking(BookingObject(b)))).collect())
        })
        .await?;
    lookup
        .kind(reads_bookings, |ids: Vec<Uuid>| async move {
            let found = services.scheduling.reviews_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|r| (r.id, NodeInterface::Review(r.into()))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::ProviderRead, None), |ids: Vec<ProviderId>| async move {
            let found = loaders.providers().load_many(ids).await?;
            Ok(found.into_values().map(|p| (p.id.0, NodeInterface::Provider(ProviderObject(p)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::ServiceRead, None), |ids: Vec<ServiceId>| async move {
            let found = loaders.services().load_many(ids).await?;
            Ok(found.into_values().map(|s| (s.id.0, NodeInterface::Service(ServiceObject(s)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::ServiceRead, None), |ids: Vec<AddonId>| async move {
            let found = services.scheduling.addons_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|a| (a.id.0, NodeInterface::Addon(AddonObject(a)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::CustomerRead, Some(Permission::CustomerReadOwn)), |ids: Vec<CustomerId>| async move {
            let found = loaders.customers().load_many(ids).await?;
            Ok(found.into_values().map(|c| (c.id.0, NodeInterface::Customer(CustomerObject(c)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::RoleRead, None), |ids: Vec<RoleId>| async move {
            let found = loaders.roles().load_many(ids).await?;
            Ok(found.into_values().map(|r| (r.id.0, NodeInterface::Role(RoleObject(r)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::RoleRead, None), |ids: Vec<GroupId>| async move {
            let found = loaders.groups().load_many(ids).await?;
            Ok(found.into_values().map(|g| (g.id.0, NodeInterface::Group(GroupObject(g)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::RoleRead, None), |ids: Vec<AssignmentId>| async move {
            let found = services.rbac.assignments_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|a| (a.id.0, NodeInterface::RoleAssignment(RoleAssignmentObject(a)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::RoleAssign, None), |ids: Vec<InvitationId>| async move {
            let found = services.rbac.invitations_by_ids(request, &ids).await?;
            Ok(found.into_values().map(|i| (i.id.0, NodeInterface::Invitation(InvitationObject(i)))).collect())
        })
        .await?;
    lookup
        .kind(may(Permission::TenantManage, None), |ids: Vec<Uuid>| async move {
            let found = loaders.partner_clients().load_many(ids.into_iter().map(OAuthClientId)).await?;
            Ok(found
                .into_iter()
                .map(|(id, c)| (id.0, NodeInterface::OAuthClient(OAuthClientObject::from(c))))
                .collect())
        })
        .await?;
    lookup
        .kind(may(Permission::NotificationRead, None), |ids: Vec<WebhookEndpointId>| async move {
            let found = services.notify.endpoints(request).await?;
            let wanted = |e: &tessera_notify::WebhookEndpoint| ids.contains(&e.id);
            Ok(found
                .into_iter()
                .filter(wanted)
                .map(|e| (e.id.0, NodeInterface::WebhookEndpoint(WebhookEndpointObject(e))))
                .collect())
        })
        .await?;
    lookup
        .kind(in_person && may(Permission::TenantRead, None), |ids: Vec<NotificationId>| async move {
            let found = services.notify.inbox_messages(request, &ids).await?;
            Ok(found.into_values().map(|m| (m.id.0, NodeInterface::Notification(NotificationObject(m)))).collect())
        })
        .await?;
    // The account's own objects last: a refetch is most often of the business's.
    lookup
        .kind(in_person, |ids: Vec<SessionId>| async move {
            let found = services.identity.my_sessions_by_ids(request, &ids).await?;
            let current = Some(actor.session_id);
            Ok(found.into_iter().map(|s| (s.id.0, NodeInterface::Session(SessionObject::new(s, current)))).collect())
        })
        .await?;
    lookup
        .kind(in_person, |ids: Vec<Uuid>| async move {
            let keys = services.identity.my_api_keys(request).await?;
            Ok(keys
                .into_iter()
                .filter(|k| ids.contains(&k.id.0))
                .map(|k| (k.id.0, NodeInterface::ApiKey(k.into())))
                .collect())
        })
        .await?;
    lookup
        .kind(in_person, |ids: Vec<Uuid>| async move {
            let keys = services.identity.my_passkeys(request).await?;
            Ok(keys
                .into_iter()
                .filter(|k| ids.contains(&k.id.0))
                .map(|k| (k.id.0, NodeInterface::Passkey(k.into())))
                .collect())
        })
        .await?;
    Ok(lookup.found)
}

#[derive(Default)]
pub(crate) struct NodeQueries;

#[operations]
#[Object]
impl NodeQueries {
    /// Any object the caller may read, by id; null when there is none (or the
    /// caller may not see it).
    #[access(Authenticated)]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<NodeInterface>> {
        let Ok(uuid) = Uuid::parse_str(&id) else { return Ok(None) };
        Ok(find(ctx, vec![uuid]).await?.remove(&uuid))
    }

    /// Several objects by id, in the order asked (at most 100); null for each
    /// the caller cannot see.
    #[access(Authenticated)]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<NodeInterface>>> {
        if ids.len() > MAX_NODES {
            return Err(DomainError::invalid("ids", format!("at most {MAX_NODES} ids")).into());
        }
        let uuids: Vec<Option<Uuid>> = ids.iter().map(|id| Uuid::parse_str(id).ok()).collect();
        let found = find(ctx, uuids.iter().flatten().copied().collect()).await?;
        // The same id asked twice answers the same object twice.
        Ok(uuids.into_iter().map(|uuid| uuid.and_then(|u| found.get(&u).cloned())).collect())
    }
}
