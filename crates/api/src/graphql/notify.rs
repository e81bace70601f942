//! GraphQL for notifications: a member's in-app inbox (read, and received live),
//! the tenant's delivery log, and its signed webhook endpoints.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Duration, Utc};
use futures_util::Stream;
use tessera_kernel::{EventKind, NotificationId, Permission, UserId};
use tessera_notify::{
    Attempt, DailyDigest, Delivery, DeliveryFilter, EndpointInput, EndpointWithSecret, InboxMessage, PreferenceView,
    Preferences, QuietHours, TemplateView, WEBHOOK_EVENT_TYPES, WebhookEndpoint,
};

use super::connection::{connection, page_cost, page_request};
use super::feed::watch;
use super::patch::UpdateWebhookEndpointInput;
use super::{Requires, RequiresInPerson, loaders, parse_id, permission, request, services};
use crate::error::{ApiError, ApiResult};

/// How urgent a notification is; urgent ones ignore quiet hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationPriority", remote = "tessera_notify::Priority")]
pub(crate) enum PriorityGql {
    Low,
    Normal,
    High,
    Urgent,
}

/// How a message reaches someone.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationChannel", remote = "tessera_notify::Channel")]
pub(crate) enum ChannelGql {
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
pub(crate) enum DeliveryStatusGql {
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
pub(crate) enum AttemptOutcomeGql {
    /// Accepted.
    Sent,
    /// Refused or unreachable; tried again later.
    Retry,
    /// Refused for good, or the last try failed.
    Failed,
    /// Not sent, and never will be.
    Skipped,
}

/// What a message to a person is about: picks its template, channels and priority.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationTopic", remote = "tessera_notify::Topic")]
pub(crate) enum TopicGql {
    /// A booking was made and waits for the business to confirm it (email,
    /// in-app).
    BookingReceived,
    /// A booking was confirmed: made confirmed, or confirmed later (email,
    /// in-app).
    BookingConfirmed,
    /// A booking moved (email, SMS, in-app).
    BookingChanged,
    /// A booking was cancelled (email, SMS, in-app).
    BookingCancelled,
    /// A booking starts soon (email, SMS, push, in-app).
    BookingReminder,
    /// Someone was invited to the business (email).
    Invitation,
    /// A password reset was asked for (email, urgent). An account message: the
    /// platform's wording, not the business's.
    PasswordReset,
    /// An email address needs confirming (email, urgent). An account message.
    EmailVerification,
    /// A way to sign in or an API key was added to the account (email, urgent).
    /// An account message.
    SignInMethodAdded,
    /// The link that finishes a sign-up (email, urgent). An account message.
    SignUpConfirmation,
    /// Someone tried to sign up with an address that has an account; its owner
    /// is told (email, urgent). An account message.
    SignUpAttempted,
}

/// A topic's template in one language, as it applies to the tenant.
pub(crate) struct TemplateObject(TemplateView);

#[Object(name = "NotificationTemplate")]
impl TemplateObject {
    /// The topic.
    async fn topic(&self) -> TopicGql {
        self.0.topic.into()
    }
    /// The language (`en`, `es`, …).
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// The title (email subject, push and in-app title, SMS text), in Jinja syntax.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The text (email and in-app body, push text), in Jinja syntax.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whether it is the tenant's own; false for the built-in one.
    async fn custom(&self) -> bool {
        self.0.custom
    }
    /// The variables it may use, as `{{ name }}`.
    async fn variables(&self) -> Vec<&'static str> {
        self.0.topic.variables()
    }
}

/// A template rendered with example values.
#[derive(SimpleObject)]
#[graphql(name = "NotificationTemplatePreview")]
pub(crate) struct PreviewObject {
    /// The rendered title.
    title: String,
    /// The rendered text.
    text: String,
    /// The email's HTML, values escaped.
    html: String,
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
    async fn priority(&self) -> PriorityGql {
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

/// One try of a delivery.
#[derive(SimpleObject)]
#[graphql(name = "DeliveryAttempt")]
pub(crate) struct AttemptObject {
    /// Its number, from 1.
    number: i32,
    /// When it began.
    started_at: DateTime<Utc>,
    /// When it ended.
    finished_at: DateTime<Utc>,
    /// How it ended.
    outcome: AttemptOutcomeGql,
    /// What the provider or receiver answered (truncated).
    response: Option<String>,
    /// What went wrong.
    error: Option<String>,
}

impl From<Attempt> for AttemptObject {
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
pub(crate) struct DeliveryObject(Delivery);

#[Object(name = "NotificationDelivery")]
impl DeliveryObject {
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
    async fn channel(&self) -> ChannelGql {
        self.0.channel.into()
    }
    /// Where to: an email address, a phone number, a webhook endpoint id or a user id.
    async fn destination(&self) -> &str {
        &self.0.destination
    }
    /// Where it stands.
    async fn status(&self) -> DeliveryStatusGql {
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
    async fn attempts(&self, ctx: &Context<'_>) -> ApiResult<Vec<AttemptObject>> {
        let found = loaders(ctx)?.delivery_attempts.load_one(self.0.id).await?;
        Ok(found.unwrap_or_default().into_iter().map(AttemptObject::from).collect())
    }
}

/// A URL the tenant receives signed webhooks at.
#[derive(Clone)]
pub(crate) struct WebhookEndpointObject(pub(crate) WebhookEndpoint);

#[Object(name = "WebhookEndpoint")]
impl WebhookEndpointObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types it receives; empty for all (see `webhookEventTypes`).
    async fn topics(&self) -> &[String] {
        &self.0.topics
    }
    /// Whether events are sent to it.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Until when the secret it had before the last rotation still signs too.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at
    }
    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An endpoint and its signing secret, shown this once: store it with the receiver.
#[derive(SimpleObject)]
pub(crate) struct WebhookEndpointWithSecret {
    /// The endpoint.
    endpoint: WebhookEndpointObject,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks: base64
    /// HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the base64
    /// key after `whsec_`).
    secret: String,
}

impl From<EndpointWithSecret> for WebhookEndpointWithSecret {
    fn from(e: EndpointWithSecret) -> Self {
        Self { endpoint: WebhookEndpointObject(e.endpoint), secret: e.secret }
    }
}

/// A webhook endpoint to add.
#[derive(InputObject)]
pub(crate) struct WebhookEndpointInput {
    /// Where events are POSTed: https, on a public address.
    url: String,
    /// What it is for.
    description: Option<String>,
    /// The event types it receives (see `webhookEventTypes`); empty or omitted for all.
    topics: Option<Vec<String>>,
    /// Whether events are sent to it.
    #[graphql(default = true)]
    active: bool,
}

impl From<WebhookEndpointInput> for EndpointInput {
    fn from(i: WebhookEndpointInput) -> Self {
        Self { url: i.url, description: i.description, topics: i.topics.unwrap_or_default(), active: i.active }
    }
}

/// Which deliveries to list.
#[derive(InputObject, Default)]
pub(crate) struct DeliveryFilterInput {
    /// Only this notification's.
    notification_id: Option<ID>,
    /// Only over this channel.
    channel: Option<ChannelGql>,
    /// Only in this status.
    status: Option<DeliveryStatusGql>,
}

/// A daily window in which email, SMS and push wait (urgent messages excepted).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "QuietHours", input_name = "QuietHoursInput")]
pub(crate) struct QuietHoursGql {
    /// When it begins, `HH:MM`.
    start: String,
    /// When it ends, `HH:MM`; earlier than the start spans midnight.
    end: String,
    /// The IANA timezone the times are in (`Europe/Madrid`).
    timezone: String,
}

/// A daily email digest: routine emails (low and normal priority, nothing tied to
/// a time) wait and go together once a day.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "EmailDigest", input_name = "EmailDigestInput")]
pub(crate) struct DigestGql {
    /// When, `HH:MM`.
    at: String,
    /// The IANA timezone of `at` (`Europe/Madrid`).
    timezone: String,
}

/// Which channels reach someone, and their quiet hours. A null channel follows
/// the tenant's setting (and that one, the default: on).
#[derive(SimpleObject, InputObject, Clone, Default)]
#[graphql(name = "NotificationPreferences", input_name = "NotificationPreferencesInput")]
pub(crate) struct PreferencesGql {
    /// Email.
    email: Option<bool>,
    /// Text messages.
    sms: Option<bool>,
    /// Push notifications.
    push: Option<bool>,
    /// The in-app inbox.
    in_app: Option<bool>,
    /// Quiet hours; null follows the tenant's (or none).
    quiet_hours: Option<QuietHoursGql>,
    /// A daily email digest; null follows the tenant's (or none).
    email_digest: Option<DigestGql>,
}

impl From<Preferences> for PreferencesGql {
    fn from(p: Preferences) -> Self {
        Self {
            email: p.email,
            sms: p.sms,
            push: p.push,
            in_app: p.in_app,
            quiet_hours: p.quiet_hours.map(|q| QuietHoursGql { start: q.start, end: q.end, timezone: q.timezone }),
            email_digest: p.email_digest.map(|d| DigestGql { at: d.at, timezone: d.timezone }),
        }
    }
}

impl From<PreferencesGql> for Preferences {
    fn from(p: PreferencesGql) -> Self {
        Self {
            email: p.email,
            sms: p.sms,
            push: p.push,
            in_app: p.in_app,
            quiet_hours: p.quiet_hours.map(|q| QuietHours { start: q.start, end: q.end, timezone: q.timezone }),
            email_digest: p.email_digest.map(|d| DailyDigest { at: d.at, timezone: d.timezone }),
        }
    }
}

/// Settings as set, and as they apply.
#[derive(SimpleObject)]
#[graphql(name = "NotificationPreferenceSettings")]
pub(crate) struct PreferenceViewGql {
    /// As set at this level (nulls follow the level below).
    own: PreferencesGql,
    /// As they apply: every channel decided.
    effective: PreferencesGql,
}

impl From<PreferenceView> for PreferenceViewGql {
    fn from(v: PreferenceView) -> Self {
        Self { own: v.own.into(), effective: v.effective.into() }
    }
}

#[derive(Default)]
pub(crate) struct NotifyQuery;

#[Object]
impl NotifyQuery {
    /// The caller's in-app notifications in the current tenant, oldest first
    /// (`last: 20` for the newest).
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
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
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let count = services(ctx)?.notify.unread_count(request(ctx)?).await?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    /// The tenant's notification deliveries with their attempts, oldest first
    /// (`last: 20` for the newest): what was sent where, and what answered.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn notification_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DeliveryFilterInput>,
    ) -> ApiResult<Connection<String, DeliveryObject>> {
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
        Ok(connection(page, |d| d.id.as_uuid(), DeliveryObject))
    }

    /// The tenant's webhook endpoints.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()))]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> ApiResult<Vec<WebhookEndpointObject>> {
        let endpoints = services(ctx)?.notify.endpoints(request(ctx)?).await?;
        Ok(endpoints.into_iter().map(WebhookEndpointObject).collect())
    }

    /// The caller's notification channels and quiet hours in the current tenant.
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn my_notification_preferences(&self, ctx: &Context<'_>) -> ApiResult<PreferenceViewGql> {
        Ok(services(ctx)?.notify.my_preferences(request(ctx)?).await?.into())
    }

    /// The tenant's default channels and quiet hours for everyone.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()))]
    async fn tenant_notification_preferences(&self, ctx: &Context<'_>) -> ApiResult<PreferenceViewGql> {
        Ok(services(ctx)?.notify.tenant_preferences(request(ctx)?).await?.into())
    }

    /// Every topic's template in the built-in languages and the tenant's own ones.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()))]
    async fn notification_templates(&self, ctx: &Context<'_>) -> ApiResult<Vec<TemplateObject>> {
        let templates = services(ctx)?.notify.templates(request(ctx)?).await?;
        Ok(templates.into_iter().map(TemplateObject).collect())
    }

    /// Renders a template with example values, without saving it.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()))]
    async fn preview_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: TopicGql,
        title: String,
        body: String,
    ) -> ApiResult<PreviewObject> {
        let preview = services(ctx)?.notify.preview_template(request(ctx)?, topic.into(), &title, &body)?;
        Ok(PreviewObject { title: preview.rendered.title, text: preview.rendered.text, html: preview.html })
    }

