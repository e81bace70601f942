//! The caller's in-app inbox: messages, the unread count, marking them read, and the
//! live feed of new ones.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tessera_api_macros::operations;
use tessera_kernel::{EventKind, NotificationId, Permission, UserId};
use tessera_notify::InboxMessage;

use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::feed::watch;
use crate::graphql::{RequiresInPerson, parse_id, request, services};

/// How urgent a notification is; urgent ones ignore quiet hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationPriority", remote = "tessera_notify::Priority")]
pub(crate) enum NotificationPriorityEnum {
    Low,
    Normal,
    High,
    Urgent,
}

/// A message in the caller's in-app inbox.
#[derive(Clone)]
pub(crate) struct NotificationObject(pub(crate) InboxMessage);

#[Object(name = "Notification")]
impl NotificationObject {
    /// Id (also the id every channel's copy of the message carries).
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it is about (`booking.confirmed`, `booking.reminder`, …).
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    /// How urgent.
    async fn priority(&self) -> NotificationPriorityEnum {
        self.0.priority.into()
    }
    /// Its title, in the tenant's language.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Its text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The kind of record it is about (`booking`).
    async fn subject_type(&self) -> Option<&str> {
        self.0.subject.as_ref().map(|(kind, _)| kind.as_str())
    }
    /// The record's id.
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject.as_ref().map(|(_, id)| ID(id.clone()))
    }
    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the caller read it; null while unread.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
}

#[derive(Default)]
pub(crate) struct NotifySubscription;

#[operations]
#[Subscription]
impl NotifySubscription {
    /// The caller's new in-app notifications in the current tenant, as they
    /// arrive, from every gateway replica. Ends when the session ends or the
    /// caller leaves the tenant.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn notification_received(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ApiResult<NotificationObject>> + use<>, ApiError> {
        let services = services(ctx)?.clone();
        let me: UserId = request(ctx)?.require_actor()?.user_id;
        watch(ctx, Permission::TenantRead, Permission::TenantRead, move |item| {
            let services = services.clone();
            async move {
                if item.event.kind != EventKind::NotificationCreated
                    || item.event.payload["recipientUserId"] != serde_json::json!(me)
                {
                    return None;
                }
                let id = NotificationId(item.event.subject_id);
                // Read as the subscriber: only their own message is found.
                let message = services.notify.inbox_message(&item.request, id).await.ok()??;
                Some(NotificationObject(message))
            }
        })
    }
}

/// Queries about the inbox.
#[derive(Default)]
pub(super) struct InboxQueries;

#[operations]
#[Object]
impl InboxQueries {
    /// The caller's in-app notifications in the current tenant, oldest first
    /// (`last: 20` for the newest).
    #[access(RequiresInPerson(Permission::TenantRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default)] unread_only: bool,
    ) -> ApiResult<Connection<String, NotificationObject>> {
        let page = page_request(first, after, last, before);
        let page = services(ctx)?.notify.inbox(request(ctx)?, unread_only, &page).await?;
        Ok(connection(page, |n| n.id.as_uuid(), NotificationObject))
    }

    /// How many of the caller's in-app notifications in the current tenant are unread.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let count = services(ctx)?.notify.unread_count(request(ctx)?).await?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// Mutations about the inbox.
#[derive(Default)]
pub(super) struct InboxMutations;

#[operations]
#[Object]
impl InboxMutations {
    /// Marks one of the caller's notifications read.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn mark_notification_read(&self, ctx: &Context<'_>, id: ID) -> ApiResult<NotificationObject> {
        let id: NotificationId = parse_id("id", &id)?;
        Ok(NotificationObject(services(ctx)?.notify.mark_read(request(ctx)?, id).await?))
    }

    /// Marks all the caller's notifications in the current tenant read; returns
    /// how many were unread.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let count = services(ctx)?.notify.mark_all_read(request(ctx)?).await?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }
}
