//! Passkey ceremony state in Redis, when Redis is configured: every replica
//! sees it, it expires by itself, and `GETDEL` hands it to exactly one taker.
//! Without Redis, identity keeps it in the database.

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use tessera_identity::{CeremonyFuture, CeremonyStore};
use tessera_kernel::{DomainError, Result};
use tokio::sync::Mutex;

use crate::events::bus::redis_config;

/// Keys are `tessera:webauthn:<purpose>:<hash of the ceremony token>`.
const KEY_PREFIX: &str = "tessera:webauthn:";

/// What is stored: the state and when it ends by the gateway's clock (which
/// tests move), besides Redis's own expiry (which cleans up).
#[derive(Serialize, Deserialize)]
struct Entry {
    expires_at: DateTime<Utc>,
    state: String,
}

/// Ceremony state in Redis.
#[derive(Debug)]
pub struct RedisCeremonies {
    client: redis::Client,
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl RedisCeremonies {
    /// A store on the Redis at `url`.
    pub fn new(url: &str) -> std::result::Result<Self, redis::RedisError> {
        Ok(Self { client: redis::Client::open(url)?, connection: Mutex::new(None) })
    }

    async fn connection(&self) -> Result<MultiplexedConnection> {
        let mut cached = self.connection.lock().await;
        if let Some(connection) = cached.as_ref() {
            return Ok(connection.clone());
        }
        let connection =
            self.client.get_multiplexed_async_connection_with_config(&redis_config()).await.map_err(unavailable)?;
        Ok(cached.insert(connection).clone())
    }

    /// Runs `command`, dropping the connection after a failure so the next call
    /// reconnects.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T> {
        let mut connection = self.connection().await?;
        let answer = command.query_async(&mut connection).await;
        if answer.is_err() {
            *self.connection.lock().await = None;
        }
        answer.map_err(unavailable)
    }
}

fn unavailable(err: redis::RedisError) -> DomainError {
    DomainError::Internal(format!("redis (passkey ceremonies): {err}"))
}

impl CeremonyStore for RedisCeremonies {
    fn put<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> CeremonyFuture<'a, ()> {
        Box::pin(async move {
            let entry = serde_json::to_string(&Entry { expires_at, state: state.to_owned() })
                .map_err(|e| DomainError::Internal(format!("ceremony entry: {e}")))?;
            let ttl_ms = (expires_at - now).num_milliseconds().max(1);
            let mut command = redis::cmd("SET");
            command.arg(format!("{KEY_PREFIX}{key}")).arg(entry).arg("PX").arg(ttl_ms);
            self.run::<()>(&command).await
        })
    }

    fn take<'a>(&'a self, key: &'a str, now: DateTime<Utc>) -> CeremonyFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut command = redis::cmd("GETDEL");
            command.arg(format!("{KEY_PREFIX}{key}"));
            let Some(raw) = self.run::<Option<String>>(&command).await? else { return Ok(None) };
            let entry: Entry =
                serde_json::from_str(&raw).map_err(|e| DomainError::Internal(format!("ceremony entry: {e}")))?;
            Ok((entry.expires_at > now).then_some(entry.state))
        })
    }
}
