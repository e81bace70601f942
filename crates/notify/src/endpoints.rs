//! The tenant's webhook endpoints: where signed events go, which topics, and
//! their secret, rotated with an overlap so receivers can switch without a gap.
//! Each change is audited; a tenant keeps at most `MAX_ENDPOINTS`.

use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId, WebhookEndpointId};

use tessera_ledger::{Metric, Usage};

use crate::entity::webhook_endpoint;
use crate::model::{EndpointInput, EndpointPatch, EndpointWithSecret, WebhookEndpoint};
use crate::service::NotifyService;
use crate::webhook::{endpoint_topics, new_secret};

/// The webhook event types the gateway sends.
pub const WEBHOOK_EVENT_TYPES: [&str; 5] = [
    "booking.created",
    "booking.rescheduled",
    "booking.status_changed",
    "booking.cancelled",
    "usage.threshold_reached",
];

/// The most webhook endpoints a tenant may have, whatever its tier (which
/// limits them further: `webhook_endpoints`, counted on creation and removal).
const MAX_ENDPOINTS: u64 = 100;

/// The longest a rotated-out secret may keep signing.
const MAX_ROTATION_OVERLAP_HOURS: i64 = 168;

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

async fn find_endpoint(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: WebhookEndpointId,
) -> Result<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id((tenant_id, id))
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

impl NotifyService {
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
        let usage = endpoint_usage(row.id, 1, "added", now);
        tessera_ledger::count_with(&txn, &*self.usage, auth.tenant_id, usage).await?;
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
        webhook_endpoint::Entity::delete_by_id((auth.tenant_id, id)).exec(&txn).await?;
        audit(&txn, ctx, &auth, "webhook_endpoint.deleted", Some(&before), None).await?;
        let usage = endpoint_usage(id, -1, "removed", ctx.now());
        tessera_ledger::count_with(&txn, &*self.usage, auth.tenant_id, usage).await?;
        txn.commit().await?;
        Ok(before.into())
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

/// An endpoint added (`1`) or removed (`-1`), as the tier counts it.
fn endpoint_usage(id: WebhookEndpointId, quantity: i64, change: &str, at: chrono::DateTime<chrono::Utc>) -> Usage {
    Usage {
        metric: Metric::WebhookEndpoints,
        quantity,
        at,
        source_kind: "webhook_endpoint",
        source_id: Some(id.to_string()),
        key: format!("webhook_endpoint:{id}:{change}"),
    }
}
