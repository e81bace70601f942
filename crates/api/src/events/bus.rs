//! The event bus: one broadcast channel per process, optionally fed through Redis.
//!
//! With Redis, publishing appends to one Redis stream, and each process's single
//! reader task delivers what arrives to its local subscribers, so a message
//! published on one replica reaches subscribers on all of them, including its own.
//! A stream, unlike pub/sub, keeps its entries: a reader that lost its connection
//! continues after the last entry it delivered, so a Redis outage delays events but
//! loses none. When Redis is unreachable, publishing fails and the relay keeps the
//! outbox rows for a later attempt. Message ids seen recently are remembered, so a
//! redelivered event is not shown twice. The stream is trimmed to about
//! [`STREAM_MAX_LEN`] entries.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainEvent, SessionId};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::caller::stamps::{AccessStamps, Mark};

/// The Redis stream all replicas share.
pub const REDIS_STREAM: &str = "tessera:events";
/// About how many entries the stream keeps for readers catching up.
pub const STREAM_MAX_LEN: usize = 10_000;
/// How long one blocking read waits for new entries.
const READ_BLOCK: Duration = Duration::from_secs(5);
/// How many delivered ids are remembered for de-duplication.
const RECENT_IDS: usize = 4096;
/// How many messages a slow subscriber may fall behind before it skips ahead.
const LOCAL_CAPACITY: usize = 1024;

/// What travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusMessage {
    /// A committed domain event.
    Domain(DomainEvent),
    /// A session ended: its subscriptions must stop.
    SessionRevoked {
        /// The session.
        session_id: SessionId,
    },
}

impl BusMessage {
    fn dedup_key(&self) -> Option<String> {
        match self {
            Self::Domain(event) => Some(event.id.to_string()),
            // Repeats of a revocation are harmless.
            Self::SessionRevoked { .. } => None,
        }
    }
}

/// Publishes events and hands them to subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    local: broadcast::Sender<Arc<BusMessage>>,
    redis: Option<RedisLink>,
    recent: Mutex<RecentIds>,
    /// Travels with the events: on the same Redis, or in this process.
    stamps: AccessStamps,
}

#[derive(Debug)]
struct RedisLink {
    client: redis::Client,
    publisher: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

#[derive(Debug, Default)]
struct RecentIds {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentIds {
    /// Records `id`; false if it was already there.
    fn insert(&mut self, id: String) -> bool {
        if !self.set.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis did not take the message.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The message could not be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] serde_json::Error),
}

pub(crate) fn redis_config() -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
}

impl EventBus {
    /// A bus for one process.
    pub fn in_process() -> Self {
        Self::build(None, AccessStamps::in_process())
    }

