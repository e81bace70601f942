//! One shared Redis connection for a part of the gateway that can do without
//! Redis for a while (access stamps, rate limits): opened when first needed,
//! shared by every request (commands are pipelined on it), dropped after a
//! failure, and left alone for a quiet time so requests go straight to their
//! fallback instead of each waiting on a dead link.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::bus::redis_config;

/// A lazily opened connection and its quiet time.
#[derive(Debug)]
pub(crate) struct RedisLink {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    quiet_until: Mutex<Option<Instant>>,
    quiet: Duration,
}

impl RedisLink {
    /// A link to the Redis of `client`, left alone for `quiet` after a failure.
    pub(crate) fn new(client: redis::Client, quiet: Duration) -> Self {
        Self { client, connection: tokio::sync::Mutex::new(None), quiet_until: Mutex::new(None), quiet }
    }

    /// The connection, connecting when there is none; `Ok(None)` during the
    /// quiet time. A failure to connect starts one and is returned.
    pub(crate) async fn connection(&self) -> redis::RedisResult<Option<MultiplexedConnection>> {
        let quiet = *self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner);
        if quiet.is_some_and(|until| Instant::now() < until) {
            return Ok(None);
        }
        let mut kept = self.connection.lock().await;
        if let Some(connection) = kept.as_ref() {
            return Ok(Some(connection.clone()));
        }
        match self.client.get_multiplexed_async_connection_with_config(&redis_config()).await {
            Ok(connection) => Ok(Some(kept.insert(connection).clone())),
            Err(err) => {
                drop(kept);
                self.failed().await;
                Err(err)
            }
        }
    }

    /// After a failure: the connection is dropped (the next call after the
    /// quiet time reconnects).
    pub(crate) async fn failed(&self) {
        *self.connection.lock().await = None;
        *self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + self.quiet);
    }
}
