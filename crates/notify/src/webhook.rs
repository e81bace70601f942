//! Signed webhooks, after the Standard Webhooks specification.
//!
//! Each POST carries `webhook-id` (the notification's id, the same on every
//! retry, so receivers drop repeats), `webhook-timestamp` (Unix seconds, so they
//! can refuse stale or replayed requests) and `webhook-signature`: `v1,` and the
//! base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the endpoint's secret.
//! After a rotation the previous secret signs too, for a grace period, so a
//! receiver can switch keys without losing events.
//!
//! The client refuses to reach loopback, private, link-local and other internal
//! addresses (unless configured for development), checking every resolved address
//! at connection time so DNS cannot be used to slip past, and follows no redirects.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;
use tessera_kernel::{DomainError, Result};

use crate::channel::{Receipt, SendError};

/// The prefix of webhook secrets.
const SECRET_PREFIX: &str = "whsec_";
/// How much of a receiver's answer the delivery log keeps.
const RESPONSE_KEPT: usize = 120;

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub(crate) fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` value for `body` sent as message `id` at `timestamp`
/// under each of `secrets` (space-separated, newest first).
pub fn sign(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The event types an endpoint stored as JSON subscribes to.
pub(crate) fn endpoint_topics(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// Which webhook URLs may be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow `http://` and internal addresses (loopback, private networks): for
    /// development and tests only.
    pub allow_internal: bool,
}

impl TargetPolicy {
    /// Checks a URL a tenant wants events sent to.
    pub fn validate(&self, url: &str) -> Result<reqwest::Url> {
        let parsed = reqwest::Url::parse(url).map_err(|_| DomainError::invalid("url", "must be an absolute URL"))?;
        let invalid = |why: &str| Err(DomainError::invalid("url", why));
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_internal => {}
            _ => return invalid("must use https"),
        }
        if url.len() > 2000 || !parsed.username().is_empty() || parsed.password().is_some() {
            return invalid("must be at most 2000 characters and carry no credentials");
        }
        let Some(host) = parsed.host_str() else { return invalid("must name a host") };
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            if !self.allow_internal && is_internal(ip) {
                return invalid("must not point at a loopback, private or link-local address");
            }
        } else if !self.allow_internal && (host == "localhost" || host.ends_with(".localhost")) {
            return invalid("must not point at this machine");
        }
        Ok(parsed)
    }
}

/// Whether `ip` is not a public internet address.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return is_internal(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation
                || (first == 0x2001 && segments[1] == 0) // Teredo: a tunnel to anywhere
                || (first == 0x0064 && segments[1] == 0xff9b && segments[2] == 1) // local-use NAT64
        }
    }
}

/// The IPv4 address an IPv6 address carries to an IPv4 host, if it does:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`). A target written this
/// way reaches the IPv4 host, so it is judged as that host.
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let from = |high: u16, low: u16| std::net::Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match s {
        [0, 0, 0, 0, 0, 0xffff, high, low] | [0, 0, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x0064, 0xff9b, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x2002, high, low, ..] => Some(from(high, low)),
        _ => None,
    }
}

/// Resolves names, dropping internal addresses: the check happens on the
/// addresses actually connected to, so a name that resolves differently later
/// (DNS rebinding) gains nothing.
#[derive(Debug)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| !is_internal(a.ip())).collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Posts signed webhooks.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: TargetPolicy,
}

impl WebhookClient {
    /// A client under `policy`, giving up on a receiver after `timeout`.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> std::result::Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_internal {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let http = builder.build().map_err(|e| format!("the webhook client could not be built: {e}"))?;
        Ok(Self { http, policy })
    }

    /// The policy URLs are checked against.
    pub fn policy(&self) -> TargetPolicy {
        self.policy
    }

    /// POSTs `body` as message `id`, signed with `secrets`, at `timestamp`. A 2xx
    /// answer is a delivery; 408, 429 and 5xx are worth retrying; any other 4xx
    /// is final.
    pub(crate) async fn post(
        &self,
        url: &str,
        secrets: &[&str],
        id: &str,
        timestamp: i64,
        body: String,
    ) -> std::result::Result<Receipt, SendError> {
        let url = self.policy.validate(url).map_err(|e| SendError::permanent(e.public_message()))?;
        let signature = sign(secrets, id, timestamp, &body);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::transient(format!("the receiver could not be reached: {}", without_url(&e))))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let answer = format!("{} {}", status.as_u16(), excerpt(&text)).trim().to_owned();
        if status.is_success() {
            return Ok(Receipt { provider_message_id: None, response: Some(answer) });
        }
        let retry = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
        Err(SendError {
            permanent: !retry,
            message: format!("the receiver answered {}", status.as_u16()),
            response: Some(answer),
        })
    }
}

/// What the delivery log keeps of a receiver's answer: a short excerpt on one
/// line, control characters and runs of whitespace made single spaces. The log
/// is the tenant's to read, and a receiver's body is none of its business
/// beyond a hint of what went wrong.
fn excerpt(body: &str) -> String {
    let flat = body.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty());
    let mut kept = String::new();
    for word in flat {
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(word);
        if kept.chars().count() > RESPONSE_KEPT {
            let cut: String = kept.chars().take(RESPONSE_KEPT).collect();
            return format!("{cut}…");
        }
    }
    kept
}

/// A client error's text without the URL (it may carry a token in its query).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() { kind.to_owned() } else { format!("{kind}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference tests.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = sign(&[secret, "whsec_AAAA"], "id", 1, "{}");
        assert_eq!(two.split(' ').count(), 2, "both secrets sign during a rotation");
    }

    #[test]
    fn internal_targets_are_refused_unless_allowed() {
        let strict = TargetPolicy { allow_internal: false };
        for url in [
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://localhost/hook",
            "https://user:pass@example.com/hook",
            "ftp://example.com/",
        ] {
            assert!(strict.validate(url).is_err(), "{url}");
        }
        assert!(strict.validate("https://hooks.example.com/tessera?x=1").is_ok());
        let development = TargetPolicy { allow_internal: true };
        assert!(development.validate("http://127.0.0.1:9000/hook").is_ok());
    }

    #[test]
    fn the_log_keeps_a_short_single_line_excerpt_of_an_answer() {
        assert_eq!(excerpt("  ok\n"), "ok");
        assert_eq!(excerpt("line one\r\n\tline\u{0}two\u{1b}[31m"), "line one line two [31m");
        let long = excerpt(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), RESPONSE_KEPT + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn mapped_and_special_ranges_count_as_internal() {
        for ip in [
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.1.2.3",
            "fe80::1",
            "192.168.1.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:0001::1",
            "2002:a9fe:a9fe::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822", "2002:5db8:d822::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
