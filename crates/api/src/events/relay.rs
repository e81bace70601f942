//! The outbox relay: publishes committed events, then marks them published.
//!
//! It wakes when a request that wrote an event kicks it, and every poll interval
//! (to pick up rows left by a failed publish or another replica). A batch is marked
//! published only after every event in it went out, so a failure re-sends rather
//! than loses; the bus drops the resulting duplicates. On PostgreSQL one replica
//! relays at a time (an advisory lock the others wait for), so they do not relay
//! the same batch at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use sea_orm::DbErr;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::{claim_unpublished, delete_published_before, mark_published};
use tessera_kernel::{Db, SharedClock};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::{BusMessage, EventBus};
use crate::caller::stamps::Mark;

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
    let txn = db.begin(Scope::Maintenance, Access::Write).await?;
    delete_published_before(&txn, clock.now() - KEEP_PUBLISHED).await?;
    txn.commit().await?;
    Ok(())
}

async fn relay_batch(db: &Db, bus: &EventBus, clock: &SharedClock) -> Result<u64, RelayError> {
    let txn = db.begin(Scope::Maintenance, Access::Write).await?;
    let claimed = claim_unpublished(&txn, BATCH).await?;
    // Stamped before the events go out: a replica that receives one re-reads
    // the rights it rests on. The request that made the change stamped them
    // already; this covers changes made elsewhere (the CLI, background jobs).
    let changed: Vec<Mark> = claimed
        .iter()
        .filter_map(|row| row.event.as_ref())
        .filter(|event| event.kind.changes_access())
        .map(|event| Mark::Tenant(event.tenant_id))
        .collect();
    bus.stamps().bump(&changed).await;
    for row in &claimed {
        match &row.event {
            Some(event) => bus.publish(&BusMessage::Domain(event.clone())).await?,
            None => warn!(id = %row.id, kind = row.kind, "skipping an outbox row of unknown kind"),
        }
    }
    mark_published(&txn, &claimed, clock.now()).await?;
    txn.commit().await?;
    Ok(claimed.len() as u64)
}
