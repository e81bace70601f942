//! Gateway configuration: typed, validated, documented in `tessera --help`.
//!
//! Each setting comes from, in order of precedence: a command-line flag, an
//! environment variable, the TOML file named by `--config` / `TESSERA_CONFIG`, and
//! finally a default that suits a laptop (embedded SQLite, loopback address,
//! in-process event bus). Secrets (database and Redis passwords) are redacted
//! wherever the configuration is printed or logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use tessera_identity::RelyingParty;

/// The embedded default database: a SQLite file created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/tessera.db?mode=rwc";

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

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings as given on the command line or in the environment (each optional, so
/// the file and the defaults can fill the gaps).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "TESSERA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TESSERA_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Database URL: sqlite://path?mode=rwc or postgres://user:pass@host/db [default: embedded SQLite at ./data/tessera.db].
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Database pool size [default: 10].
    #[arg(long, env = "TESSERA_DATABASE_MAX_CONNECTIONS", global = true)]
    pub database_max_connections: Option<u32>,
    /// Redis URL; when set, events fan out to every gateway replica through Redis.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,
    /// development or production [default: development].
    #[arg(long, env = "TESSERA_ENV", global = true)]
    pub environment: Option<Environment>,
    /// Who may introspect the schema: everyone, authenticated, nobody [default: everyone in development, authenticated in production].
    #[arg(long, env = "TESSERA_INTROSPECTION", global = true)]
    pub introspection: Option<IntrospectionPolicy>,
    /// Comma-separated origins allowed by CORS and for WebSocket upgrades, e.g. https://app.example.com [default: none, same-origin only].
    #[arg(long, env = "TESSERA_CORS_ORIGINS", global = true, value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Log format: text or json [default: text in development, json in production].
    #[arg(long, env = "TESSERA_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Log filter in tracing's EnvFilter syntax [default: info].
    #[arg(long, env = "TESSERA_LOG", global = true)]
    pub log: Option<String>,
    /// Largest request body, in bytes [default: 1048576].
    #[arg(long, env = "TESSERA_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Longest GraphQL document, in characters [default: 20000].
    #[arg(long, env = "TESSERA_MAX_QUERY_CHARS", global = true)]
    pub max_query_chars: Option<usize>,
    /// Most field selections (including __typename) in one document [default: 1000].
    #[arg(long, env = "TESSERA_MAX_FIELDS", global = true)]
    pub max_fields: Option<usize>,
    /// Deepest selection nesting [default: 16].
    #[arg(long, env = "TESSERA_MAX_DEPTH", global = true)]
    pub max_depth: Option<usize>,
    /// Highest query complexity (every field costs 1; a page costs its size × one
    /// item's cost) [default: 10000].
    #[arg(long, env = "TESSERA_MAX_COMPLEXITY", global = true)]
    pub max_complexity: Option<usize>,
    /// Most aliases in one document [default: 30].
    #[arg(long, env = "TESSERA_MAX_ALIASES", global = true)]
    pub max_aliases: Option<usize>,
    /// Most directives on one field or fragment [default: 10].
    #[arg(long, env = "TESSERA_MAX_DIRECTIVES", global = true)]
    pub max_directives: Option<usize>,
    /// Most operations running at once on one WebSocket [default: 100].
    #[arg(long, env = "TESSERA_MAX_SUBSCRIPTIONS_PER_SOCKET", global = true)]
    pub max_subscriptions_per_socket: Option<usize>,
    /// Most operations one account runs at once over WebSockets on one gateway
    /// [default: 200].
    #[arg(long, env = "TESSERA_MAX_SUBSCRIPTIONS_PER_USER", global = true)]
    pub max_subscriptions_per_user: Option<usize>,
    /// Minutes an unused session stays valid [default: 60].
    #[arg(long, env = "TESSERA_SESSION_IDLE_MINUTES", global = true)]
    pub session_idle_minutes: Option<i64>,
    /// Days a session lasts at most [default: 30].
    #[arg(long, env = "TESSERA_SESSION_MAX_DAYS", global = true)]
    pub session_max_days: Option<i64>,
    /// Fewest characters in a new password (8 to 64) [default: 12].
    #[arg(long, env = "TESSERA_PASSWORD_MIN_LENGTH", global = true)]
    pub password_min_length: Option<usize>,
    /// How many recent passwords a new one may not repeat (0 to 24) [default: 5].
    #[arg(long, env = "TESSERA_PASSWORD_HISTORY", global = true)]
    pub password_history: Option<usize>,
    /// Invitation emails each tenant may send in 24 hours (1 to 10000) [default: 50].
    #[arg(long, env = "TESSERA_INVITATIONS_PER_DAY", global = true)]
    pub invitations_per_day: Option<u32>,
    /// Sign-ups one client address (IPv4 address, IPv6 /64) may ask for per hour (1 to 100000) [default: 10].
    #[arg(long, env = "TESSERA_SIGN_UPS_PER_CLIENT_HOUR", global = true)]
    pub sign_ups_per_client_hour: Option<u32>,
    /// Create the demo tenant on the first start of an empty database [default: true for embedded SQLite in development, false otherwise].
    #[arg(long, env = "TESSERA_SEED_DEMO", global = true)]
    pub seed_demo: Option<bool>,
    /// Seconds to let requests finish on shutdown [default: 10].
    #[arg(long, env = "TESSERA_SHUTDOWN_GRACE_SECONDS", global = true)]
    pub shutdown_grace_seconds: Option<u64>,
    /// Days login history and account security events are kept (30 to 3650) [default: 365].
    #[arg(long, env = "TESSERA_ACCOUNT_ACTIVITY_RETENTION_DAYS", global = true)]
    pub account_activity_retention_days: Option<u32>,
    /// SMTP server for email notifications: `smtp://user:pass@host:587?tls=required`, `smtps://…`, or `smtp://localhost:1025` for a local sink [default: none; emails are skipped].
    #[arg(long, env = "TESSERA_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// Sender of email notifications [default: Tessera <no-reply@localhost>].
    #[arg(long, env = "TESSERA_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// The gateway's public base URL, for links in messages (the email open pixel) [default: http://<listen>].
    #[arg(long, env = "TESSERA_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Allow webhooks to http:// and internal addresses (loopback, private networks) [default: true in development, false in production].
    #[arg(long, env = "TESSERA_WEBHOOK_ALLOW_INTERNAL", global = true)]
    pub webhook_allow_internal: Option<bool>,
    /// Bearer token a scraper sends for `/metrics` [default: none; then
    /// `/metrics` is open in development and closed in production].
    #[arg(long, env = "TESSERA_METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed, comma-separated addresses or networks (`10.0.0.0/8, 127.0.0.1`) [default: none; the TCP peer is the client].
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// Base URL of the app that opens account links (`/verify-email`, `/reset-password`, `/accept-invitation`, token in the fragment) [default: the public URL, whose gateway serves plain pages for them].
    #[arg(long, env = "TESSERA_APP_URL", global = true)]
    pub app_url: Option<String>,
    /// The domain passkeys belong to (the WebAuthn relying party id): the host of the pages that use them or a parent domain [default: the host of the first passkey origin].
    #[arg(long, env = "TESSERA_PASSKEY_RP_ID", global = true)]
    pub passkey_rp_id: Option<String>,
    /// Comma-separated origins of the pages allowed to use passkeys [default: the origins of the app URL and the public URL; a loopback address counts as localhost].
    #[arg(long, env = "TESSERA_PASSKEY_ORIGINS", global = true, value_delimiter = ',')]
    pub passkey_origins: Option<Vec<String>>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    redis_url: Option<String>,
    environment: Option<Environment>,
    introspection: Option<IntrospectionPolicy>,
    cors_origins: Option<Vec<String>>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    max_body_bytes: Option<usize>,
    max_query_chars: Option<usize>,
    max_fields: Option<usize>,
    max_depth: Option<usize>,
    max_complexity: Option<usize>,
    max_aliases: Option<usize>,
    max_directives: Option<usize>,
    max_subscriptions_per_socket: Option<usize>,
    max_subscriptions_per_user: Option<usize>,
    session_idle_minutes: Option<i64>,
    session_max_days: Option<i64>,
    password_min_length: Option<usize>,
    password_history: Option<usize>,
    invitations_per_day: Option<u32>,
    sign_ups_per_client_hour: Option<u32>,
    seed_demo: Option<bool>,
    shutdown_grace_seconds: Option<u64>,
    account_activity_retention_days: Option<u32>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    public_url: Option<String>,
    webhook_allow_internal: Option<bool>,
    metrics_token: Option<String>,
    trusted_proxies: Option<String>,
    app_url: Option<String>,
    passkey_rp_id: Option<String>,
    passkey_origins: Option<Vec<String>>,
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

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_query_chars: 20_000,
            max_fields: 1_000,
            max_depth: 16,
            // Every field costs 1, scalars included, so this is about ten times
            // a budget that charges only objects (Shopify's 1,000): two nested
            // default pages of 20 with ten fields each fit; 100 × 100 does not.
            max_complexity: 10_000,
            max_aliases: 30,
            max_directives: 10,
            max_subscriptions_per_socket: 100,
            max_subscriptions_per_user: 200,
        }
    }
}

