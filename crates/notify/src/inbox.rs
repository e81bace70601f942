//! A member's in-app inbox in the request's tenant: their messages, what is
//! unread, and marking read.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, NotificationId, Page, PageRequest, RequestContext, Result, TenantId, UserId};

use crate::entity::{delivery, notification};
use crate::model::{Channel, DeliveryStatus, InboxMessage, Topic};
use crate::service::{NotifyService, mark_opened};
use crate::template;

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

impl NotifyService {
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
            mark_opened(&txn, tenant_id, &[row.id], user_id, now).await?;
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
                .filter(notification::Column::TenantId.eq(tenant_id))
                .filter(notification::Column::Id.is_in(unread.iter().copied()))
                .exec(&txn)
                .await?;
            mark_opened(&txn, tenant_id, &unread, user_id, now).await?;
        }
        txn.commit().await?;
        Ok(u64::try_from(unread.len()).unwrap_or(u64::MAX))
    }
}
