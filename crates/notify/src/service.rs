//! The notify service: a member's in-app inbox, the tenant's delivery log and
//! webhook endpoints, and email open tracking.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::token::hash_token;
use tessera_kernel::{
    Db, DeliveryId, DomainError, NotificationId, Page, PageRequest, Permission, RequestContext, Result, TenantId,
    UserId, WebhookEndpointId,
};

use crate::entity::{attempt, delivery, notification, webhook_endpoint};
use crate::model::{
    Attempt, Channel, Delivery, DeliveryFilter, DeliveryStatus, EndpointInput, EndpointPatch, EndpointWithSecret,
    InboxMessage, Topic, WebhookEndpoint,
};
use crate::template;
use crate::webhook::{TargetPolicy, endpoint_topics, new_secret};

/// The webhook event types the gateway sends.
pub const WEBHOOK_EVENT_TYPES: [&str; 4] =
    ["booking.created", "booking.rescheduled", "booking.status_changed", "booking.cancelled"];
/// The most webhook endpoints a tenant may have.
const MAX_ENDPOINTS: u64 = 20;
/// The longest a rotated-out secret may keep signing.
const MAX_ROTATION_OVERLAP_HOURS: i64 = 168;

/// Inboxes, the delivery log, webhook endpoints and open tracking.
#[derive(Debug, Clone)]
pub struct NotifyService {
    db: Db,
    policy: TargetPolicy,
}

impl NotifyService {
    /// A service over `db`, checking webhook URLs against `policy`.
    pub fn new(db: Db, policy: TargetPolicy) -> Self {
        Self { db, policy }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The caller's in-app messages in the request's tenant, oldest first
    /// (`last: 20` for the newest); with `unread_only`, those not read yet.
    pub async fn inbox(
        &self,
        ctx: &RequestContext,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<InboxMessage>> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let keyset = page.keyset()?;
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let mut select = inbox_of(tenant_id, user_id);
        if unread_only {
            select = select.filter(notification::Column::ReadAt.is_null());
        }
        let rows = keyset.apply(select, notification::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(InboxMessage::from))
    }

    /// How many of the caller's in-app messages are unread.
    pub async fn unread_count(&self, ctx: &RequestContext) -> Result<u64> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let count = inbox_of(tenant_id, user_id).filter(notification::Column::ReadAt.is_null()).count(&txn).await?;
        txn.commit().await?;
        Ok(count)
    }

