//! Stripe's webhook signatures (<https://docs.stripe.com/webhooks#verify-manually>).
//!
//! `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=…]`, where each `v1` is
//! HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint's secret. A delivery
//! is genuine when one `v1` matches one of the secrets (two while a secret is
//! rolled) and `t` is within [`TOLERANCE`] of now, so a captured delivery
//! cannot be replayed later. Comparison is in constant time.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's time may be from now.
pub const TOLERANCE: Duration = Duration::seconds(300);

/// Why a delivery is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header, or one that is not `t=…,v1=…`.
    #[error("the signature header is missing or malformed")]
    Malformed,
    /// No signature matches a secret.
    #[error("no signature matches")]
    BadSignature,
    /// The signature's time is too far from now.
    #[error("the signature is too old or from the future")]
    OutOfTolerance,
    /// The body is not a Stripe event.
    #[error("the body is not an event")]
    NotAnEvent,
}

/// What Tessera reads of a Stripe event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    /// `evt_…`.
    pub id: String,
    /// `payment_intent.succeeded`.
    pub kind: String,
    /// The object's id (`pi_…`).
    pub object_id: Option<String>,
    /// The object's metadata.
    pub metadata: Vec<(String, String)>,
    /// The connected account it happened on (`acct_…`), for an event of a
    /// business's own account.
    pub account: Option<String>,
}

/// Checks `header` over `body` against `secrets` at `now`.
pub fn verify(secrets: &[String], header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(decode_hex(value).ok_or(WebhookError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    let matches = secrets.iter().any(|secret| {
        signatures.iter().any(|signature| signer(secret, timestamp, body).verify_slice(signature).is_ok())
    });
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    let at = DateTime::from_timestamp(timestamp, 0).ok_or(WebhookError::Malformed)?;
    if (now - at).abs() > TOLERANCE {
        return Err(WebhookError::OutOfTolerance);
    }
    Ok(())
}

/// The `Stripe-Signature` header Stripe would send for `body` at `at` under
/// `secret` (for tests, and for replaying an event by hand).
pub fn signature_header(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let timestamp = at.timestamp();
    let signature = signer(secret, timestamp, body).finalize().into_bytes();
    let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Reads the event in `body`.
pub fn parse(body: &[u8]) -> Result<StripeEvent, WebhookError> {
    #[derive(Deserialize)]
    struct Event {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        data: Data,
        account: Option<String>,
    }
    #[derive(Deserialize)]
    struct Data {
        object: Object,
    }
    #[derive(Deserialize)]
    struct Object {
        id: Option<String>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let event: Event = serde_json::from_slice(body).map_err(|_| WebhookError::NotAnEvent)?;
    let bounded = |s: &str| !s.is_empty() && s.len() <= 255;
    if !bounded(&event.id)
        || event.kind.is_empty()
        || event.kind.len() > 100
        || event.account.as_deref().is_some_and(|a| !bounded(a))
    {
        return Err(WebhookError::NotAnEvent);
    }
    let metadata =
        event.data.object.metadata.into_iter().filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned()))).collect();
    Ok(StripeEvent {
        id: event.id,
        kind: event.kind,
        object_id: event.data.object.id,
        metadata,
        account: event.account,
    })
}

fn signer(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","metadata":{"tessera_payment":"p"}}}}"#;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_signature_under_either_secret_within_five_minutes_is_genuine() {
        let secrets = ["whsec_new".to_owned(), "whsec_old".to_owned()];
        for secret in &secrets {
            let header = signature_header(secret, now() - Duration::seconds(299), BODY);
            assert_eq!(verify(&secrets, Some(&header), BODY, now()), Ok(()));
        }
    }

    #[test]
    fn a_wrong_secret_a_changed_body_or_an_old_signature_is_refused() {
        let secrets = ["whsec_right".to_owned()];
        let wrong = signature_header("whsec_wrong", now(), BODY);
        assert_eq!(verify(&secrets, Some(&wrong), BODY, now()), Err(WebhookError::BadSignature));
        let right = signature_header("whsec_right", now(), BODY);
        let changed = [BODY, b" "].concat();
        assert_eq!(verify(&secrets, Some(&right), &changed, now()), Err(WebhookError::BadSignature));
        let old = signature_header("whsec_right", now() - Duration::seconds(301), BODY);
        assert_eq!(verify(&secrets, Some(&old), BODY, now()), Err(WebhookError::OutOfTolerance));
        for header in [None, Some("v1=00"), Some("t=1"), Some("t=1,v1=zz")] {
            assert_eq!(verify(&secrets, header, BODY, now()), Err(WebhookError::Malformed), "{header:?}");
        }
    }

    #[test]
    fn an_event_is_read_for_its_id_kind_object_and_metadata() {
        let event = parse(BODY).unwrap_or_else(|_| unreachable!());
        assert_eq!((event.id.as_str(), event.kind.as_str()), ("evt_1", "payment_intent.succeeded"));
        assert_eq!(event.object_id.as_deref(), Some("pi_1"));
        assert_eq!(event.metadata, [("tessera_payment".to_owned(), "p".to_owned())]);
        assert_eq!(parse(b"{}"), Err(WebhookError::NotAnEvent));
    }
}