/// Who may read `/metrics`.
#[derive(Clone, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone (development).
    Open,
    /// Whoever sends `Authorization: Bearer <token>`.
    Token(String),
    /// Nobody (production without a token).
    Closed,
}

impl MetricsAccess {
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

    fn describe(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Token(_) => "bearer token",
            Self::Closed => "closed",
        }
    }
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The validated configuration of a gateway.
#[derive(Clone)]
pub struct Config {
    /// Listening address.
    pub listen: SocketAddr,
    /// Database URL (contains secrets; never log it, use [`redact_url`]).
    pub database_url: String,
    /// Pool size.
    pub database_max_connections: u32,
    /// Redis URL, if any (contains secrets).
    pub redis_url: Option<String>,
    /// Development or production.
    pub environment: Environment,
    /// Who may introspect.
    pub introspection: IntrospectionPolicy,
    /// Allowed browser origins (CORS, WebSocket).
    pub cors_origins: Vec<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log: String,
    /// GraphQL limits.
    pub limits: QueryLimits,
    /// Idle timeout of sessions.
    pub session_idle: chrono::Duration,
    /// Absolute lifetime of sessions.
    pub session_max: chrono::Duration,
    /// Fewest characters in a new password.
    pub password_min_length: usize,
    /// How many recent passwords a new one may not repeat.
    pub password_history: usize,
    /// Invitation emails each tenant may send in 24 hours.
    pub invitations_per_day: u32,
    /// Sign-ups one client address may ask for per hour.
    pub sign_ups_per_client_hour: u32,
    /// Whether to seed the demo tenant into an empty database.
    pub seed_demo: bool,
    /// Time given to in-flight requests at shutdown.
    pub shutdown_grace: Duration,
    /// How long login history and account security events are kept. (A tenant
    /// sets its own audit log's retention.)
    pub account_activity_retention: chrono::Duration,
    /// The SMTP server for email notifications (contains secrets), if any.
    pub smtp_url: Option<String>,
    /// The sender of email notifications.
    pub mail_from: String,
    /// The gateway's public base URL.
    pub public_url: String,
    /// Whether webhooks may go to http:// and internal addresses.
    pub webhook_allow_internal: bool,
    /// What `/metrics` asks of a scraper (a secret: never log it).
    pub metrics_access: MetricsAccess,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where account links (verification, reset, invitations) point.
    pub app_url: String,
    /// Who passkeys are made for.
    pub passkeys: RelyingParty,
}

