//! What a delivery's topic decides in the worker: whether its message may
//! wait for a daily digest, and forgetting a message's secret (a single-use
//! link) once none of its deliveries can be sent any more.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tessera_kernel::Result;

use crate::entity::{delivery, notification};
use crate::model::{DeliveryStatus, Topic};
use crate::worker_send::link_of;

/// Whether a topic's message loses its point if held for a digest: a reminder,
/// or a single-use link that expires.
pub(crate) fn is_timely(topic: &str) -> bool {
    topic_of(topic).is_some_and(|t| t == Topic::BookingReminder || t.carries_secret())
}

pub(crate) fn topic_of(name: &str) -> Option<Topic> {
    Topic::ALL.into_iter().find(|t| t.as_str() == name)
}

/// Whether a topic's message carries a secret (a single-use link), to be
/// forgotten once it can no longer be sent.
pub(crate) fn carries_secret(topic: &str) -> bool {
    topic_of(topic).is_some_and(Topic::carries_secret)
}

/// Forgets the text and variables of a message that carried a secret (a
/// single-use link) once none of its deliveries can be sent any more: the
/// outbox must not become a second place the secret can be read from.
pub(crate) async fn forget_secret_once_final<C: ConnectionTrait>(
    conn: &C,
    notification: &notification::Model,
) -> Result<()> {
    if !carries_secret(&notification.topic) {
        return Ok(());
    }
    let still_pending = delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(notification.tenant_id))
        .filter(delivery::Column::NotificationId.eq(notification.id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .count(conn)
        .await?;
    if still_pending == 0 {
        // A framed message keeps the tenant's words, for the record of who sent
        // what, with the link taken out; any other is forgotten whole.
        let kept = topic_of(&notification.topic)
            .filter(|t| t.is_framed())
            .and_then(|_| notification.body.as_deref().zip(link_of(&notification.variables)))
            .map(|(body, link)| body.replace(&link, "[link removed once sent]"));
        notification::Entity::update_many()
            .col_expr(notification::Column::Variables, Expr::value("{}"))
            .col_expr(notification::Column::Body, Expr::value(kept))
            .filter(notification::Column::TenantId.eq(notification.tenant_id))
            .filter(notification::Column::Id.eq(notification.id))
            .exec(conn)
            .await?;
    }
    Ok(())
}
