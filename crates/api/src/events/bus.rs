//! The event bus: one broadcast channel per process, optionally fed through Redis.
//!
//! With Redis, publishing goes to the channel only, and each process's single
//! subscription task delivers what arrives to its local subscribers, so a message
//! published on one replica reaches subscribers on all of them, including its own.
//! When Redis is unreachable, publishing fails and the relay keeps the outbox rows
//! for a later attempt; the subscription task reconnects with backoff. Message ids
//! seen recently are remembered, so a redelivered event is not shown twice.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainEvent, SessionId};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// The Redis channel all replicas share.
pub const REDIS_CHANNEL: &str = "tessera:events";
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

fn redis_config() -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
}

impl EventBus {
    /// A bus for one process.
    pub fn in_process() -> Self {
        Self::build(None)
    }

    /// A bus shared by all replicas through Redis at `url`. Connects lazily: a Redis
    /// that is down now does not stop the gateway from starting.
    pub fn with_redis(url: &str, shutdown: CancellationToken) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let bus = Self::build(Some(RedisLink { client, publisher: tokio::sync::Mutex::new(None) }));
        tokio::spawn(bus.clone().listen_to_redis(shutdown));
        Ok(bus)
    }

    fn build(redis: Option<RedisLink>) -> Self {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        Self { inner: Arc::new(Inner { local, redis, recent: Mutex::new(RecentIds::default()) }) }
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
        let sent: Result<usize, _> = connection.publish(REDIS_CHANNEL, payload).await;
        if let Err(err) = sent {
            // Reconnect on the next publish.
            *publisher = None;
            return Err(err.into());
        }
        Ok(())
    }

    /// Publishes without waiting, logging a failure (for notices whose loss is
    /// covered elsewhere, such as session revocation, which subscriptions re-check).
    pub fn publish_now(&self, message: BusMessage) {
        let bus = self.clone();
        tokio::spawn(async move {
            if let Err(err) = bus.publish(&message).await {
                warn!(error = %err, "could not publish bus message");
            }
        });
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
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = async {
                let mut pubsub = redis.client.get_async_pubsub().await?;
                pubsub.subscribe(REDIS_CHANNEL).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::select! {
                () = shutdown.cancelled() => return,
                result = attempt => result,
            };
            match pubsub {
                Ok(pubsub) => {
                    info!("listening for events on Redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.into_on_message();
                    loop {
                        let next = tokio::select! {
                            () = shutdown.cancelled() => return,
                            next = messages.next() => next,
                        };
                        let Some(message) = next else { break };
                        let decoded = message
                            .get_payload::<String>()
                            .map_err(|e| e.to_string())
                            .and_then(|text| serde_json::from_str::<BusMessage>(&text).map_err(|e| e.to_string()));
                        match decoded {
                            Ok(message) => self.deliver_locally(message),
                            Err(err) => warn!(error = %err, "ignoring an unreadable bus message"),
                        }
                    }
                    warn!("lost the Redis event subscription; reconnecting");
                }
                Err(err) => warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot subscribe to Redis"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
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
