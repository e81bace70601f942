//! Driving the real server over HTTP: N clients, each sending its next request
//! as soon as the last one answered, for a fixed window; and the same loop for
//! the baselines, so every row is measured the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::{Failure, fail};

/// What one measurement found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    /// Completed requests per second, over all clients.
    pub(crate) per_second: f64,
    /// Median latency, in milliseconds.
    pub(crate) p50_ms: f64,
    /// 99th-percentile latency, in milliseconds.
    pub(crate) p99_ms: f64,
}

/// The `q` quantile of sorted durations, in milliseconds.
pub(crate) fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs `work` from `clients` concurrent tasks for a fifth of `window` (to warm
/// pools and caches), then for `window`, and reports the second run.
pub(crate) async fn drive<F, Fut>(clients: usize, window: Duration, work: F) -> Result<Run, Failure>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    run_for(clients, window / 5, work.clone()).await?;
    run_for(clients, window, work).await
}

async fn run_for<F, Fut>(clients: usize, window: Duration, work: F) -> Result<Run, Failure>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    let started = Instant::now();
    let deadline = started + window;
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let work = work.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                work().await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, Failure>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    Ok(Run { per_second: all.len() as f64 / elapsed, p50_ms: quantile_ms(&all, 0.5), p99_ms: quantile_ms(&all, 0.99) })
}

/// A GraphQL client of the gateway under test.
#[derive(Clone)]
pub(crate) struct Gateway {
    client: reqwest::Client,
    url: Arc<str>,
    token: Arc<str>,
    tenant: Arc<str>,
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum As {
    /// No token, no tenant.
    Anonymous,
    /// The owner's token and `X-Tenant`.
    Owner,
}

impl Gateway {
    /// A client of the gateway at `base` (`http://127.0.0.1:port`).
    pub(crate) fn new(base: &str, token: &str, tenant: &str) -> Result<Self, Failure> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        Ok(Self { client, url: format!("{base}/graphql").into(), token: token.into(), tenant: tenant.into() })
    }

    /// The request body for `query`, made once and sent many times.
    pub(crate) fn body(query: &str) -> Arc<str> {
        serde_json::json!({ "query": query }).to_string().into()
    }

    /// Sends `body` as `who`; fails on anything but a clean 200 answer.
    pub(crate) async fn send(&self, body: Arc<str>, who: As) -> Result<(), Failure> {
        let mut request = self
            .client
            .post(&*self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string());
        if who == As::Owner {
            request = request.bearer_auth(&*self.token).header("x-tenant", &*self.tenant);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if status != reqwest::StatusCode::OK || bytes.windows(9).any(|w| w == b"\"errors\":") {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(fail(format!("the gateway answered {status}: {shown}")));
        }
        Ok(())
    }
}
