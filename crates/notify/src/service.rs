//! The notify service: its construction, the tenant's delivery log and email
//! open tracking. Beside it: the inbox (`inbox`), webhook endpoints
//! (`endpoints`), preferences (`preference_settings`) and templates
//! (`template_service`).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::token::hash_token;
use tessera_kernel::{
    Db, DeliveryId, NotificationId, Page, PageRequest, Permission, RequestContext, Result, TenantId, UserId,
};
use tessera_ledger::UsageHooks;

use crate::entity::{attempt, delivery, notification};
use crate::model::{Attempt, Channel, Delivery, DeliveryFilter};
use crate::webhook::TargetPolicy;

/// Inboxes, the delivery log, webhook endpoints and open tracking.
#[derive(Debug, Clone)]
pub struct NotifyService {
    pub(crate) db: Db,
    pub(crate) policy: TargetPolicy,
    /// Counts webhook endpoints against the business's tier.
    pub(crate) usage: Arc<dyn UsageHooks>,
}

impl NotifyService {
    /// A service over `db`, checking webhook URLs against `policy` and counting
    /// endpoints through `usage`.
    pub fn new(db: Db, policy: TargetPolicy, usage: Arc<dyn UsageHooks>) -> Self {
        Self { db, policy, usage }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
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
            .filter(notification::Column::TenantId.eq(auth.tenant_id))
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

    /// Records that the email with the open-pixel `token` was opened (the first
    /// time counts). Unknown tokens change nothing. Public: the token is the
    /// credential, 256 random bits.
    pub async fn record_open(&self, token: &str, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let Some(found) = directory::resolve(&txn, KeyKind::EmailOpen, &hash_token(token)).await? else {
            txn.commit().await?;
            return Ok(false);
        };
        // Every tracked email is a tenant's (account emails carry no pixel).
        let Some(tenant_id) = found.tenant_id else {
            txn.commit().await?;
            return Ok(false);
        };
        let opened = delivery::Entity::update_many()
            .col_expr(delivery::Column::OpenedAt, Expr::value(now))
            .filter(delivery::Column::TenantId.eq(tenant_id))
            .filter(delivery::Column::Id.eq(found.row_id))
            .filter(delivery::Column::OpenedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(opened.rows_affected > 0)
    }
}

/// Stamps the in-app deliveries of `ids` opened, for the delivery log.
pub(crate) async fn mark_opened(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    ids: &[NotificationId],
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::OpenedAt, Expr::value(now))
        .filter(delivery::Column::TenantId.eq(tenant_id))
        .filter(delivery::Column::NotificationId.is_in(ids.iter().copied()))
        .filter(delivery::Column::Channel.eq(Channel::InApp))
        .filter(delivery::Column::Destination.eq(user_id.to_string()))
        .filter(delivery::Column::OpenedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
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