/// Comma-separated addresses and networks (`10.0.0.0/8, ::1`); a plain address
/// is the network of that address alone.
fn parse_networks(raw: Option<&str>) -> Result<Vec<ipnet::IpNet>, String> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("`{entry}` is not an address or a network such as 10.0.0.0/8"))
        })
        .collect()
}

/// The distinct origins of `urls`, a loopback address written as `localhost`
/// (browsers keep passkeys for domains, never for IP addresses).
fn default_passkey_origins(urls: &[&str]) -> Vec<String> {
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

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("setting {setting} is invalid: {message}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// Why.
        message: String,
    },
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { setting, message: message.into() }
}

impl Config {
    /// Merges flags/environment, the optional file and the defaults, and validates.
    pub fn load(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let environment = args.environment.or(file.environment).unwrap_or(Environment::Development);
        let database_url =
            args.database_url.clone().or(file.database_url).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid("database_url", "must start with sqlite: or postgres://"));
        }
        let redis_url = args.redis_url.clone().or(file.redis_url).filter(|u| !u.trim().is_empty());
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(invalid("redis_url", "must start with redis:// or rediss://"));
        }
        let defaults = QueryLimits::default();
        let limits = QueryLimits {
            max_body_bytes: args.max_body_bytes.or(file.max_body_bytes).unwrap_or(defaults.max_body_bytes),
            max_query_chars: args.max_query_chars.or(file.max_query_chars).unwrap_or(defaults.max_query_chars),
            max_fields: args.max_fields.or(file.max_fields).unwrap_or(defaults.max_fields),
            max_depth: args.max_depth.or(file.max_depth).unwrap_or(defaults.max_depth),
            max_complexity: args.max_complexity.or(file.max_complexity).unwrap_or(defaults.max_complexity),
            max_aliases: args.max_aliases.or(file.max_aliases).unwrap_or(defaults.max_aliases),
            max_directives: args.max_directives.or(file.max_directives).unwrap_or(defaults.max_directives),
            max_subscriptions_per_socket: args
                .max_subscriptions_per_socket
                .or(file.max_subscriptions_per_socket)
                .unwrap_or(defaults.max_subscriptions_per_socket),
            max_subscriptions_per_user: args
                .max_subscriptions_per_user
                .or(file.max_subscriptions_per_user)
                .unwrap_or(defaults.max_subscriptions_per_user),
        };
        if limits.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        // GraphiQL's introspection query needs depth 13 and a few thousand characters.
        if limits.max_depth < 13 {
            return Err(invalid("max_depth", "must be at least 13, or GraphiQL cannot load the schema"));
        }
        if limits.max_query_chars < 4096 {
            return Err(invalid("max_query_chars", "must be at least 4096"));
        }
        if limits.max_subscriptions_per_socket == 0 || limits.max_subscriptions_per_user == 0 {
            return Err(invalid("max_subscriptions_per_socket", "and max_subscriptions_per_user must be at least 1"));
        }
        let cors_origins: Vec<String> = args
            .cors_origins
            .clone()
            .or(file.cors_origins)
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin.matches('/').count() != 2 {
                return Err(invalid(
                    "cors_origins",
                    format!("{origin:?} is not an origin like https://app.example.com"),
                ));
            }
        }
        let session_idle_minutes = args.session_idle_minutes.or(file.session_idle_minutes).unwrap_or(60);
        let session_max_days = args.session_max_days.or(file.session_max_days).unwrap_or(30);
        if !(1..=1440).contains(&session_idle_minutes) {
            return Err(invalid("session_idle_minutes", "must be between 1 and 1440"));
        }
        if !(1..=365).contains(&session_max_days) {
            return Err(invalid("session_max_days", "must be between 1 and 365"));
        }
        let password_min_length = args.password_min_length.or(file.password_min_length).unwrap_or(12);
        if !(8..=64).contains(&password_min_length) {
            return Err(invalid("password_min_length", "must be between 8 and 64"));
        }
        let password_history = args.password_history.or(file.password_history).unwrap_or(5);
        if password_history > 24 {
            return Err(invalid("password_history", "must be between 0 and 24"));
        }
        let invitations_per_day =
            args.invitations_per_day.or(file.invitations_per_day).unwrap_or(tessera_rbac::INVITATIONS_PER_DAY);
        if !(1..=10_000).contains(&invitations_per_day) {
            return Err(invalid("invitations_per_day", "must be between 1 and 10000"));
        }
        let sign_ups_per_client_hour = args
            .sign_ups_per_client_hour
            .or(file.sign_ups_per_client_hour)
            .unwrap_or(tessera_identity::SIGN_UPS_PER_CLIENT_HOUR);
        if !(1..=100_000).contains(&sign_ups_per_client_hour) {
            return Err(invalid("sign_ups_per_client_hour", "must be between 1 and 100000"));
        }
        let account_activity_retention_days =
            args.account_activity_retention_days.or(file.account_activity_retention_days).unwrap_or(365);
        if !(tessera_audit::RETENTION_FLOOR_DAYS..=3650).contains(&account_activity_retention_days) {
            return Err(invalid(
                "account_activity_retention_days",
                format!("must be between {} and 3650", tessera_audit::RETENTION_FLOOR_DAYS),
            ));
        }
        let embedded = database_url.starts_with("sqlite:");
        let listen = args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let smtp_url = args.smtp_url.clone().or(file.smtp_url).filter(|u| !u.is_empty());
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(invalid("smtp_url", "must start with smtp:// or smtps://"));
        }
        let mail_from =
            args.mail_from.clone().or(file.mail_from).unwrap_or_else(|| "Tessera <no-reply@localhost>".into());
        let public_url = args.public_url.clone().or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid("public_url", "must be an http(s) URL such as https://api.example.com"));
        }
        let app_url = args.app_url.clone().or(file.app_url).unwrap_or_else(|| public_url.clone());
        if !(app_url.starts_with("http://") || app_url.starts_with("https://")) {
            return Err(invalid("app_url", "must be an http(s) URL such as https://app.example.com"));
        }
        let passkey_origins = match args.passkey_origins.clone().or(file.passkey_origins) {
            Some(origins) => origins.iter().map(|o| o.trim().trim_end_matches('/').to_owned()).collect(),
            None => default_passkey_origins(&[&app_url, &public_url]),
        };
        let passkey_rp_id = match args.passkey_rp_id.clone().or(file.passkey_rp_id) {
            Some(id) => id.trim().to_ascii_lowercase(),
            None => passkey_origins
                .first()
                .and_then(|o| url::Url::parse(o).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .ok_or_else(|| {
                    invalid("passkey_origins", "must hold at least one URL such as https://app.example.com")
                })?,
        };
        Ok(Self {
            listen,
            database_max_connections: args
                .database_max_connections
                .or(file.database_max_connections)
                .unwrap_or(10)
                .max(1),
            database_url,
            redis_url,
            environment,
            introspection: args.introspection.or(file.introspection).unwrap_or(match environment {
                Environment::Development => IntrospectionPolicy::Everyone,
                Environment::Production => IntrospectionPolicy::Authenticated,
            }),
            cors_origins,
            log_format: args.log_format.or(file.log_format).unwrap_or(match environment {
                Environment::Development => LogFormat::Text,
                Environment::Production => LogFormat::Json,
            }),
            log: args.log.clone().or(file.log).unwrap_or_else(|| "info".into()),
            limits,
            session_idle: chrono::Duration::minutes(session_idle_minutes),
            session_max: chrono::Duration::days(session_max_days),
            password_min_length,
            password_history,
            invitations_per_day,
            sign_ups_per_client_hour,
            // The demo's passwords are published: never seeded in production
            // unless asked for by name.
            seed_demo: args.seed_demo.or(file.seed_demo).unwrap_or(embedded && environment == Environment::Development),
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_seconds.or(file.shutdown_grace_seconds).unwrap_or(10),
            ),
            account_activity_retention: chrono::Duration::days(i64::from(account_activity_retention_days)),
            smtp_url,
            mail_from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            webhook_allow_internal: args
                .webhook_allow_internal
                .or(file.webhook_allow_internal)
                .unwrap_or(environment == Environment::Development),
            metrics_access: match (args.metrics_token.clone().or(file.metrics_token), environment) {
                (Some(token), _) if token.trim().len() >= 16 => MetricsAccess::Token(token.trim().to_owned()),
                (Some(_), _) => return Err(invalid("metrics_token", "must be at least 16 characters")),
                (None, Environment::Development) => MetricsAccess::Open,
                (None, Environment::Production) => MetricsAccess::Closed,
            },
            trusted_proxies: parse_networks(args.trusted_proxies.as_deref().or(file.trusted_proxies.as_deref()))
                .map_err(|why| invalid("trusted_proxies", why))?,
            app_url: app_url.trim_end_matches('/').to_owned(),
            passkeys: RelyingParty { id: passkey_rp_id, name: "Tessera".into(), origins: passkey_origins },
        })
    }

    /// Whether the database is the embedded SQLite file.
    pub fn is_embedded_database(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })
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

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("environment", &self.environment)
            .field("introspection", &self.introspection)
            .field("cors_origins", &self.cors_origins)
            .field("log_format", &self.log_format)
            .field("limits", &self.limits)
            .field("seed_demo", &self.seed_demo)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("webhook_allow_internal", &self.webhook_allow_internal)
            .field("metrics_access", &self.metrics_access.describe())
            .field("app_url", &self.app_url)
            .field("passkeys", &self.passkeys)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_seeds_no_demo_and_closes_metrics_unless_asked() {
        let production = |adjust: fn(&mut ConfigArgs)| {
            let mut args = ConfigArgs { environment: Some(Environment::Production), ..ConfigArgs::default() };
            adjust(&mut args);
            Config::load(&args).expect("valid")
        };
        let plain = production(|_| {});
        assert!(!plain.seed_demo, "the demo's passwords are published");
        assert!(!plain.metrics_access.allows(None) && !plain.metrics_access.allows(Some("Bearer anything")));
        assert!(production(|a| a.seed_demo = Some(true)).seed_demo, "asked for by name");
        let scraped = production(|a| a.metrics_token = Some("a-long-scraper-secret".into()));
        assert!(scraped.metrics_access.allows(Some("Bearer a-long-scraper-secret")));
        assert!(!scraped.metrics_access.allows(Some("Bearer a-long-scraper-secreT")));
        assert!(!scraped.metrics_access.allows(None));
        let mut short = ConfigArgs { metrics_token: Some("short".into()), ..ConfigArgs::default() };
        short.environment = Some(Environment::Production);
        assert!(Config::load(&short).is_err());
        assert!(Config::load(&ConfigArgs::default()).expect("valid").metrics_access.allows(None), "open on a laptop");
    }

    #[test]
    fn the_defaults_suit_a_laptop() {
        let config = Config::load(&ConfigArgs::default()).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert!(config.seed_demo && config.redis_url.is_none());
        assert_eq!(config.introspection, IntrospectionPolicy::Everyone);
        assert_eq!(config.passkeys.id, "localhost", "browsers keep passkeys for domains, not 127.0.0.1");
        assert_eq!(config.passkeys.origins, ["http://localhost:8080"]);
    }

    #[test]
    fn passkeys_belong_to_the_app_and_the_gateway() {
        let args = ConfigArgs {
            public_url: Some("https://api.example.com/".into()),
            app_url: Some("https://app.example.com/tessera".into()),
            passkey_rp_id: Some("Example.com".into()),
            ..ConfigArgs::default()
        };
        let config = Config::load(&args).expect("valid");
        assert_eq!(config.passkeys.id, "example.com");
        assert_eq!(config.passkeys.origins, ["https://app.example.com", "https://api.example.com"]);
    }

    #[test]
    fn passwords_never_appear_in_debug_output() {
        let args = ConfigArgs {
            database_url: Some("postgres://tessera:hunter2@db/tessera".into()),
            redis_url: Some("redis://:s3cret@cache:6379".into()),
            ..ConfigArgs::default()
        };
        let printed = format!("{:?}", Config::load(&args).expect("valid"));
        assert!(!printed.contains("hunter2") && !printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("postgres://tessera:***@db/tessera"));
    }

    #[test]
    fn the_file_fills_what_flags_and_environment_leave_open() {
        let dir = std::env::temp_dir().join(format!("tessera-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("tessera.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nmax_aliases = 5\n").expect("write");
        let args = ConfigArgs { config: Some(path), max_aliases: Some(7), ..ConfigArgs::default() };
        let config = Config::load(&args).expect("valid");
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.limits.max_aliases, 7, "the flag wins over the file");
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_named() {
        let dir = std::env::temp_dir().join(format!("tessera-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("tessera.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").expect("write");
        let err = Config::load(&ConfigArgs { config: Some(path), ..ConfigArgs::default() }).expect_err("refused");
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = Config::load(&ConfigArgs { max_depth: Some(3), ..ConfigArgs::default() }).expect_err("refused");
        assert!(err.to_string().contains("max_depth"), "{err}");
    }
}
