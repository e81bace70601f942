//! The delivery worker: claims due deliveries, sends them, and records every try.
//!
//! A claim is a lease: the worker stamps `lease_until` on a batch and commits,
//! then sends each message and finishes it in its own transaction with an attempt in
//! the delivery log. A worker that dies mid-batch leaves leases that run out, and
//! the next worker takes those deliveries again: nothing is lost. A message that
//! reached its receiver just before the crash is sent again with the same id
//! (`webhook-id`, `Message-ID`, the provider's idempotency key), so receivers
//! see one message, not two. Failures are retried with exponential backoff up to
//! a limit; a final refusal (an invalid address, a 4xx) is not retried.
//!
//! Replicas claim one after another, each waiting for the claim lock (a
//! transaction-scoped advisory lock on PostgreSQL) and then skipping the leases
//! the one before it stamped. Row locks would not do: the deliveries are
//! sharded by tenant on a distributed PostgreSQL, which refuses `FOR UPDATE`
//! across shards. A claim is a few statements, so the wait is short.
//!
//! Sending on each channel is in `worker_send.rs`; counting emails and text
//! messages against the business's tier in `worker_quota.rs`; daily digests in
//! `worker_digest.rs`; the platform's account messages in `worker_account.rs`;
//! what a topic decides in `worker_topics.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tessera_kernel::clock::SharedClock;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::token::hash_token;
use tessera_kernel::{Db, Result, WebhookEndpointId};
use tessera_ledger::UsageHooks;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::channel::{EmailSender, PushSender, Receipt, SendError, SmsSender};
use crate::entity::{attempt, delivery, notification, webhook_endpoint};
use crate::model::{AttemptOutcome, Channel, DeliveryStatus};
use crate::preference::{self, Effective};
use crate::queue::announce_in_app;
use crate::webhook::WebhookClient;
use crate::worker_digest::same_digest;
use crate::worker_quota::Reservation;
use crate::worker_topics::{forget_secret_once_final, is_timely};

/// The lock replicas take in turn to claim deliveries (see the module docs).
pub(crate) const CLAIM_LOCK: &str = "tessera.notify_claim";

/// Where messages leave through. A channel without a provider skips its
/// deliveries, saying so in the delivery log.
#[derive(Clone)]
pub struct Providers {
    /// Email.
    pub email: Option<Arc<dyn EmailSender>>,
    /// SMS.
    pub sms: Option<Arc<dyn SmsSender>>,
    /// Push.
    pub push: Option<Arc<dyn PushSender>>,
    /// Webhooks.
    pub webhooks: WebhookClient,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("push", &self.push.is_some())
            .finish_non_exhaustive()
    }
}

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Deliveries claimed at a time.
    pub batch: u64,
    /// How long a claim holds; longer than any one send can take.
    pub lease: Duration,
    /// Tries before giving up.
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with each further one.
    pub first_retry: Duration,
    /// The longest wait between tries.
    pub max_retry: Duration,
    /// The sender of emails (`Name <address>`); its domain ends every `Message-ID`.
    pub mail_from: String,
    /// The gateway's public base URL, for the email open pixel; none leaves it out.
    pub public_url: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch: 20,
            lease: Duration::minutes(2),
            max_attempts: 10,
            first_retry: Duration::seconds(30),
            max_retry: Duration::hours(6),
            mail_from: "Tessera <no-reply@tessera.localhost>".into(),
            public_url: None,
        }
    }
}

/// A delivery claimed by this worker, with what it needs to send it.
pub(crate) struct Claimed {
    pub(crate) delivery: delivery::Model,
    pub(crate) notification: notification::Model,
    endpoint: Option<webhook_endpoint::Model>,
    pub(crate) preferences: Effective,
}

/// How a try ended, before it is written down.
#[derive(Clone)]
pub(crate) enum Tried {
    Sent(Receipt),
    Refused(SendError),
    Skipped(&'static str),
    Withdrawn,
    /// Held until then (quiet hours, or the daily digest); not an attempt.
    Deferred(DateTime<Utc>, Hold),
}

/// Why a delivery waits.
#[derive(Clone, Copy)]
pub(crate) enum Hold {
    QuietHours,
    Digest,
}

/// Sends due deliveries.
#[derive(Clone)]
pub struct DeliveryWorker {
    pub(crate) db: Db,
    pub(crate) providers: Providers,
    pub(crate) config: WorkerConfig,
    pub(crate) clock: SharedClock,
    /// Counts emails and text messages against the business's tier.
    pub(crate) usage: Arc<dyn UsageHooks>,
}

impl std::fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryWorker").field("providers", &self.providers).field("config", &self.config).finish()
    }
}