    /// One of the caller's in-app messages; `None` when it is not theirs (the live
    /// feed uses this to deliver only to the recipient).
    pub async fn inbox_message(&self, ctx: &RequestContext, id: NotificationId) -> Result<Option<InboxMessage>> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let row = inbox_of(tenant_id, user_id).filter(notification::Column::Id.eq(id)).one(&txn).await?;
        txn.commit().await?;
        Ok(row.map(InboxMessage::from))
    }

    /// Several of the caller's in-app messages by id; others' are left out.
    pub async fn inbox_messages(
        &self,
        ctx: &RequestContext,
        ids: &[NotificationId],
    ) -> Result<HashMap<NotificationId, InboxMessage>> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let rows =
            inbox_of(tenant_id, user_id).filter(notification::Column::Id.is_in(ids.iter().copied())).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|row| (row.id, InboxMessage::from(row))).collect())
    }

    /// Marks one of the caller's messages read (the in-app "open"). Reading it
    /// again keeps the first time. Another user's message is `NOT_FOUND`.
    pub async fn mark_read(&self, ctx: &RequestContext, id: NotificationId) -> Result<InboxMessage> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Write).await?;
        let row = inbox_of(tenant_id, user_id)
            .filter(notification::Column::Id.eq(id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "notification" })?;
        let row = if row.read_at.is_none() {
            mark_opened(&txn, &[row.id], user_id, now).await?;
            let mut active = row.into_active_model();
            active.read_at = Set(Some(now));
            active.update(&txn).await?
        } else {
            row
        };
        txn.commit().await?;
        Ok(row.into())
    }

    /// Marks all the caller's messages in the tenant read; returns how many were unread.
    pub async fn mark_all_read(&self, ctx: &RequestContext) -> Result<u64> {
        let (tenant_id, user_id) = inbox_owner(ctx)?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Write).await?;
        let unread: Vec<NotificationId> = inbox_of(tenant_id, user_id)
            .filter(notification::Column::ReadAt.is_null())
            .all(&txn)
            .await?
            .into_iter()
            .map(|n| n.id)
            .collect();
        if !unread.is_empty() {
            notification::Entity::update_many()
                .col_expr(notification::Column::ReadAt, Expr::value(now))
                .filter(notification::Column::Id.is_in(unread.iter().copied()))
                .exec(&txn)
                .await?;
            mark_opened(&txn, &unread, user_id, now).await?;
        }
        txn.commit().await?;
        Ok(u64::try_from(unread.len()).unwrap_or(u64::MAX))
    }

    /// The tenant's deliveries, oldest first (`notification:read`).
    pub async fn deliveries(
        &self,
        ctx: &RequestContext,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        let keyset = page.keyset()?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationRead, Access::Read).await?;
        let mut select = delivery::Entity::find().filter(delivery::Column::TenantId.eq(auth.tenant_id));
        if let Some(id) = filter.notification_id {
            select = select.filter(delivery::Column::NotificationId.eq(id));
        }
        if let Some(channel) = filter.channel {
            select = select.filter(delivery::Column::Channel.eq(channel));
        }
        if let Some(status) = filter.status {
            select = select.filter(delivery::Column::Status.eq(status));
        }
        let rows = keyset.apply(select, delivery::Column::Id).all(&txn).await?;
        let topics: HashMap<NotificationId, String> = notification::Entity::find()
            .filter(notification::Column::Id.is_in(rows.iter().map(|d| d.notification_id)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|n| (n.id, n.topic))
            .collect();
        txn.commit().await?;
        Ok(keyset.finish(rows).map(|row| {
            let topic = topics.get(&row.notification_id).cloned().unwrap_or_default();
            to_delivery(row, topic)
        }))
    }

    /// The attempts of several deliveries, in order (`notification:read`).
    pub async fn attempts(
        &self,
        ctx: &RequestContext,
        ids: &[DeliveryId],
    ) -> Result<HashMap<DeliveryId, Vec<Attempt>>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationRead, Access::Read).await?;
        let rows = attempt::Entity::find()
            .filter(attempt::Column::TenantId.eq(auth.tenant_id))
            .filter(attempt::Column::DeliveryId.is_in(ids.iter().copied()))
            .order_by_asc(attempt::Column::Number)
            .order_by_asc(attempt::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_delivery: HashMap<DeliveryId, Vec<Attempt>> = HashMap::new();
        for row in rows {
            by_delivery.entry(row.delivery_id).or_default().push(Attempt {
                number: row.number,
                started_at: row.started_at,
                finished_at: row.finished_at,
                outcome: row.outcome,
                response: row.response,
                error: row.error,
            });
        }
        Ok(by_delivery)
    }

    /// The tenant's webhook endpoints, oldest first (`notification:read`).
    pub async fn endpoints(&self, ctx: &RequestContext) -> Result<Vec<WebhookEndpoint>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationRead, Access::Read).await?;
        let rows = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(auth.tenant_id))
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(WebhookEndpoint::from).collect())
    }

    /// Adds a webhook endpoint (`notification:manage`). Its signing secret is in
    /// the answer, and never again.
    pub async fn create_endpoint(&self, ctx: &RequestContext, input: EndpointInput) -> Result<EndpointWithSecret> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let input = self.checked(input)?;
        let existing = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(auth.tenant_id))
            .count(&txn)
            .await?;
        if existing >= MAX_ENDPOINTS {
            return Err(DomainError::Conflict(format!("a tenant has at most {MAX_ENDPOINTS} webhook endpoints")));
        }
        let now = ctx.now();
        let secret = new_secret();
        let row = webhook_endpoint::ActiveModel {
            id: Set(WebhookEndpointId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            url: Set(input.url),
            description: Set(input.description),
            topics: Set(json!(input.topics).to_string()),
            secret: Set(secret.clone()),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            active: Set(input.active),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        audit(&txn, ctx, &auth, "webhook_endpoint.created", None, Some(&row)).await?;
        txn.commit().await?;
        Ok(EndpointWithSecret { endpoint: row.into(), secret })
    }

    /// Changes a webhook endpoint (`notification:manage`).
    pub async fn update_endpoint(
        &self,
        ctx: &RequestContext,
        id: WebhookEndpointId,
        patch: EndpointPatch,
    ) -> Result<WebhookEndpoint> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let before = find_endpoint(&txn, auth.tenant_id, id).await?;
        let mut active = before.clone().into_active_model();
        if let Some(url) = &patch.url {
            active.url = Set(self.checked_url(url)?);
        }
        if let Some(description) = patch.description {
            active.description = Set(checked_description(description)?);
        }
        if let Some(topics) = patch.topics {
            active.topics = Set(json!(checked_topics(topics)?).to_string());
        }
        if let Some(enabled) = patch.active {
            active.active = Set(enabled);
        }
        active.updated_at = Set(ctx.now());
        let row = active.update(&txn).await?;
        audit(&txn, ctx, &auth, "webhook_endpoint.updated", Some(&before), Some(&row)).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Gives an endpoint a new signing secret (`notification:manage`); the old one
    /// keeps signing too for `overlap`, so the receiver can switch without losing
    /// events. The new secret is in the answer, and never again.
    pub async fn rotate_endpoint_secret(
        &self,
        ctx: &RequestContext,
        id: WebhookEndpointId,
        overlap: Duration,
    ) -> Result<EndpointWithSecret> {
        if overlap < Duration::zero() || overlap > Duration::hours(MAX_ROTATION_OVERLAP_HOURS) {
            return Err(DomainError::invalid(
                "overlapHours",
                format!("must be between 0 and {MAX_ROTATION_OVERLAP_HOURS}"),
            ));
        }
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let before = find_endpoint(&txn, auth.tenant_id, id).await?;
        let now = ctx.now();
        let secret = new_secret();
        let mut active = before.clone().into_active_model();
        active.previous_secret = Set((overlap > Duration::zero()).then(|| before.secret.clone()));
        active.previous_secret_expires_at = Set((overlap > Duration::zero()).then(|| now + overlap));
        active.secret = Set(secret.clone());
        active.updated_at = Set(now);
        let row = active.update(&txn).await?;
        audit(&txn, ctx, &auth, "webhook_endpoint.secret_rotated", Some(&before), Some(&row)).await?;
        txn.commit().await?;
        Ok(EndpointWithSecret { endpoint: row.into(), secret })
    }

    /// Removes a webhook endpoint (`notification:manage`); its pending deliveries
    /// are skipped.
    pub async fn delete_endpoint(&self, ctx: &RequestContext, id: WebhookEndpointId) -> Result<WebhookEndpoint> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let before = find_endpoint(&txn, auth.tenant_id, id).await?;
        webhook_endpoint::Entity::delete_by_id(id).exec(&txn).await?;
        audit(&txn, ctx, &auth, "webhook_endpoint.deleted", Some(&before), None).await?;
        txn.commit().await?;
        Ok(before.into())
    }

    /// Records that the email with the open-pixel `token` was opened (the first
    /// time counts). Unknown tokens change nothing. Public: the token is the
    /// credential, 256 random bits.
    pub async fn record_open(&self, token: &str, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let opened = delivery::Entity::update_many()
            .col_expr(delivery::Column::OpenedAt, Expr::value(now))
            .filter(delivery::Column::OpenTokenHash.eq(hash_token(token)))
            .filter(delivery::Column::OpenedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(opened.rows_affected > 0)
    }

    fn checked(&self, input: EndpointInput) -> Result<EndpointInput> {
        Ok(EndpointInput {
            url: self.checked_url(&input.url)?,
            description: checked_description(input.description)?,
            topics: checked_topics(input.topics)?,
            active: input.active,
        })
    }

    fn checked_url(&self, url: &str) -> Result<String> {
        Ok(self.policy.validate(url.trim())?.to_string())
    }
}

