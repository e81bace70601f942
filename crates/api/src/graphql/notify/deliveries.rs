//! Deliveries: each message's attempts on each channel, for the business to follow.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{NotificationId, Permission};
use tessera_notify::{Attempt, Delivery, DeliveryFilter};

use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::{Requires, loaders, parse_id, request, services};

/// How a message reaches someone.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationChannel", remote = "tessera_notify::Channel")]
pub(crate) enum NotificationChannelEnum {
    /// Email over SMTP.
    Email,
    /// A text message.
    Sms,
    /// A push notification.
    Push,
    /// A signed POST to a webhook endpoint.
    Webhook,
    /// The recipient's in-app inbox.
    InApp,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "DeliveryStatus", remote = "tessera_notify::DeliveryStatus")]
pub(crate) enum DeliveryStatusEnum {
    /// Waiting for its time or its next try.
    Pending,
    /// Accepted by the provider or the receiver.
    Sent,
    /// Given up after the last try, or refused for good.
    Failed,
    /// Not sent, for a reason retrying cannot change (no provider configured).
    Skipped,
    /// Withdrawn before it was sent (the reminder of a moved booking).
    Cancelled,
}

/// How one try of a delivery ended.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AttemptOutcome", remote = "tessera_notify::AttemptOutcome")]
pub(crate) enum AttemptOutcomeEnum {
    /// Accepted.
    Sent,
    /// Refused or unreachable; tried again later.
    Retry,
    /// Refused for good, or the last try failed.
    Failed,
    /// Not sent, and never will be.
    Skipped,
}

/// One try of a delivery.
#[derive(SimpleObject)]
#[graphql(name = "DeliveryAttempt")]
pub(crate) struct DeliveryAttemptObject {
    /// Its number, from 1.
    number: i32,
    /// When it began.
    started_at: DateTime<Utc>,
    /// When it ended.
    finished_at: DateTime<Utc>,
    /// How it ended.
    outcome: AttemptOutcomeEnum,
    /// What the provider or receiver answered (truncated).
    response: Option<String>,
    /// What went wrong.
    error: Option<String>,
}

impl From<Attempt> for DeliveryAttemptObject {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome.into(),
            response: a.response,
            error: a.error,
        }
    }
}

/// One notification's delivery over one channel to one destination.
pub(crate) struct NotificationDeliveryObject(Delivery);

#[Object(name = "NotificationDelivery")]
impl NotificationDeliveryObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The notification (the same id its message carries to the receiver).
    async fn notification_id(&self) -> ID {
        ID(self.0.notification_id.to_string())
    }
    /// The notification's topic or webhook event type.
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    /// The channel.
    async fn channel(&self) -> NotificationChannelEnum {
        self.0.channel.into()
    }
    /// Where to: an email address, a phone number, a webhook endpoint id or a user id.
    async fn destination(&self) -> &str {
        &self.0.destination
    }
    /// Where it stands.
    async fn status(&self) -> DeliveryStatusEnum {
        self.0.status.into()
    }
    /// Tries so far.
    async fn attempt_count(&self) -> i32 {
        self.0.attempts
    }
    /// When it is tried next, while pending.
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    /// The last error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The provider's id for the message (an email's `Message-ID`).
    async fn provider_message_id(&self) -> Option<&str> {
        self.0.provider_message_id.as_deref()
    }
    /// When it was accepted.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    /// When it was first opened (email, by its pixel) or read (in-app).
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.0.opened_at
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Every try, in order: the delivery log.
    async fn attempts(&self, ctx: &Context<'_>) -> ApiResult<Vec<DeliveryAttemptObject>> {
        let found = loaders(ctx)?.delivery_attempts().load_one(self.0.id).await?;
        Ok(found.unwrap_or_default().into_iter().map(DeliveryAttemptObject::from).collect())
    }
}

/// Which deliveries to list.
#[derive(InputObject, Default)]
pub(crate) struct DeliveryFilterInput {
    /// Only this notification's.
    notification_id: Option<ID>,
    /// Only over this channel.
    channel: Option<NotificationChannelEnum>,
    /// Only in this status.
    status: Option<DeliveryStatusEnum>,
}

/// Queries about deliveries.
#[derive(Default)]
pub(super) struct DeliveryQueries;

#[operations]
#[Object]
impl DeliveryQueries {
    /// The tenant's notification deliveries with their attempts, oldest first
    /// (`last: 20` for the newest): what was sent where, and what answered.
    #[access(Requires(Permission::NotificationRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn notification_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DeliveryFilterInput>,
    ) -> ApiResult<Connection<String, NotificationDeliveryObject>> {
        let filter = filter.unwrap_or_default();
        let filter = DeliveryFilter {
            notification_id: filter
                .notification_id
                .as_ref()
                .map(|id| parse_id::<NotificationId>("notificationId", id))
                .transpose()?,
            channel: filter.channel.map(Into::into),
            status: filter.status.map(Into::into),
        };
        let page = page_request(first, after, last, before);
        let page = services(ctx)?.notify.deliveries(request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |d| d.id.as_uuid(), NotificationDeliveryObject))
    }
}