    /// The event types webhook endpoints can subscribe to.
    #[graphql(guard = "Requires(Permission::NotificationRead)", directive = permission::apply(Permission::NotificationRead.name().to_owned()))]
    async fn webhook_event_types(&self) -> Vec<&'static str> {
        WEBHOOK_EVENT_TYPES.to_vec()
    }
}

#[derive(Default)]
pub(crate) struct NotifyMutation;

#[Object]
impl NotifyMutation {
    /// Marks one of the caller's notifications read.
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn mark_notification_read(&self, ctx: &Context<'_>, id: ID) -> ApiResult<NotificationObject> {
        let id: NotificationId = parse_id("id", &id)?;
        Ok(NotificationObject(services(ctx)?.notify.mark_read(request(ctx)?, id).await?))
    }

    /// Marks all the caller's notifications in the current tenant read; returns
    /// how many were unread.
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let count = services(ctx)?.notify.mark_all_read(request(ctx)?).await?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    /// Sets the caller's channels and quiet hours in the current tenant (all
    /// fields; nulls follow the tenant's). Urgent messages ignore them.
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn set_my_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: PreferencesGql,
    ) -> ApiResult<PreferenceViewGql> {
        Ok(services(ctx)?.notify.set_my_preferences(request(ctx)?, input.into()).await?.into())
    }

    /// Sets the tenant's default channels and quiet hours (all fields; nulls mean on
    /// and none). Each member's own settings win over these.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn set_tenant_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: PreferencesGql,
    ) -> ApiResult<PreferenceViewGql> {
        Ok(services(ctx)?.notify.set_tenant_preferences(request(ctx)?, input.into()).await?.into())
    }

    /// Replaces a topic's template in a language for the tenant. It must render
    /// with the topic's variables (see `notificationTemplates`); messages queued
    /// from now on use it.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn set_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: TopicGql,
        language: String,
        title: String,
        body: String,
    ) -> ApiResult<TemplateObject> {
        let view = services(ctx)?.notify.set_template(request(ctx)?, topic.into(), &language, &title, &body).await?;
        Ok(TemplateObject(view))
    }

    /// Goes back to the built-in template of a topic in a language.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn reset_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: TopicGql,
        language: String,
    ) -> ApiResult<TemplateObject> {
        Ok(TemplateObject(services(ctx)?.notify.reset_template(request(ctx)?, topic.into(), &language).await?))
    }

    /// Adds a webhook endpoint. The answer holds its signing secret, shown once.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> ApiResult<WebhookEndpointWithSecret> {
        Ok(services(ctx)?.notify.create_endpoint(request(ctx)?, input.into()).await?.into())
    }

    /// Changes a webhook endpoint (its URL, description, event types, whether active).
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpointObject> {
        let id = parse_id("id", &id)?;
        Ok(WebhookEndpointObject(services(ctx)?.notify.update_endpoint(request(ctx)?, id, input.try_into()?).await?))
    }

    /// Gives a webhook endpoint a new signing secret (shown once). The old one
    /// keeps signing too for `overlapHours` (0 to 168), so the receiver can switch
    /// without losing events.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = 24)] overlap_hours: i32,
    ) -> ApiResult<WebhookEndpointWithSecret> {
        let id = parse_id("id", &id)?;
        let overlap = Duration::hours(i64::from(overlap_hours));
        Ok(services(ctx)?.notify.rotate_endpoint_secret(request(ctx)?, id, overlap).await?.into())
    }

    /// Removes a webhook endpoint; its pending deliveries are skipped.
    #[graphql(guard = "Requires(Permission::NotificationManage)", directive = permission::apply(Permission::NotificationManage.name().to_owned()))]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WebhookEndpointObject> {
        let id = parse_id("id", &id)?;
        Ok(WebhookEndpointObject(services(ctx)?.notify.delete_endpoint(request(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub(crate) struct NotifySubscription;

#[Subscription]
impl NotifySubscription {
    /// The caller's new in-app notifications in the current tenant, as they
    /// arrive, from every gateway replica. Ends when the session ends or the
    /// caller leaves the tenant.
    #[graphql(guard = "RequiresInPerson(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
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