fn checked_description(description: Option<String>) -> Result<Option<String>> {
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > 500) {
        return Err(DomainError::invalid("description", "must be at most 500 characters"));
    }
    Ok(description)
}

fn checked_topics(mut topics: Vec<String>) -> Result<Vec<String>> {
    topics.sort();
    topics.dedup();
    if let Some(unknown) = topics.iter().find(|t| !WEBHOOK_EVENT_TYPES.contains(&t.as_str())) {
        return Err(DomainError::invalid(
            "topics",
            format!("`{unknown}` is not an event type; use {}", WEBHOOK_EVENT_TYPES.join(", ")),
        ));
    }
    Ok(topics)
}

/// The signed-in caller and the request's tenant: whose inbox.
pub(crate) fn inbox_owner(ctx: &RequestContext) -> Result<(TenantId, UserId)> {
    let actor = ctx.require_actor()?;
    let tenant = ctx
        .tenant()
        .ok_or_else(|| DomainError::invalid("X-Tenant", "this field needs a tenant: send the X-Tenant header"))?;
    Ok((tenant.tenant_id, actor.user_id))
}

/// The user's delivered in-app messages in the tenant.
fn inbox_of(tenant_id: TenantId, user_id: UserId) -> sea_orm::Select<notification::Entity> {
    let delivered = Query::select()
        .column(delivery::Column::NotificationId)
        .from(delivery::Entity)
        .and_where(delivery::Column::TenantId.eq(tenant_id))
        .and_where(delivery::Column::Channel.eq(Channel::InApp))
        .and_where(delivery::Column::Destination.eq(user_id.to_string()))
        .and_where(delivery::Column::Status.eq(DeliveryStatus::Sent))
        .to_owned();
    notification::Entity::find()
        .filter(notification::Column::TenantId.eq(tenant_id))
        .filter(notification::Column::RecipientUserId.eq(user_id))
        .filter(notification::Column::Id.in_subquery(delivered))
}

