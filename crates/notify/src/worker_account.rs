//! Sending account messages (`account.rs`): claimed with a lease like a
//! tenant's deliveries, sent by email, every try written to their delivery
//! log, retried with the same backoff, and forgotten once final when they
//! carried a single-use link.
//!
//! Their outbox is a global table, which stays whole on one node of a
//! distributed database, so replicas claim with row locks and skip each
//! other's (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::Result;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tracing::warn;

use crate::entity::{account_attempt, account_message};
use crate::model::DeliveryStatus;
use crate::worker::{DeliveryWorker, Tried, commit};
use crate::worker_send::{outcome, render_stored};
use crate::worker_topics::carries_secret;

impl DeliveryWorker {
    /// Claims one batch of due account messages and sends them; returns how
    /// many it took.
    pub(crate) async fn send_account_messages(&self) -> Result<usize> {
        let claimed = self.claim_account_messages().await?;
        let count = claimed.len();
        for message in claimed {
            let id = message.id;
            if let Err(err) = self.send_account_message(message).await {
                // The lease runs out and another round tries again.
                warn!(message_id = %id, error = %err, "an account message could not be finished");
            }
        }
        Ok(count)
    }

    async fn claim_account_messages(&self) -> Result<Vec<account_message::Model>> {
        let now = self.clock.now().trunc_subsecs(6);
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let mut due = account_message::Entity::find()
            .filter(account_message::Column::Status.eq(DeliveryStatus::Pending))
            .filter(account_message::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(account_message::Column::LeaseUntil.is_null())
                    .add(account_message::Column::LeaseUntil.lte(now)),
            )
            .order_by_asc(account_message::Column::NextAttemptAt)
            .limit(self.config.batch)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&txn)
            .await?;
        if !due.is_empty() {
            let lease_until = now + self.config.lease;
            account_message::Entity::update_many()
                .col_expr(account_message::Column::LeaseUntil, Expr::value(lease_until))
                .col_expr(account_message::Column::Attempts, Expr::col(account_message::Column::Attempts).add(1))
                .filter(account_message::Column::Id.is_in(due.iter().map(|m| m.id)))
                .exec(&txn)
                .await?;
            for message in &mut due {
                message.lease_until = Some(lease_until);
                message.attempts += 1;
            }
        }
        commit(txn).await?;
        Ok(due)
    }

    async fn send_account_message(&self, message: account_message::Model) -> Result<()> {
        let started = self.clock.now();
        let rendered = render_stored(
            (message.title.as_deref(), message.body.as_deref()),
            &message.topic,
            &message.locale,
            &message.variables,
        );
        let tried = match (&self.providers.email, rendered) {
            (None, _) => Tried::Skipped("no email transport is configured"),
            (Some(_), Err(err)) => Tried::Refused(crate::channel::SendError::permanent(err.to_string())),
            (Some(sender), Ok(rendered)) => {
                // No open-tracking pixel: nobody reads the platform's own opens.
                let to = (message.recipient_email.as_str(), message.recipient_name.as_deref());
                let email = self.email_of(&message.id.to_string(), to, &rendered, None);
                outcome(sender.send(&email).await)
            }
        };
        self.finish_account_message(&message, started, tried).await
    }

    async fn finish_account_message(
        &self,
        message: &account_message::Model,
        started: DateTime<Utc>,
        tried: Tried,
    ) -> Result<()> {
        let now = self.clock.now();
        let number = message.attempts;
        let (status, outcome, response, error) = self.settle(&tried, number);
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        account_attempt::Entity::insert(account_attempt::ActiveModel {
            id: Set(uuid_v7_at(now)),
            message_id: Set(message.id),
            number: Set(number),
            started_at: Set(started),
            finished_at: Set(now),
            outcome: Set(outcome),
            response: Set(response),
            error: Set(error.clone()),
        })
        .exec_without_returning(&txn)
        .await?;
        let mut update = account_message::Entity::update_many()
            .col_expr(account_message::Column::Status, Expr::value(status))
            .col_expr(account_message::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(account_message::Column::LastError, Expr::value(error))
            .col_expr(account_message::Column::UpdatedAt, Expr::value(now));
        if let Tried::Sent(receipt) = &tried {
            update = update
                .col_expr(account_message::Column::SentAt, Expr::value(now))
                .col_expr(account_message::Column::ProviderMessageId, Expr::value(receipt.provider_message_id.clone()));
        }
        if status == DeliveryStatus::Pending {
            let next = now + self.retry_delay(number, message.id.as_uuid());
            update = update.col_expr(account_message::Column::NextAttemptAt, Expr::value(next));
        } else if carries_secret(&message.topic) {
            // Final: the outbox must not become a second place the link can be
            // read from. The platform's own messages are forgotten whole.
            update = update
                .col_expr(account_message::Column::Variables, Expr::value("{}"))
                .col_expr(account_message::Column::Body, Expr::value(Option::<String>::None));
        }
        // Only while this worker's lease holds (see `DeliveryWorker::finish`).
        let finished = update
            .filter(account_message::Column::Id.eq(message.id))
            .filter(account_message::Column::LeaseUntil.eq(message.lease_until))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !finished {
            warn!(message_id = %message.id, "an account message's lease ran out before it finished; another worker has it");
        }
        commit(txn).await
    }
}
