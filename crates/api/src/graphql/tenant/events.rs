//! The live feed of changes to the caller's business.

use async_graphql::{Context, Enum, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_kernel::event::EventKind;

use super::tenants::TenantObject;
use crate::error::{ApiError, ApiResult};
use crate::graphql::Requires;
use crate::graphql::feed::watch;

/// What happened to a tenant.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantEventKind")]
pub(crate) enum TenantEventKindEnum {
    /// Profile, settings or feature flags changed.
    Updated,
    /// Soft-deleted.
    Deleted,
    /// Restored.
    Restored,
}

/// A change to the subscribed tenant.
#[derive(SimpleObject)]
#[graphql(name = "TenantEvent")]
pub(crate) struct TenantEventObject {
    /// Unique per event; a client may see an id twice only if it reconnects.
    event_id: ID,
    /// What happened.
    kind: TenantEventKindEnum,
    /// When.
    occurred_at: DateTime<Utc>,
    /// The tenant as it is now.
    tenant: TenantObject,
}

#[derive(Default)]
pub(crate) struct TenantSubscription;

#[operations]
#[Subscription]
impl TenantSubscription {
    /// Changes to the current tenant (`X-Tenant` in the connection's init payload).
    /// Ends when the caller's session ends or they lose access to the tenant.
    #[access(Requires(Permission::TenantRead))]
    async fn tenant_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ApiResult<TenantEventObject>> + use<>, ApiError> {
        watch(ctx, Permission::TenantRead, Permission::TenantRead, |item| async move {
            let kind = match item.event.kind {
                EventKind::TenantUpdated => TenantEventKindEnum::Updated,
                EventKind::TenantDeleted => TenantEventKindEnum::Deleted,
                EventKind::TenantRestored => TenantEventKindEnum::Restored,
                _ => return None,
            };
            Some(TenantEventObject {
                event_id: ID(item.event.id.to_string()),
                kind,
                occurred_at: item.event.occurred_at,
                tenant: TenantObject(item.tenant),
            })
        })
    }
}
