//! Change stamps: how replicas tell each other, before they answer, that a
//! caller's remembered session or rights may be out of date.
//!
//! A change that could alter someone's rights in a tenant sets that tenant's
//! stamp to a new value; a session, API key or client that ends leaves an
//! ended mark. Both are written after the change commits and before the
//! request that made it is answered, so the caller's next request on any
//! replica reads the new stamp and resolves again. With Redis the stamps are
//! shared keys; without it they live in this process (one gateway per
//! database, as events are). Stamps are random values rather than counters, so
//! a Redis that restarts empty can never hand back a value a stale answer was
//! kept under. Redis forgets them after [`FORGET_AFTER`]; this process keeps
//! at most [`LOCAL_STAMPS`] (see there), in both cases longer than any answer
//! kept under them lives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use tessera_kernel::{SessionId, TenantId};
use tracing::warn;

use crate::events::link::RedisLink;

/// How long Redis keeps a stamp; answers are kept far shorter (at most an hour).
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How many stamps this process keeps. When full it forgets those older than
/// [`LOCAL_FORGET_AFTER`] (no answer kept before them lives that long, so
/// forgetting one can only make an answer unusable, never wrongly usable),
/// and when that frees nothing, all of them, with a new epoch.
const LOCAL_STAMPS: usize = 50_000;
/// Longer than any answer is kept (rights at most an hour, sessions a minute).
const LOCAL_FORGET_AFTER: Duration = Duration::from_secs(2 * 3600);

/// What a stamp is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mark {
    /// Rights in the tenant (and, for its owners, in the children it manages).
    Tenant(TenantId),
    /// The session, API key or partner client ended; it never lives again.
    Ended(SessionId),
}

impl Mark {
    fn key(self) -> String {
        match self {
            Self::Tenant(id) => format!("tessera:access:tenant:{id}"),
            Self::Ended(id) => format!("tessera:access:ended:{id}"),
        }
    }
}

/// A mark's current value; `None` when it was never set (or was forgotten).
pub(crate) type Stamp = Option<u64>;

/// The stamps, in Redis or in this process.
#[derive(Debug)]
pub(crate) struct AccessStamps {
    store: Store,
    /// Counts the times this process may have missed a stamp (Redis failed
    /// or its event stream was lost): an answer kept in an earlier epoch is not
    /// reused.
    epoch: AtomicU64,
}

#[derive(Debug)]
enum Store {
    Local(Mutex<HashMap<Mark, (u64, Instant)>>),
    Redis(Box<RedisLink>),
}

/// How long Redis is left alone after it failed: meanwhile requests read
/// rights from the database.
const QUIET: Duration = Duration::from_secs(1);

impl AccessStamps {
    /// Stamps for one process.
    pub(crate) fn in_process() -> Self {
        Self { store: Store::Local(Mutex::default()), epoch: AtomicU64::new(0) }
    }

    /// Stamps shared by every replica using the Redis of `client`.
    pub(crate) fn in_redis(client: redis::Client) -> Self {
        Self { store: Store::Redis(Box::new(RedisLink::new(client, QUIET))), epoch: AtomicU64::new(0) }
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Starts a new epoch: whatever was kept before may have missed a stamp.
    pub(crate) fn forget_kept(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The current stamps of `marks`, in order; `None` when they cannot be read
    /// now (the caller then resolves from the database and keeps nothing).
    pub(crate) async fn read(&self, marks: &[Mark]) -> Option<Vec<Stamp>> {
        if marks.is_empty() {
            return Some(Vec::new());
        }
        match &self.store {
            Store::Local(stamps) => {
                let stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
                Some(marks.iter().map(|mark| stamps.get(mark).map(|(value, _)| *value)).collect())
            }
            Store::Redis(_) => {
                let mut command = redis::cmd("MGET");
                for mark in marks {
                    command.arg(mark.key());
                }
                let mut connection = self.connection().await?;
                let answer = command.query_async(&mut connection).await;
                self.judge(answer).await
            }
        }
    }

    /// Gives each of `marks` a new stamp. A failure is logged, not returned: the
    /// change has committed, and what covers a missed stamp is the relay (which
    /// stamps a tenant again when it publishes the change's event), this
    /// process's new epoch, and every kept answer's expiry.
    pub(crate) async fn bump(&self, marks: &[Mark]) {
        if marks.is_empty() {
            return;
        }
        let fresh = || uuid::Uuid::now_v7().as_u64_pair().1;
        match &self.store {
            Store::Local(stamps) => {
                let mut stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                if stamps.len() + marks.len() > LOCAL_STAMPS {
                    stamps.retain(|_, (_, set_at)| now.duration_since(*set_at) < LOCAL_FORGET_AFTER);
                }
                if stamps.len() + marks.len() > LOCAL_STAMPS {
                    stamps.clear();
                    self.forget_kept();
                }
                for mark in marks {
                    stamps.insert(*mark, (fresh(), now));
                }
            }
            Store::Redis(_) => {
                let mut pipeline = redis::pipe();
                for mark in marks {
                    pipeline.cmd("SET").arg(mark.key()).arg(fresh()).arg("EX").arg(FORGET_AFTER.as_secs()).ignore();
                }
                let stamped = match self.connection().await {
                    Some(mut connection) => {
                        let answer = pipeline.query_async::<()>(&mut connection).await;
                        self.judge(answer).await
                    }
                    None => None,
                };
                if stamped.is_none() {
                    warn!(marks = marks.len(), "could not stamp an access change; other replicas notice it later");
                }
            }
        }
    }

    /// The shared Redis connection, connecting when there is none.
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let Store::Redis(redis) = &self.store else { return None };
        match redis.connection().await {
            Ok(connection) => connection,
            Err(err) => {
                self.failed(&err);
                None
            }
        }
    }

    /// `answer`'s value; after a failure, the connection is dropped (the next
    /// call reconnects) and a new epoch starts.
    async fn judge<T>(&self, answer: redis::RedisResult<T>) -> Option<T> {
        match answer {
            Ok(value) => Some(value),
            Err(err) => {
                if let Store::Redis(redis) = &self.store {
                    redis.failed().await;
                }
                self.failed(&err);
                None
            }
        }
    }

    fn failed(&self, err: &redis::RedisError) {
        warn!(error = %err, "Redis did not answer for access stamps; rights are read from the database");
        self.forget_kept();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_process_keeps_a_bounded_number_of_stamps_and_trusts_nothing_older_once_it_forgets() {
        let stamps = AccessStamps::in_process();
        let first = Mark::Tenant(TenantId(uuid::Uuid::now_v7()));
        stamps.bump(&[first]).await;
        let epoch = stamps.epoch();
        // More changes than it keeps, faster than any ages out.
        for _ in 0..LOCAL_STAMPS + 10 {
            stamps.bump(&[Mark::Ended(SessionId(uuid::Uuid::now_v7()))]).await;
        }
        let Store::Local(kept) = &stamps.store else { unreachable!("an in-process store") };
        assert!(kept.lock().unwrap_or_else(PoisonError::into_inner).len() <= LOCAL_STAMPS);
        // The first stamp was forgotten, so what was kept under it is not reused.
        assert_eq!(stamps.read(&[first]).await, Some(vec![None]));
        assert!(stamps.epoch() > epoch, "a new epoch once stamps younger than any kept answer were dropped");
    }
}