impl DeliveryWorker {
    /// A worker over `db`; `usage` reads a business's tier for counting what it sends.
    pub fn new(
        db: Db,
        providers: Providers,
        config: WorkerConfig,
        clock: SharedClock,
        usage: Arc<dyn UsageHooks>,
    ) -> Self {
        Self { db, providers, config, clock, usage }
    }

    /// Claims one batch of due deliveries, and one of due account messages, and
    /// sends them; returns how many it took.
    pub async fn run_once(&self) -> Result<usize> {
        // Each outbox on its own: a failure in one must not hold up the other.
        let accounts = self.send_account_messages().await;
        let mut claimed: std::collections::VecDeque<Claimed> = self.claim().await?.into();
        let count = claimed.len();
        while let Some(one) = claimed.pop_front() {
            let id = one.delivery.id;
            if let Err(err) = self.deliver(one, &mut claimed).await {
                // The lease runs out and another round tries again.
                warn!(delivery_id = %id, error = %err, "a delivery could not be finished");
            }
        }
        Ok(count + accounts?)
    }

    /// Sends everything due now, batch after batch.
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let sent = self.run_once().await?;
            total += sent;
            if sent == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `shutdown`, looking for due deliveries every `poll`.
    pub async fn run(self, poll: std::time::Duration, shutdown: CancellationToken) {
        loop {
            match self.drain().await {
                Ok(0) => {}
                Ok(count) => info!(count, "deliveries sent or retried"),
                Err(err) => warn!(error = %err, "the delivery worker could not claim deliveries"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    async fn claim(&self) -> Result<Vec<Claimed>> {
        let now = self.clock.now().trunc_subsecs(6);
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        self.db.lock_named(&txn, CLAIM_LOCK).await?;
        let due = delivery::Entity::find()
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any().add(delivery::Column::LeaseUntil.is_null()).add(delivery::Column::LeaseUntil.lte(now)),
            )
            .order_by_desc(delivery::Column::Priority)
            .order_by_asc(delivery::Column::NextAttemptAt)
            .limit(self.config.batch)
            .all(&txn)
            .await?;
        if due.is_empty() {
            txn.commit().await?;
            return Ok(Vec::new());
        }
        let lease_until = now + self.config.lease;
        let mut tenants: Vec<_> = due.iter().map(|d| d.tenant_id).collect();
        tenants.sort();
        tenants.dedup();
        // Each id with the tenants: the keys lead with the tenant.
        delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseUntil, Expr::value(lease_until))
            .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
            .filter(delivery::Column::TenantId.is_in(tenants.iter().copied()))
            .filter(delivery::Column::Id.is_in(due.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
        let notifications: HashMap<_, _> = notification::Entity::find()
            .filter(notification::Column::TenantId.is_in(tenants.iter().copied()))
            .filter(notification::Column::Id.is_in(due.iter().map(|d| d.notification_id)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|n| (n.id, n))
            .collect();
        let endpoint_ids: Vec<WebhookEndpointId> =
            due.iter().filter(|d| d.channel == Channel::Webhook).filter_map(|d| d.destination.parse().ok()).collect();
        let endpoints: HashMap<_, _> = if endpoint_ids.is_empty() {
            HashMap::new()
        } else {
            webhook_endpoint::Entity::find()
                .filter(webhook_endpoint::Column::TenantId.is_in(tenants.iter().copied()))
                .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
                .all(&txn)
                .await?
                .into_iter()
                .map(|e| (e.id.to_string(), e))
                .collect()
        };
        let preferences = preference::load(&txn, &tenants).await?;
        txn.commit().await?;
        Ok(due
            .into_iter()
            .filter_map(|mut d| {
                d.lease_until = Some(lease_until);
                d.attempts += 1;
                let notification = notifications.get(&d.notification_id)?.clone();
                let endpoint = endpoints.get(&d.destination).cloned();
                let preferences =
                    preference::effective_for(&preferences, notification.tenant_id, notification.recipient_user_id);
                Some(Claimed { delivery: d, notification, endpoint, preferences })
            })
            .collect())
    }

    /// Sends one claimed delivery; a digest also takes its companions out of
    /// `rest`, the batch still to send.
    async fn deliver(&self, claimed: Claimed, rest: &mut std::collections::VecDeque<Claimed>) -> Result<()> {
        let started = self.clock.now();
        let Claimed { delivery, notification, endpoint, preferences } = claimed;
        let (mut open_token, mut reserved) = (None, false);
        let (channel, priority) = (delivery.channel, notification.priority);
        let tried = if notification.cancelled_at.is_some() {
            Tried::Withdrawn
        } else if let Some(why) = preferences.refuses(channel, priority) {
            Tried::Skipped(why)
        } else if let Some(slot) =
            preferences.digest_slot(channel, priority, is_timely(&notification.topic), notification.created_at)
        {
            if started < slot {
                Tried::Deferred(slot, Hold::Digest)
            } else {
                let (companions, others): (Vec<Claimed>, Vec<Claimed>) =
                    rest.drain(..).partition(|c| same_digest(&delivery, &notification, c, started));
                rest.extend(others);
                let companions = companions.into_iter().map(|c| (c.delivery, c.notification)).collect();
                return self.send_digest(delivery, notification, companions, started).await;
            }
        } else if let Some(until) = preferences.holds(channel, priority, started) {
            Tried::Deferred(until, Hold::QuietHours)
        } else {
            match self.reserve(&delivery, &notification).await? {
                Reservation::Over(why) => Tried::Skipped(why),
                reservation => {
                    reserved = reservation == Reservation::Reserved;
                    match delivery.channel {
                        Channel::InApp => Tried::Sent(Receipt::default()),
                        Channel::Email => self.send_email(&delivery, &notification, &mut open_token).await?,
                        Channel::Sms | Channel::Push => self.send_short(&delivery, &notification).await?,
                        Channel::Webhook => self.send_webhook(&notification, endpoint.as_ref(), started).await,
                    }
                }
            }
        };
        // A unit counted for a message that ends unsent is given back.
        let ends = self.settle(&tried, delivery.attempts).0;
        let unsent = reserved && !matches!(ends, DeliveryStatus::Sent | DeliveryStatus::Pending);
        self.finish(&delivery, &notification, started, (tried, unsent), open_token).await
    }

    pub(crate) async fn finish(
        &self,
        delivery: &delivery::Model,
        notification: &notification::Model,
        started: DateTime<Utc>,
        (tried, give_back): (Tried, bool),
        open_token: Option<String>,
    ) -> Result<()> {
        let now = self.clock.now();
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let number = delivery.attempts;
        if let Tried::Deferred(until, hold) = tried {
            return self.defer(txn, delivery, until, hold, now).await;
        }
        let (status, outcome, response, error) = self.settle(&tried, number);
        if !matches!(tried, Tried::Withdrawn) {
            attempt::Entity::insert(attempt::ActiveModel {
                id: Set(uuid_v7_at(now)),
                tenant_id: Set(delivery.tenant_id),
                delivery_id: Set(delivery.id),
                number: Set(number),
                started_at: Set(started),
                finished_at: Set(now),
                outcome: Set(outcome),
                response: Set(response),
                error: Set(error.clone()),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        let mut update = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(status))
            .col_expr(delivery::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(delivery::Column::LastError, Expr::value(error))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now));
        let open_hash = open_token.filter(|_| matches!(tried, Tried::Sent(_))).map(|t| hash_token(&t));
        match &tried {
            Tried::Sent(receipt) => {
                update = update
                    .col_expr(delivery::Column::SentAt, Expr::value(now))
                    .col_expr(delivery::Column::ProviderMessageId, Expr::value(receipt.provider_message_id.clone()))
                    .col_expr(delivery::Column::OpenTokenHash, Expr::value(open_hash.clone()));
            }
            Tried::Refused(_) if status == DeliveryStatus::Pending => {
                let next = now + self.retry_delay(number, delivery.id.as_uuid());
                update = update.col_expr(delivery::Column::NextAttemptAt, Expr::value(next));
            }
            _ => {}
        }
        // Only while this worker's lease holds: one that lost it (it took too long
        // and another worker claimed the delivery) must not overwrite the outcome.
        let finished = update
            .filter(delivery::Column::TenantId.eq(delivery.tenant_id))
            .filter(delivery::Column::Id.eq(delivery.id))
            .filter(delivery::Column::LeaseUntil.eq(delivery.lease_until))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if finished && let Some(hash) = &open_hash {
            // The pixel's request names no tenant: the directory leads to the row.
            let entry = directory::Entry { tenant_id: Some(delivery.tenant_id), row_id: delivery.id.as_uuid() };
            directory::register(&txn, KeyKind::EmailOpen, hash, entry).await?;
        }
        if finished
            && delivery.channel == Channel::InApp
            && status == DeliveryStatus::Sent
            && let Some(user_id) = notification.recipient_user_id
        {
            announce_in_app(&txn, notification.tenant_id, notification.id, user_id, now).await?;
        }
        if finished && status != DeliveryStatus::Pending {
            forget_secret_once_final(&txn, notification).await?;
        }
        if finished && give_back {
            self.give_back(&txn, delivery, notification).await?;
        }
        if !finished {
            warn!(delivery_id = %delivery.id, "a delivery's lease ran out before it finished; another worker has it");
        }
        commit(txn).await
    }

    /// Puts a delivery back until `until` (the end of quiet hours, the digest's
    /// time) without counting the claim as a try.
    async fn defer(
        &self,
        txn: DatabaseTransaction,
        delivery: &delivery::Model,
        until: DateTime<Utc>,
        hold: Hold,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let note = match hold {
            Hold::QuietHours => format!("held for the recipient's quiet hours until {}", until.to_rfc3339()),
            Hold::Digest => format!("held for the recipient's daily digest at {}", until.to_rfc3339()),
        };
        delivery::Entity::update_many()
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(until))
            .col_expr(delivery::Column::Attempts, Expr::value(delivery.attempts - 1))
            .col_expr(delivery::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(delivery::Column::LastError, Expr::value(note))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
            .filter(delivery::Column::TenantId.eq(delivery.tenant_id))
            .filter(delivery::Column::Id.eq(delivery.id))
            .filter(delivery::Column::LeaseUntil.eq(delivery.lease_until))
            .exec(&txn)
            .await?;
        commit(txn).await
    }

    /// Where a try leaves a delivery (or an account message), and what its
    /// attempt records: (status, outcome, response, error). `number` counts
    /// this try.
    pub(crate) fn settle(
        &self,
        tried: &Tried,
        number: i32,
    ) -> (DeliveryStatus, AttemptOutcome, Option<String>, Option<String>) {
        match tried {
            Tried::Sent(receipt) => (DeliveryStatus::Sent, AttemptOutcome::Sent, receipt.response.clone(), None),
            Tried::Skipped(why) => (DeliveryStatus::Skipped, AttemptOutcome::Skipped, None, Some((*why).to_owned())),
            Tried::Withdrawn | Tried::Deferred(..) => {
                (DeliveryStatus::Cancelled, AttemptOutcome::Skipped, None, Some("withdrawn".into()))
            }
            Tried::Refused(err) if err.permanent || number >= self.config.max_attempts => {
                (DeliveryStatus::Failed, AttemptOutcome::Failed, err.response.clone(), Some(err.message.clone()))
            }
            Tried::Refused(err) => {
                (DeliveryStatus::Pending, AttemptOutcome::Retry, err.response.clone(), Some(err.message.clone()))
            }
        }
    }

    /// The wait before try `attempts + 1`: doubling from the first retry up to the
    /// longest wait, plus up to a fifth more, fixed per delivery, so that
    /// deliveries failing together do not all come back together.
    pub(crate) fn retry_delay(&self, attempts: i32, id: Uuid) -> Duration {
        let doublings = Ord::min(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0), 20);
        let base = (self.config.first_retry * 2_i32.saturating_pow(doublings)).min(self.config.max_retry);
        let spread = i32::from(id.as_bytes()[15] % 20);
        base + base * spread / 100
    }
}

pub(crate) async fn commit(txn: DatabaseTransaction) -> Result<()> {
    txn.commit().await?;
    Ok(())
}
