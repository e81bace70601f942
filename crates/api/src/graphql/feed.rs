//! The event feed behind every subscription.

use std::sync::Arc;

use futures_util::Stream;
use tessera_kernel::{DomainError, DomainEvent, Permission, RequestContext};
use tessera_tenant::{Tenant, TenantRef};
use tokio::sync::broadcast::error::RecvError;

use super::Services;
use crate::error::ApiResult;
use crate::events::BusMessage;

/// One event of the subscriber's tenant, with the rights it was checked against.
pub(crate) struct FeedItem {
    /// The event.
    pub(crate) event: DomainEvent,
    /// The tenant as it is now.
    pub(crate) tenant: Tenant,
    /// The subscriber's context with their current rights in the tenant, for
    /// reading what the event is about.
    pub(crate) request: RequestContext,
}

/// The domain events of the request's tenant, for a subscriber holding `all` (or
/// its `own` variant: the reader then limits what it shows). Rights are checked
/// again for every event, so the feed ends when the subscriber's session ends
/// (announced on the bus or found dead) or they lose the permission or the
/// membership.
pub(crate) fn tenant_feed(
    services: Arc<Services>,
    request: RequestContext,
    all: Permission,
    own: Permission,
) -> ApiResult<impl Stream<Item = FeedItem> + use<>> {
    let actor = request.require_actor()?;
    let tenant_id = request.authorize_reach(all, own)?.0.tenant_id;
    let mut events = services.bus.subscribe();
    Ok(async_stream::stream! {
        loop {
            let message = match events.recv().await {
                Ok(message) => message,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind; events skipped");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let event = match message.as_ref() {
                BusMessage::SessionRevoked { session_id } if *session_id == actor.session_id => break,
                BusMessage::Domain(event) if event.tenant_id == tenant_id => event.clone(),
                _ => continue,
            };
            if !services.identity.session_is_live(actor.session_id, services.clock.now()).await.unwrap_or(false) {
                break;
            }
            let current = match services.rbac.resolve_scope(actor.user_id, &TenantRef::Id(tenant_id), services.clock.now()).await {
                Ok((tenant, scope)) if scope.reach(all, own).is_some() => (tenant, scope),
                Ok(_) | Err(DomainError::NotFound { .. }) => break,
                // A passing database failure is no reason to end the feed.
                Err(_) => continue,
            };
            let (tenant, scope) = current;
            yield FeedItem { event, tenant, request: request.clone().with_tenant(scope) };
        }
    })
}
