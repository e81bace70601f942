//! What every provider's HTTP client shares: one `reqwest` client per
//! gateway (rustls, no redirects, a timeout per attempt), the line between a
//! request that never left this machine and one whose answer was lost, and
//! retrying with the same idempotency key.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{GatewayError, GatewayResult};

/// How a client retries what may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a retryable failure is tried again.
    pub max_retries: u32,
    /// The first pause before a retry; each next one doubles.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 2, backoff: Duration::from_millis(250) }
    }
}

/// The HTTP client a gateway sends with: `timeout` per attempt, redirects
/// never followed (a provider does not redirect an API call; following one
/// would resend the key elsewhere).
pub(crate) fn client(provider: &str, timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the {provider} client could not be built: {e}"))
}

/// Runs `attempt` until it succeeds, fails for good, or the retries are
/// spent. Every attempt is the same request, with the same idempotency key.
pub(crate) async fn with_retries<F, Fut>(policy: RetryPolicy, mut attempt: F) -> GatewayResult<Value>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = GatewayResult<Value>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(err) if err.retryable() && tries < policy.max_retries => {
                tokio::time::sleep(policy.backoff * 2u32.pow(tries)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Sends one request and reads its JSON answer. A request that could not
/// connect is [`GatewayError::Transient`] (nothing reached the provider); one
/// sent without an answer, or with a success that cannot be read, is
/// [`GatewayError::Unknown`] (the provider may have acted). A failed answer
/// comes back as its status and body for the provider's own reading.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> GatewayResult<Result<Value, (StatusCode, Value)>> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) if err.is_connect() => return Err(GatewayError::Transient(err.to_string())),
        Err(err) => return Err(GatewayError::Unknown(err.to_string())),
    };
    let status = response.status();
    match response.json::<Value>().await {
        Ok(body) if status.is_success() => Ok(Ok(body)),
        Err(err) if status.is_success() => Err(GatewayError::Unknown(err.to_string())),
        Ok(body) => Ok(Err((status, body))),
        Err(_) => Ok(Err((status, Value::Null))),
    }
}

/// A string field of an answer, which must be there.
pub(crate) fn field(value: &Value, name: &str) -> GatewayResult<String> {
    value[name].as_str().map(str::to_owned).ok_or_else(|| GatewayError::Unknown(format!("the answer has no `{name}`")))
}
