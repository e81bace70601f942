//! Webhook endpoints: where a business's events are posted, signed with a secret that
//! can be rotated.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_notify::{EndpointInput, EndpointPatch, EndpointWithSecret, WEBHOOK_EVENT_TYPES, WebhookEndpoint};

use crate::error::{ApiError, ApiResult};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set};
use crate::graphql::{Requires, parse_id, request, services};

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
#[graphql(name = "WebhookEndpointWithSecret")]
pub(crate) struct WebhookEndpointWithSecretObject {
    /// The endpoint.
    endpoint: WebhookEndpointObject,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks: base64
    /// HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the base64
    /// key after `whsec_`).
    secret: String,
}

impl From<EndpointWithSecret> for WebhookEndpointWithSecretObject {
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

/// Changes to a webhook endpoint; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateWebhookEndpointInput {
    /// Where events are POSTed: https, on a public address.
    url: MaybeUndefined<String>,
    /// What it is for; null clears it.
    description: MaybeUndefined<String>,
    /// The event types it receives (see `webhookEventTypes`); null or empty for
    /// all.
    topics: MaybeUndefined<Vec<String>>,
    /// Whether events are sent to it.
    active: MaybeUndefined<bool>,
}

impl TryFrom<UpdateWebhookEndpointInput> for EndpointPatch {
    type Error = ApiError;

    fn try_from(i: UpdateWebhookEndpointInput) -> ApiResult<Self> {
        Ok(Self {
            url: kept_or_set("url", i.url)?,
            description: kept_cleared_or_set(i.description),
            topics: kept_cleared_or_set(i.topics).map(Option::unwrap_or_default),
            active: kept_or_set("active", i.active)?,
        })
    }
}

/// Queries about webhook endpoints.
#[derive(Default)]
pub(super) struct WebhookQueries;

#[operations]
#[Object]
impl WebhookQueries {
    /// The tenant's webhook endpoints.
    #[access(Requires(Permission::NotificationRead))]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> ApiResult<Vec<WebhookEndpointObject>> {
        let endpoints = services(ctx)?.notify.endpoints(request(ctx)?).await?;
        Ok(endpoints.into_iter().map(WebhookEndpointObject).collect())
    }

    /// The event types webhook endpoints can subscribe to.
    #[access(Requires(Permission::NotificationRead))]
    async fn webhook_event_types(&self) -> Vec<&'static str> {
        WEBHOOK_EVENT_TYPES.to_vec()
    }
}

/// Mutations about webhook endpoints.
#[derive(Default)]
pub(super) struct WebhookMutations;

#[operations]
#[Object]
impl WebhookMutations {
    /// Adds a webhook endpoint. The answer holds its signing secret, shown once.
    #[access(Requires(Permission::NotificationManage))]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> ApiResult<WebhookEndpointWithSecretObject> {
        Ok(services(ctx)?.notify.create_endpoint(request(ctx)?, input.into()).await?.into())
    }

    /// Changes a webhook endpoint (its URL, description, event types, whether active).
    #[access(Requires(Permission::NotificationManage))]
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
    #[access(Requires(Permission::NotificationManage))]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = 24)] overlap_hours: i32,
    ) -> ApiResult<WebhookEndpointWithSecretObject> {
        let id = parse_id("id", &id)?;
        let overlap = Duration::hours(i64::from(overlap_hours));
        Ok(services(ctx)?.notify.rotate_endpoint_secret(request(ctx)?, id, overlap).await?.into())
    }

    /// Removes a webhook endpoint; its pending deliveries are skipped.
    #[access(Requires(Permission::NotificationManage))]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WebhookEndpointObject> {
        let id = parse_id("id", &id)?;
        Ok(WebhookEndpointObject(services(ctx)?.notify.delete_endpoint(request(ctx)?, id).await?))
    }
}
