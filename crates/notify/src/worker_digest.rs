//! Daily digests: the routine emails a member's preferences held back, sent as
//! one message at their daily time, at most `MAX_DIGEST_ITEMS` at once, and
//! counted as one email against the business's tier.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::Result;
use tessera_kernel::db::{Access, Scope};
use tracing::warn;

use crate::entity::{delivery, notification};
use crate::model::{Channel, DeliveryStatus, Priority};
use crate::template::{self, Rendered};
use crate::worker::{CLAIM_LOCK, Claimed, DeliveryWorker, Tried, commit};
use crate::worker_quota::Reservation;
use crate::worker_send::{outcome, render};
use crate::worker_topics::is_timely;

/// The most messages one digest gathers.
const MAX_DIGEST_ITEMS: u64 = 50;

/// Whether `other`, claimed in the same batch, goes in the digest `first` opens:
/// a routine email due now to the same person at the same address.
pub(crate) fn same_digest(
    first: &delivery::Model,
    first_notification: &notification::Model,
    other: &Claimed,
    now: DateTime<Utc>,
) -> bool {
    let (d, n) = (&other.delivery, &other.notification);
    d.channel == Channel::Email
        && d.tenant_id == first.tenant_id
        && d.destination == first.destination
        && n.recipient_user_id == first_notification.recipient_user_id
        && n.cancelled_at.is_none()
        && other
            .preferences
            .digest_slot(d.channel, n.priority, is_timely(&n.topic), n.created_at)
            .is_some_and(|slot| slot <= now)
}

impl DeliveryWorker {
    /// Sends `first` together with the recipient's other routine emails now due
    /// for their digest, as one email, and finishes each delivery with its outcome.
    pub(crate) async fn send_digest(
        &self,
        first: delivery::Model,
        first_notification: notification::Model,
        in_batch: Vec<(delivery::Model, notification::Model)>,
        started: DateTime<Utc>,
    ) -> Result<()> {
        let mut items = vec![(first, first_notification)];
        items.extend(in_batch);
        let Some(sender) = self.providers.email.clone() else {
            for (delivery, notification) in &items {
                let skipped = Tried::Skipped("no email transport is configured");
                self.finish(delivery, notification, started, (skipped, false), None).await?;
            }
            return Ok(());
        };
        let claimed_elsewhere = self.claim_digest_companions(&items[0].0, &items[0].1, started).await?;
        items.extend(claimed_elsewhere);
        // One email leaves, so one is counted: under the first delivery's id.
        let reserved = match self.reserve(&items[0].0, &items[0].1).await? {
            Reservation::Over(why) => {
                for (delivery, notification) in &items {
                    self.finish(delivery, notification, started, (Tried::Skipped(why), false), None).await?;
                }
                return Ok(());
            }
            reservation => reservation == Reservation::Reserved,
        };
        let mut parts = Vec::new();
        for (_, notification) in &items {
            match render(notification) {
                Ok(rendered) => parts.push(rendered),
                Err(err) => {
                    warn!(notification_id = %notification.id, error = %err, "a digest item could not be rendered")
                }
            }
        }
        let (first, first_notification) = &items[0];
        let spanish = template::language(&first_notification.locale) == "es";
        let rendered = match parts.as_slice() {
            [one] => one.clone(),
            many => Rendered {
                title: if spanish {
                    format!("Tus novedades ({})", many.len())
                } else {
                    format!("Your updates ({})", many.len())
                },
                text: many
                    .iter()
                    .map(|p| format!("{}\n\n{}", p.title, p.text))
                    .collect::<Vec<_>>()
                    .join("\n\n— — —\n\n"),
            },
        };
        let pixel = self.open_pixel();
        let to = (first.destination.as_str(), first_notification.recipient_name.as_deref());
        let url = pixel.as_ref().map(|(_, url)| url.as_str());
        let message = self.email_of(&format!("digest-{}", first_notification.id), to, &rendered, url);
        let tried = outcome(sender.send(&message).await);
        let ends = self.settle(&tried, first.attempts).0;
        let unsent = reserved && !matches!(ends, DeliveryStatus::Sent | DeliveryStatus::Pending);
        let mut open_token = pixel.map(|(token, _)| token);
        for (index, (delivery, notification)) in items.iter().enumerate() {
            // The unit counted for an email that ends unsent goes back with the first.
            let give_back = unsent && index == 0;
            self.finish(delivery, notification, started, (tried.clone(), give_back), open_token.take()).await?;
        }
        Ok(())
    }

    /// Leases the recipient's other routine emails of the tenant that are due now,
    /// to go in the same digest.
    async fn claim_digest_companions(
        &self,
        first: &delivery::Model,
        first_notification: &notification::Model,
        now: DateTime<Utc>,
    ) -> Result<Vec<(delivery::Model, notification::Model)>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        self.db.lock_named(&txn, CLAIM_LOCK).await?;
        let candidates = delivery::Entity::find()
            .filter(delivery::Column::TenantId.eq(first.tenant_id))
            .filter(delivery::Column::Channel.eq(Channel::Email))
            .filter(delivery::Column::Destination.eq(first.destination.as_str()))
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(delivery::Column::Id.ne(first.id))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any().add(delivery::Column::LeaseUntil.is_null()).add(delivery::Column::LeaseUntil.lte(now)),
            )
            .order_by_asc(delivery::Column::Id)
            .limit(MAX_DIGEST_ITEMS)
            .all(&txn)
            .await?;
        let notifications: HashMap<_, _> = notification::Entity::find()
            .filter(notification::Column::TenantId.eq(first.tenant_id))
            .filter(notification::Column::Id.is_in(candidates.iter().map(|d| d.notification_id)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|n| (n.id, n))
            .collect();
        let mut companions = Vec::new();
        for mut candidate in candidates {
            let Some(notification) = notifications.get(&candidate.notification_id) else { continue };
            let routine = notification.priority <= Priority::Normal && !is_timely(&notification.topic);
            if !routine
                || notification.cancelled_at.is_some()
                || notification.recipient_user_id != first_notification.recipient_user_id
            {
                continue;
            }
            candidate.lease_until = first.lease_until;
            candidate.attempts += 1;
            companions.push((candidate, notification.clone()));
        }
        if !companions.is_empty() {
            delivery::Entity::update_many()
                .col_expr(delivery::Column::LeaseUntil, Expr::value(first.lease_until))
                .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
                .filter(delivery::Column::TenantId.eq(first.tenant_id))
                .filter(delivery::Column::Id.is_in(companions.iter().map(|(d, _)| d.id)))
                .exec(&txn)
                .await?;
        }
        commit(txn).await?;
        Ok(companions)
    }
}
