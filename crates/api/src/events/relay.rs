//! The outbox relay: publishes committed events, then marks them published.
//!
//! It wakes when a request that wrote an event kicks it, and every poll interval
//! (to pick up rows left by a failed publish or another replica). A batch is marked
//! published only after every event in it went out, so a failure re-sends rather
//! than loses; the bus drops the resulting duplicates. On PostgreSQL, replicas lock
//! rows with `SKIP LOCKED` so they do not relay the same batch at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::{EventKind, OUTBOX_TABLE};
use tessera_kernel::{Backend, Db, DomainEvent, SharedClock, TenantId};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use super::{BusMessage, EventBus};

const BATCH: u64 = 100;
/// Published rows are kept this long (for inspection), then deleted.
const KEEP_PUBLISHED: ChronoDuration = ChronoDuration::hours(24);
/// How often published rows are cleaned up.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);

/// Wakes the relay.
#[derive(Debug, Clone, Default)]
pub struct RelayHandle {
    wake: Arc<Notify>,
}

impl RelayHandle {
    /// Asks the relay to look at the outbox now (after a write committed).
    pub fn kick(&self) {
        self.wake.notify_one();
    }
}

/// Starts the relay; it stops when `shutdown` is cancelled.
pub fn spawn_relay(
    db: Db,
    bus: EventBus,
    clock: SharedClock,
    poll_interval: Duration,
    shutdown: CancellationToken,
) -> (RelayHandle, JoinHandle<()>) {
    let handle = RelayHandle::default();
    let wake = handle.wake.clone();
    let task = tokio::spawn(async move {
        let mut failures = 0u32;
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(poll_interval) => {}
            }
            let cleanup_due = last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY);
            match relay_until_empty(&db, &bus, &clock, cleanup_due).await {
                Ok(()) => {
                    failures = 0;
                    if cleanup_due {
                        last_cleanup = Some(tokio::time::Instant::now());
                    }
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    warn!(error = %err, failures, "outbox relay failed; retrying");
                    let backoff = Duration::from_millis(200 * u64::from(Ord::min(failures, 25)));
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
    });
    (handle, task)
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("publish: {0}")]
    Publish(#[from] super::bus::BusError),
}

async fn relay_until_empty(db: &Db, bus: &EventBus, clock: &SharedClock, cleanup: bool) -> Result<(), RelayError> {
    while relay_batch(db, bus, clock).await? == BATCH {}
    if !cleanup {
        return Ok(());
    }
    let cutoff = clock.now() - KEEP_PUBLISHED;
    let cleanup = Query::delete()
        .from_table(Alias::new(OUTBOX_TABLE))
        .and_where(Expr::col(Alias::new("published_at")).lt(cutoff))
        .to_owned();
    let txn = db.begin(Scope::Maintenance, Access::Write).await?;
    txn.execute(&cleanup).await?;
    txn.commit().await?;
    Ok(())
}

async fn relay_batch(db: &Db, bus: &EventBus, clock: &SharedClock) -> Result<u64, RelayError> {
    let txn = db.begin(Scope::Maintenance, Access::Write).await?;
    let mut select = Query::select();
    select
        .columns(["id", "tenant_id", "kind", "subject_id", "payload", "occurred_at"].map(Alias::new))
        .from(Alias::new(OUTBOX_TABLE))
        .and_where(Expr::col(Alias::new("published_at")).is_null())
        .order_by(Alias::new("id"), Order::Asc)
        .limit(BATCH);
    if db.backend() == Backend::Postgres {
        select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = txn.query_all(&select).await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: Uuid = row.try_get("", "id")?;
        let kind: String = row.try_get("", "kind")?;
        let payload: String = row.try_get("", "payload")?;
        ids.push(id);
        let Some(kind) = EventKind::parse(&kind) else {
            warn!(%id, kind, "skipping an outbox row of unknown kind");
            continue;
        };
        let event = DomainEvent {
            id,
            tenant_id: TenantId(row.try_get("", "tenant_id")?),
            kind,
            subject_id: row.try_get("", "subject_id")?,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            occurred_at: row.try_get("", "occurred_at")?,
        };
        bus.publish(&BusMessage::Domain(event)).await?;
    }
    if !ids.is_empty() {
        let mark = Query::update()
            .table(Alias::new(OUTBOX_TABLE))
            .value(Alias::new("published_at"), clock.now())
            .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
            .to_owned();
        txn.execute(&mark).await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}
