//! The event feed behind every subscription.

use std::future::Future;

use async_graphql::Context;
use futures_util::{Stream, StreamExt};
use tessera_kernel::{DomainError, DomainEvent, Permission, RequestContext};
use tessera_tenant::{Tenant, TenantRef};
use tokio::sync::broadcast::error::RecvError;

use super::{request, services};
use crate::caller::{Caller, Entry, EventRights, Standing, enter_tenant};
use crate::error::{ApiError, ApiResult};
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
/// its `own` variant: the reader then limits what it shows). Before each event the
/// subscriber's rights are resolved again exactly as for a new request (roles,
/// a partner client's scopes, the tenant's network and second-factor rules), so
/// the feed shows what they may see now and ends when their session ends
/// (announced on the bus or found dead) or they lose the permission or the
/// membership. The subscriptions of one connection share that work per event.
fn tenant_feed(
    ctx: &Context<'_>,
    all: Permission,
    own: Permission,
) -> ApiResult<impl Stream<Item = ApiResult<FeedItem>> + use<>> {
    let services = services(ctx)?.clone();
    let request = request(ctx)?.clone();
    let actor = request.require_actor()?;
    let tenant_id = request.authorize_reach(all, own)?.0.tenant_id;
    let caller = ctx.data::<Caller>().map_err(|_| ApiError::internal("the subscriber is unknown"))?.clone();
    let shared = ctx.data_opt::<EventRights>().cloned().unwrap_or_default();
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
                BusMessage::SessionRevoked { session_id } if *session_id == actor.session_id => {
                    yield Err(session_ended());
                    break;
                }
                BusMessage::Domain(event) if event.tenant_id == tenant_id => event.clone(),
                _ => continue,
            };
            // Boxed, so an idle feed does not hold room for resolving rights:
            // a generator is as large as its largest await, and thousands of
            // feeds wait on the bus.
            let standing = Box::pin(shared.for_event(event.id, async || {
                    let now = services.clock.now();
                    if !services.identity.session_is_live(actor.session_id, now).await? {
                        return Ok(Standing::SessionEnded);
                    }
                    match enter_tenant(&services, &caller, &TenantRef::Id(tenant_id), Entry::Event, now).await {
                        Ok(rights) => Ok(Standing::Member(Box::new(rights))),
                        Err(err) if matches!(err.domain(), DomainError::Unauthenticated(_)) => Ok(Standing::SessionEnded),
                        Err(err) if matches!(err.domain(), DomainError::NotFound { .. } | DomainError::Forbidden(_)) => Ok(Standing::Refused),
                        Err(err) => Err(err),
                    }
                }))
                .await;
            // The subscriber hears why the feed ends, with a code, before it
            // completes.
            let (tenant, scope) = match standing {
                Ok(Standing::Member(rights)) if rights.1.reach(all, own).is_some() => *rights,
                Ok(Standing::Member(_) | Standing::Refused) => {
                    yield Err(no_longer_allowed(all));
                    break;
                }
                Ok(Standing::SessionEnded) => {
                    yield Err(session_ended());
                    break;
                }
                // A passing database failure is no reason to end the feed.
                Err(_) => continue,
            };
            yield Ok(FeedItem { event, tenant, request: request.clone().with_tenant(scope) });
        }
    })
}

/// The error a feed ends with when the subscriber's session has ended.
fn session_ended() -> ApiError {
    DomainError::Unauthenticated("the session has ended; sign in again and subscribe anew".into()).into()
}

/// The error a feed ends with when the subscriber may no longer read it.
fn no_longer_allowed(all: Permission) -> ApiError {
    DomainError::Forbidden(format!("you may no longer see these events ({} or its own variant is gone)", all.name()))
        .into()
}

/// A subscription over the tenant's feed (see [`tenant_feed`]): `pick` turns an
/// event into what the subscriber receives, or skips it; when the feed ends for
/// the subscriber's session or rights, the last item is the error saying why.
pub(crate) fn watch<T, F, Fut>(
    ctx: &Context<'_>,
    all: Permission,
    own: Permission,
    mut pick: F,
) -> ApiResult<impl Stream<Item = ApiResult<T>> + use<T, F, Fut>>
where
    F: FnMut(FeedItem) -> Fut,
    Fut: Future<Output = Option<T>>,
{
    Ok(tenant_feed(ctx, all, own)?.filter_map(move |item| {
        // Boxed for the same reason: the pending future lives inside the stream.
        let picked = item.map(|item| Box::pin(pick(item)));
        async move {
            match picked {
                Ok(future) => future.await.map(Ok),
                Err(err) => Some(Err(err)),
            }
        }
    }))
}