/// Stamps the in-app deliveries of `ids` opened, for the delivery log.
async fn mark_opened(
    txn: &DatabaseTransaction,
    ids: &[NotificationId],
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::OpenedAt, Expr::value(now))
        .filter(delivery::Column::NotificationId.is_in(ids.iter().copied()))
        .filter(delivery::Column::Channel.eq(Channel::InApp))
        .filter(delivery::Column::Destination.eq(user_id.to_string()))
        .filter(delivery::Column::OpenedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

async fn find_endpoint(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: WebhookEndpointId,
) -> Result<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::TenantId.eq(tenant_id))
        .one(txn)
        .await?
        .ok_or(DomainError::NotFound { entity: "webhook endpoint" })
}

/// Records an endpoint change; the secrets never reach the log (only whether a
/// previous one still signs).
async fn audit(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    action: &'static str,
    before: Option<&webhook_endpoint::Model>,
    after: Option<&webhook_endpoint::Model>,
) -> Result<()> {
    let snapshot = |row: &webhook_endpoint::Model| {
        json!({
            "url": row.url,
            "description": row.description,
            "topics": endpoint_topics(&row.topics),
            "active": row.active,
            "signingKeyVersion": row.updated_at,
            "previousKeySignsUntil": row.previous_secret_expires_at,
        })
    };
    let id = before.or(after).map(|r| r.id.to_string()).unwrap_or_default();
    let entry = AuditEntry::change(
        action,
        "webhook_endpoint",
        id,
        before.map(snapshot).as_ref(),
        after.map(snapshot).as_ref(),
    )?;
    tessera_audit::append(txn, ctx, auth, entry).await
}

fn to_delivery(row: delivery::Model, topic: String) -> Delivery {
    Delivery {
        id: row.id,
        notification_id: row.notification_id,
        topic,
        channel: row.channel,
        destination: row.destination,
        status: row.status,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        provider_message_id: row.provider_message_id,
        sent_at: row.sent_at,
        opened_at: row.opened_at,
        created_at: row.created_at,
    }
}

impl From<notification::Model> for InboxMessage {
    fn from(row: notification::Model) -> Self {
        let (title, body) = match (row.title, row.body) {
            (Some(title), Some(body)) => (title, body),
            _ => {
                let variables: serde_json::Value = serde_json::from_str(&row.variables).unwrap_or_default();
                Topic::ALL
                    .into_iter()
                    .find(|t| t.as_str() == row.topic)
                    .and_then(|topic| template::render(topic, &row.locale, &variables).ok())
                    .map_or_else(|| (row.topic.clone(), String::new()), |r| (r.title, r.text))
            }
        };
        Self {
            id: row.id,
            topic: row.topic,
            priority: row.priority,
            title,
            body,
            subject: row.subject_type.zip(row.subject_id),
            created_at: row.created_at,
            read_at: row.read_at,
        }
    }
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(row: webhook_endpoint::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            url: row.url,
            description: row.description,
            topics: endpoint_topics(&row.topics),
            active: row.active,
            previous_secret_expires_at: row.previous_secret_expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