    /// A bus shared by all replicas through Redis at `url`. Connects lazily: a Redis
    /// that is down now does not stop the gateway from starting.
    pub fn with_redis(url: &str, shutdown: CancellationToken) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let stamps = AccessStamps::in_redis(client.clone());
        let bus = Self::build(Some(RedisLink { client, publisher: tokio::sync::Mutex::new(None) }), stamps);
        tokio::spawn(bus.clone().listen_to_redis(shutdown));
        Ok(bus)
    }

    fn build(redis: Option<RedisLink>, stamps: AccessStamps) -> Self {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        Self { inner: Arc::new(Inner { local, redis, recent: Mutex::new(RecentIds::default()), stamps }) }
    }

    /// The access stamps replicas check before reusing a caller's rights.
    pub(crate) fn stamps(&self) -> &AccessStamps {
        &self.inner.stamps
    }

    /// Whether events go through Redis.
    pub fn uses_redis(&self) -> bool {
        self.inner.redis.is_some()
    }

    /// A receiver of every message delivered from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BusMessage>> {
        self.inner.local.subscribe()
    }

    /// How many local subscribers are listening.
    pub fn subscriber_count(&self) -> usize {
        self.inner.local.receiver_count()
    }

    /// Publishes `message` to every replica (or this process).
    pub async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        let Some(redis) = &self.inner.redis else {
            self.deliver_locally(message.clone());
            return Ok(());
        };
        let payload = serde_json::to_string(message)?;
        let mut publisher = redis.publisher.lock().await;
        let connection = match publisher.as_mut() {
            Some(connection) => connection,
            None => publisher.insert(redis.client.get_multiplexed_async_connection_with_config(&redis_config()).await?),
        };
        let sent: Result<String, _> = redis::cmd("XADD")
            .arg(REDIS_STREAM)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg("message")
            .arg(payload)
            .query_async(connection)
            .await;
        if let Err(err) = sent {
            // Reconnect on the next publish.
            *publisher = None;
            return Err(err.into());
        }
        Ok(())
    }

    /// Whether Redis answers (always true without Redis).
    pub async fn redis_is_reachable(&self) -> bool {
        let Some(redis) = &self.inner.redis else { return true };
        let Ok(mut connection) = redis.client.get_multiplexed_async_connection_with_config(&redis_config()).await
        else {
            return false;
        };
        redis::cmd("PING").query_async::<String>(&mut connection).await.is_ok()
    }

    fn deliver_locally(&self, message: BusMessage) {
        if let Some(key) = message.dedup_key() {
            let fresh = self.inner.recent.lock().unwrap_or_else(PoisonError::into_inner).insert(key);
            if !fresh {
                debug!("dropping an event already delivered");
                return;
            }
        }
        // No receivers is not an error: nobody is subscribed right now.
        let _ = self.inner.local.send(Arc::new(message));
    }

    async fn listen_to_redis(self, shutdown: CancellationToken) {
        let Some(redis) = &self.inner.redis else { return };
        // Reads block for READ_BLOCK; the reply may take that long.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(READ_BLOCK + Duration::from_secs(5)));
        // The last entry delivered; reading continues after it across reconnects.
        let mut last_id: Option<String> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            let session = async {
                let mut connection = redis.client.get_multiplexed_async_connection_with_config(&config).await?;
                if last_id.is_none() {
                    // Start at the newest entry: earlier events predate this process.
                    let newest: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
                        .arg(REDIS_STREAM)
                        .arg("+")
                        .arg("-")
                        .arg("COUNT")
                        .arg(1)
                        .query_async(&mut connection)
                        .await?;
                    last_id = Some(newest.ids.first().map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone()));
                }
                info!("reading events from Redis");
                backoff = Duration::from_millis(100);
                loop {
                    let from = last_id.clone().unwrap_or_else(|| "0-0".to_owned());
                    let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
                        .arg("COUNT")
                        .arg(100)
                        .arg("BLOCK")
                        .arg(READ_BLOCK.as_millis() as u64)
                        .arg("STREAMS")
                        .arg(REDIS_STREAM)
                        .arg(&from)
                        .query_async(&mut connection)
                        .await?;
                    for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                        match entry.get::<String>("message").map(|text| serde_json::from_str::<BusMessage>(&text)) {
                            Some(Ok(message)) => self.deliver_locally(message),
                            _ => warn!(id = %entry.id, "ignoring an unreadable bus message"),
                        }
                        last_id = Some(entry.id);
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                result = session => {
                    if let Err(err) = result {
                        warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "lost the Redis event stream; reconnecting");
                        // Stamps set while the link was down may not be seen.
                        self.inner.stamps.forget_kept();
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

/// The identity service tells the bus, after commit, of every session a change
/// ended: each is marked ended, so no replica takes its token from memory any
/// more, and its subscriptions stop on every replica. A notice lost to a Redis
/// outage is covered by each socket's periodic session check, and a mark by
/// the expiry of every remembered session.
impl tessera_identity::SessionEndings for EventBus {
    fn ended<'a>(&'a self, sessions: &'a [SessionId]) -> tessera_identity::EndingsFuture<'a> {
        Box::pin(async move {
            let marks: Vec<Mark> = sessions.iter().map(|id| Mark::Ended(*id)).collect();
            self.inner.stamps.bump(&marks).await;
            for &session_id in sessions {
                if let Err(err) = self.publish(&BusMessage::SessionRevoked { session_id }).await {
                    warn!(error = %err, "could not announce an ended session; sockets notice at their next check");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_kernel::event::EventKind;
    use tessera_kernel::{Clock, SystemClock, TenantId};

    #[tokio::test]
    async fn an_event_published_twice_is_delivered_once() {
        let bus = EventBus::in_process();
        let mut receiver = bus.subscribe();
        let now = SystemClock.now();
        let event = DomainEvent::new(
            now,
            TenantId::generate(now),
            EventKind::TenantUpdated,
            uuid::Uuid::nil(),
            serde_json::json!({}),
        );
        bus.publish(&BusMessage::Domain(event.clone())).await.expect("published");
        bus.publish(&BusMessage::Domain(event)).await.expect("published");
        assert!(receiver.try_recv().is_ok());
        assert!(receiver.try_recv().is_err(), "the repeat must be dropped");
    }
}
