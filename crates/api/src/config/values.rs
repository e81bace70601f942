//! The types settings take and the small rules the declarations in
//! `settings.rs` use: checks (`within`, `http_url`), tidying (`trimmed`,
//! `each_origin`), and how secrets are shown (`redact_url`, `secret`).

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use clap::ValueEnum;
use serde::Deserialize;

/// Whether this is a developer's machine or a production deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Introspection and GraphiQL for everyone; human-readable logs.
    Development,
    /// Introspection only for signed-in callers unless configured otherwise.
    Production,
}

/// Who may run introspection queries (and so browse the schema in GraphiQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntrospectionPolicy {
    /// Anyone.
    Everyone,
    /// Requests with a valid bearer token.
    Authenticated,
    /// Nobody.
    Nobody,
}

/// Whether documents outside the trusted-documents file run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentPolicy {
    /// Any valid document runs; listed ones may also be sent by hash alone.
    Allow,
    /// Only the listed operations run (`PERSISTED_QUERY_NOT_IN_LIST` otherwise).
    Refuse,
}

/// How the connection to PostgreSQL is encrypted (libpq's `sslmode` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseTls {
    /// Never encrypted.
    Disable,
    /// Encrypted when the server offers it, the certificate unchecked.
    Prefer,
    /// Always encrypted, the certificate unchecked.
    Require,
    /// Always encrypted, the certificate signed by a trusted authority.
    VerifyCa,
    /// As `verify-ca`, and the certificate names the host connected to.
    VerifyFull,
}

impl From<DatabaseTls> for tessera_kernel::db::TlsMode {
    fn from(mode: DatabaseTls) -> Self {
        match mode {
            DatabaseTls::Disable => Self::Disable,
            DatabaseTls::Prefer => Self::Prefer,
            DatabaseTls::Require => Self::Require,
            DatabaseTls::VerifyCa => Self::VerifyCa,
            DatabaseTls::VerifyFull => Self::VerifyFull,
        }
    }
}

/// A check that a path names a file this process can read.
pub(super) fn readable_file(path: &String) -> Result<(), String> {
    std::fs::File::open(path).map(drop).map_err(|err| format!("cannot read {path}: {err}"))
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Limits that protect the GraphQL endpoint from expensive documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Longest document in characters, checked before parsing.
    pub max_query_chars: usize,
    /// Most field selections.
    pub max_fields: usize,
    /// Deepest nesting.
    pub max_depth: usize,
    /// Highest complexity.
    pub max_complexity: usize,
    /// Most aliases.
    pub max_aliases: usize,
    /// Most directives per location.
    pub max_directives: usize,
    /// Most operations running at once on one WebSocket.
    pub max_subscriptions_per_socket: usize,
    /// Most operations one account runs at once over WebSockets on this gateway.
    pub max_subscriptions_per_user: usize,
}

/// Who may read `/metrics`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess<'a> {
    /// Anyone (development).
    Open,
    /// Whoever sends `Authorization: Bearer <token>`.
    Token(&'a str),
    /// Nobody (production without a token).
    Closed,
}

impl MetricsAccess<'_> {
    /// Whether a request with `authorization` (the header's value) may read.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        match self {
            Self::Open => true,
            Self::Closed => false,
            Self::Token(token) => authorization
                .and_then(|value| value.strip_prefix("Bearer "))
                .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes())),
        }
    }
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Addresses and networks, written comma-separated (`10.0.0.0/8, ::1`); a plain
/// address is the network of that address alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<ipnet::IpNet>);

impl FromStr for Networks {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an address or a network such as 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl<'de> Deserialize<'de> for Networks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The distinct origins of `urls`, a loopback address written as `localhost`
/// (browsers keep passkeys for domains, never for IP addresses).
pub(super) fn default_passkey_origins(urls: &[&str]) -> Vec<String> {
    let mut origins: Vec<String> = Vec::new();
    for raw in urls {
        let Ok(mut url) = url::Url::parse(raw) else { continue };
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
        if loopback && url.set_host(Some("localhost")).is_err() {
            continue;
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    origins
}

/// A check that a number lies in `range`.
pub(super) fn within<T: PartialOrd + Display>(range: RangeInclusive<T>) -> impl Fn(&T) -> Result<(), String> {
    move |value| match range.contains(value) {
        true => Ok(()),
        false => Err(format!("must be between {} and {}", range.start(), range.end())),
    }
}

/// A check that a number is at least `floor`.
pub(super) fn at_least<T: PartialOrd + Display>(floor: T) -> impl Fn(&T) -> Result<(), String> {
    move |value| if *value >= floor { Ok(()) } else { Err(format!("must be at least {floor}")) }
}

/// A check that a URL starts with one of `schemes`.
pub(super) fn scheme_of(schemes: &'static [&'static str]) -> impl Fn(&String) -> Result<(), String> {
    move |url| match schemes.iter().any(|scheme| url.starts_with(scheme)) {
        true => Ok(()),
        false => Err(format!("must start with {}", schemes.join(" or "))),
    }
}

/// `check` applied to a setting that may be unset, when it is set.
pub(super) fn when_set<T>(check: impl Fn(&T) -> Result<(), String>) -> impl Fn(&Option<T>) -> Result<(), String> {
    move |value| value.as_ref().map_or(Ok(()), &check)
}

/// A check that a webhook signing secret is Stripe's (`whsec_…`).
pub(super) fn webhook_secret(secret: &str) -> Result<(), String> {
    match secret.starts_with("whsec_") && secret.len() >= 16 {
        true => Ok(()),
        false => Err("must be a Stripe webhook signing secret (whsec_…)".into()),
    }
}

/// A check that a URL is http(s).
pub(super) fn http_url(url: &str) -> Result<(), String> {
    match url.starts_with("http://") || url.starts_with("https://") {
        true => Ok(()),
        false => Err("must be an http(s) URL such as https://app.example.com".into()),
    }
}

/// Treats an empty value (`REDIS_URL=`) as unset.
pub(super) fn non_empty(given: Option<String>) -> Option<String> {
    given.filter(|value| !value.trim().is_empty())
}

/// A URL without its trailing slash, so paths join cleanly.
pub(super) fn trimmed(given: Option<String>) -> Option<String> {
    given.map(|url| url.trim().trim_end_matches('/').to_owned())
}

/// Origins without spaces or trailing slashes; empty entries dropped.
pub(super) fn each_origin(given: Option<Vec<String>>) -> Option<Vec<String>> {
    given.map(|origins| {
        origins
            .iter()
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect()
    })
}

/// A setting's line in `tessera --help`: its meaning and its default.
pub(super) fn help_line(meaning: &[&str], default: &str) -> String {
    format!("{} [default: {}]", one_line(meaning), default.replace('`', ""))
}

/// The lines of a doc comment as one line of text.
pub(super) fn one_line(lines: &[&str]) -> String {
    lines.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ")
}

/// `url` with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// [`redact_url`] for a URL that may be unset.
pub(super) fn redact_url_option(url: &Option<String>) -> Option<String> {
    url.as_deref().map(redact_url)
}

/// Whether a secret is set, never what it is.
pub(super) fn secret(value: &Option<String>) -> &'static str {
    if value.is_some() { "***" } else { "unset" }
}
