//! `POST /webhooks/payments/{provider}/{endpoint}`: events from payment
//! providers.
//!
//! Two exist, each only when its signing secret is set; anything else is
//! 404: `stripe/platform` (the platform's own Stripe account, what
//! businesses pay the platform) and `stripe/connect` (Stripe Connect's
//! endpoint for businesses' own accounts: their customers' booking
//! payments; each event names its account, kept with it, and applied only
//! to a payment made on that account). A delivery is verified before anything is read of
//! it (signature and time, `billing::gateway::stripe_webhook`); one that does
//! not verify is 400, and past a few a minute from one address, 429. A
//! verified event is kept once (a repeated delivery is answered 200 and
//! dropped) and applied in the background, so the provider hears back at
//! once; the billing job applies what is left. A body over 256 KiB is 413:
//! Stripe's events are far smaller.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use tessera_billing::gateway::stripe_webhook;
use tessera_billing::{PLATFORM_ACCOUNT, PaymentProvider};
use tessera_kernel::RequestMeta;
use tracing::warn;

use super::AppState;

/// The endpoint of businesses' own accounts (Stripe Connect).
const CONNECT: &str = "connect";

/// The largest event accepted.
const MAX_EVENT_BYTES: usize = 256 * 1024;

fn answer(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "message": message }))).into_response()
}

/// Receives one delivery.
pub(crate) async fn receive(
    State(app): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path((provider, endpoint)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = &app.config;
    let secrets: Vec<String> = match endpoint.as_str() {
        PLATFORM_ACCOUNT => [&config.stripe_webhook_secret, &config.stripe_webhook_previous_secret]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        CONNECT => config.stripe_connect_webhook_secret.iter().cloned().collect(),
        _ => Vec::new(),
    };
    if provider != "stripe" || secrets.is_empty() {
        return answer(StatusCode::NOT_FOUND, "no such webhook endpoint");
    }
    if body.len() > MAX_EVENT_BYTES {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "the event is too large");
    }
    let now = app.services.clock.now();
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let verified = stripe_webhook::verify(&secrets, signature, &body, now).and_then(|()| stripe_webhook::parse(&body));
    let event = match verified {
        Ok(event) => event,
        Err(why) => {
            let client = tessera_identity::client_key(meta.ip.as_deref()).unwrap_or_else(|| "unknown".into());
            warn!(%client, %why, "a payment webhook delivery did not verify");
            if let Some(seconds) = app.rate_limits.unverified_delivery(&client, now).await {
                let mut refused = answer(StatusCode::TOO_MANY_REQUESTS, "too many deliveries that do not verify");
                if let Ok(value) = seconds.to_string().parse() {
                    refused.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return refused;
            }
            return answer(StatusCode::BAD_REQUEST, &why.to_string());
        }
    };
    // A Connect event says which business's account it happened on; one
    // that does not is not a Connect event.
    let account = match (endpoint.as_str(), event.account.as_deref()) {
        (CONNECT, Some(account)) => account.to_owned(),
        (CONNECT, None) => return answer(StatusCode::BAD_REQUEST, "a Connect event names its account"),
        _ => PLATFORM_ACCOUNT.to_owned(),
    };
    let payload = String::from_utf8_lossy(&body);
    let billing = &app.services.billing;
    match billing.receive_event(PaymentProvider::Stripe, &account, &event, &payload, now).await {
        Ok(Some(id)) => {
            let services = app.services.clone();
            tokio::spawn(async move {
                if let Err(err) = services.billing.apply_event(id, services.clock.now()).await {
                    warn!(%id, error = %err, "a payment event will be applied by the billing job");
                }
            });
            answer(StatusCode::OK, "received")
        }
        Ok(None) => answer(StatusCode::OK, "received already"),
        Err(err) => {
            warn!(error = ?err, "a payment event could not be kept; the provider will deliver it again");
            answer(StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    }
}
