//! Every setting of the gateway, declared once: its key, environment variable,
//! default, checks and meaning. `declare.rs` explains the notation; README's
//! configuration table is printed from this list (a test keeps it so).

use std::net::SocketAddr;

use super::values::{
    DatabaseTls, DocumentPolicy, Environment, IntrospectionPolicy, LogFormat, Networks, at_least,
    default_passkey_origins, each_origin, help_line, http_url, non_empty, readable_file, redact_url, redact_url_option,
    scheme_of, secret, trimmed, webhook_secret, when_set, within,
};
use super::{ConfigError, DEFAULT_DATABASE_URL, Setting, invalid};

declare_settings! {
    /// `production` restricts introspection and logs JSON.
    environment: Environment, env "TESSERA_ENV", default("`development`") = Environment::Development;

    /// Address to listen on.
    listen: SocketAddr, env "TESSERA_LISTEN", default("`127.0.0.1:8080`") = SocketAddr::from(([127, 0, 0, 1], 8080));

    /// SQLite file or `postgres://…`.
    database_url: String, env "DATABASE_URL", default("`sqlite://./data/tessera.db?mode=rwc`") = DEFAULT_DATABASE_URL.into(),
        check scheme_of(&["sqlite:", "postgres://", "postgresql://"]),
        shown_as |url: &String| redact_url(url),
        clap(hide_env_values = true);

    /// PostgreSQL connection encryption: `disable`, `prefer`, `require` (encrypted, certificate unchecked), `verify-ca`, `verify-full` (certificate checked against the CA file or the system's roots; `verify-full` also checks the host name).
    database_tls: DatabaseTls, env "TESSERA_DATABASE_TLS", optional("the URL's `sslmode`, else `prefer`"),
        check |mode: &Option<DatabaseTls>| match (mode, database_url.starts_with("sqlite:")) {
            (Some(_), true) => Err("applies to PostgreSQL only; the database is SQLite".into()),
            _ => Ok(()),
        };

    /// PEM file of the certificate authorities that sign the PostgreSQL server's certificate.
    database_ca_file: String, env "TESSERA_DATABASE_CA_FILE", optional("unset (the system's roots)"),
        tidy non_empty,
        check when_set(readable_file);

    /// Pool size.
    database_max_connections: u32, env "TESSERA_DATABASE_MAX_CONNECTIONS", default("`10`") = 10,
        check within(1..=10_000);

    /// Redis for cross-replica events and passkey ceremonies (else kept in the database).
    redis_url: String, env "REDIS_URL", optional("unset"),
        tidy non_empty,
        check when_set(scheme_of(&["redis://", "rediss://"])),
        shown_as redact_url_option,
        clap(hide_env_values = true);

    /// Who may read the schema; `nobody` also possible.
    introspection: IntrospectionPolicy, env "TESSERA_INTROSPECTION",
        default("`everyone` (dev), `authenticated` (prod)") = match environment {
            Environment::Development => IntrospectionPolicy::Everyone,
            Environment::Production => IntrospectionPolicy::Authenticated,
        };

    /// Comma-separated browser origins allowed (CORS and WebSocket), such as `https://app.example.com`.
    cors_origins: Vec<String>, env "TESSERA_CORS_ORIGINS", default("none") = Vec::new(),
        tidy each_origin,
        check |origins: &Vec<String>| {
            match origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.matches('/').count() != 2) {
                Some(origin) => Err(format!("{origin:?} is not an origin like https://app.example.com")),
                None => Ok(()),
            }
        },
        clap(value_delimiter = ',');

    /// Log format: `text` or `json`.
    log_format: LogFormat, env "TESSERA_LOG_FORMAT", default("`text` (dev), `json` (prod)") = match environment {
        Environment::Development => LogFormat::Text,
        Environment::Production => LogFormat::Json,
    };

    /// Log filter in tracing's `EnvFilter` syntax.
    log: String, env "TESSERA_LOG", default("`info`") = "info".into();

    /// Request body limit (413 beyond).
    max_body_bytes: usize, env "TESSERA_MAX_BODY_BYTES", default("`1048576`") = 1024 * 1024,
        check at_least(1024);

    /// Document length, checked before parsing.
    max_query_chars: usize, env "TESSERA_MAX_QUERY_CHARS", default("`20000`") = 20_000,
        check at_least(4096);

    /// Field selections per document (`__typename` counts).
    max_fields: usize, env "TESSERA_MAX_FIELDS", default("`1000`") = 1_000;

    /// Selection depth.
    max_depth: usize, env "TESSERA_MAX_DEPTH", default("`16`") = 16,
        // GraphiQL's introspection query nests 13 deep.
        check |depth: &usize| {
            if *depth >= 13 { Ok(()) } else { Err("must be at least 13, or GraphiQL cannot load the schema".into()) }
        };

    /// Complexity: every field costs 1, a page its size × one item's cost (a page without `first` counts its default size).
    // Scalars count too, so this is about ten times a budget that charges only
    // objects (Shopify's 1,000): two nested default pages of 20 with ten fields
    // each fit; 100 × 100 does not.
    max_complexity: usize, env "TESSERA_MAX_COMPLEXITY", default("`10000`") = 10_000;

    /// Aliases per document.
    max_aliases: usize, env "TESSERA_MAX_ALIASES", default("`30`") = 30;

    /// Bytes of documents kept for automatic persisted queries (Apollo's APQ), least recently used dropped first; `0` turns the protocol off.
    persisted_queries_bytes: usize, env "TESSERA_PERSISTED_QUERIES_BYTES", default("`16777216` (16 MiB)") = 16 * 1024 * 1024;

    /// A JSON file of the operations first-party apps send, by SHA-256: Apollo's persisted query manifest, or an object of hash to document (GraphQL Code Generator's `persisted-documents.json`, Relay's). Listed operations run by hash alone.
    trusted_documents: String, env "TESSERA_TRUSTED_DOCUMENTS", optional("unset"),
        tidy non_empty;

    /// `refuse` runs only the trusted documents (anything else gets `PERSISTED_QUERY_NOT_IN_LIST`, GraphiQL included); `allow` runs any valid document.
    untrusted_documents: DocumentPolicy, env "TESSERA_UNTRUSTED_DOCUMENTS",
        default("`refuse` in production with a trusted-documents file, else `allow`") =
            match (environment, &trusted_documents) {
                (Environment::Production, Some(_)) => DocumentPolicy::Refuse,
                _ => DocumentPolicy::Allow,
            },
        check |policy: &DocumentPolicy| match (policy, &trusted_documents) {
            (DocumentPolicy::Refuse, None) => Err("`refuse` needs TESSERA_TRUSTED_DOCUMENTS, the list of what may run".into()),
            _ => Ok(()),
        };

    /// Directives per location.
    max_directives: usize, env "TESSERA_MAX_DIRECTIVES", default("`10`") = 10;

    /// Operations running at once on one WebSocket.
    max_subscriptions_per_socket: usize, env "TESSERA_MAX_SUBSCRIPTIONS_PER_SOCKET", default("`100`") = 100,
        check at_least(1);

    /// Operations one account runs at once over WebSockets, per gateway.
    max_subscriptions_per_user: usize, env "TESSERA_MAX_SUBSCRIPTIONS_PER_USER", default("`200`") = 200,
        check at_least(1);

    /// An unused session ends after this many minutes (1–1440).
    session_idle_minutes: i64, env "TESSERA_SESSION_IDLE_MINUTES", default("`60`") = 60,
        check within(1..=1440);

    /// A session ends after this many days regardless (1–365).
    session_max_days: i64, env "TESSERA_SESSION_MAX_DAYS", default("`30`") = 30,
        check within(1..=365);

    /// Fewest characters in a new password (8–64); common or easily guessed passwords are refused whatever their length.
    password_min_length: usize, env "TESSERA_PASSWORD_MIN_LENGTH", default("`12`") = 12,
        check within(8..=64);

    /// How many recent passwords `changePassword` refuses to reuse (0–24).
    password_history: usize, env "TESSERA_PASSWORD_HISTORY", default("`5`") = 5,
        check within(0..=24);

    /// Sign-ups one client address (IPv4 address, IPv6 /64) may ask for per hour (1–100000).
    sign_ups_per_client_hour: u32, env "TESSERA_SIGN_UPS_PER_CLIENT_HOUR", default("`10`") = tessera_identity::SIGN_UPS_PER_CLIENT_HOUR,
        check within(1..=100_000);

    /// Requests a minute outside any business (signing in and up, one's own account): per account when signed in, else per client address (IPv4 address, IPv6 /64); 0: no limit (0–1000000). A business's own are its tier's (README "Rate limits").
    platform_requests_per_minute: u32, env "TESSERA_PLATFORM_REQUESTS_PER_MINUTE", default("`300`") = 300,
        check within(0..=1_000_000);

    /// Invitation emails (new and resent) each business may send in 24 hours (1–10000).
    invitations_per_day: u32, env "TESSERA_INVITATIONS_PER_DAY", default("`50`") = tessera_rbac::INVITATIONS_PER_DAY,
        check within(1..=10_000);

    /// The tier a new business starts on (`free`, `basic`, `premium`, `enterprise`); its limits are in README's "Tiers, limits and usage".
    new_tenant_tier: String, env "TESSERA_NEW_TENANT_TIER", default("`free`") = "free".into(),
        tidy |tier: Option<String>| tier.map(|t| t.trim().to_ascii_lowercase()),
        check |tier: &String| match tessera_kernel::TenantTier::parse(tier) {
            Some(_) => Ok(()),
            None => Err("must be free, basic, premium or enterprise".into()),
        };

    /// Seed the demo into an empty database (its passwords are published: never by default in production).
    seed_demo: bool, env "TESSERA_SEED_DEMO", default("`true` for SQLite in development") =
        database_url.starts_with("sqlite:") && environment == Environment::Development;

    /// Seconds a caller's rights found by one request are reused by the next while nothing they rest on changed (0–3600; 0: read every time). PostgreSQL without `REDIS_URL` never reuses: its replicas could not tell each other of changes.
    rights_reuse_seconds: u32, env "TESSERA_RIGHTS_REUSE_SECONDS", default("`60`") = 60,
        check within(0..=3600);

    /// Seconds given to requests at shutdown.
    shutdown_grace_seconds: u64, env "TESSERA_SHUTDOWN_GRACE_SECONDS", default("`10`") = 10;

    /// Login history and account security events are kept this many days (30–3650). A business sets its own audit log's retention.
    account_activity_retention_days: u32, env "TESSERA_ACCOUNT_ACTIVITY_RETENTION_DAYS", default("`365`") = 365,
        check within(tessera_audit::RETENTION_FLOOR_DAYS..=3650);

    /// SMTP server for email: `smtp://user:pass@host:587?tls=required`, `smtps://…`, `smtp://localhost:1025`.
    smtp_url: String, env "TESSERA_SMTP_URL", optional("unset (emails skipped)"),
        tidy non_empty,
        check when_set(scheme_of(&["smtp://", "smtps://"])),
        shown_as redact_url_option,
        clap(hide_env_values = true);

    /// Sender of emails.
    mail_from: String, env "TESSERA_MAIL_FROM", default("`Tessera <no-reply@localhost>`") = "Tessera <no-reply@localhost>".into();

    /// Stripe secret key (`sk_live_…`, `sk_test_…`) for what businesses pay the platform; unset, cards cannot be kept and plans are not charged.
    stripe_secret_key: String, env "TESSERA_STRIPE_SECRET_KEY", optional("unset"),
        tidy non_empty,
        check when_set(|key: &String| match key.starts_with("sk_") || key.starts_with("rk_") {
            true => Ok(()),
            false => Err("must be a Stripe secret or restricted key (sk_… or rk_…)".into()),
        }),
        shown_as secret,
        clap(hide_env_values = true);

    /// Signing secret (`whsec_…`) of the Stripe webhook endpoint `/webhooks/payments/stripe/platform`; unset, the endpoint answers 404.
    stripe_webhook_secret: String, env "TESSERA_STRIPE_WEBHOOK_SECRET", optional("unset"),
        tidy non_empty,
        check when_set(|secret: &String| webhook_secret(secret)),
        shown_as secret,
        clap(hide_env_values = true);

    /// The endpoint's previous signing secret, accepted too while Stripe rolls it.
    stripe_webhook_previous_secret: String, env "TESSERA_STRIPE_WEBHOOK_PREVIOUS_SECRET", optional("unset"),
        tidy non_empty,
        check when_set(|secret: &String| webhook_secret(secret)),
        shown_as secret,
        clap(hide_env_values = true);

    /// Signing secret (`whsec_…`) of the Stripe Connect webhook endpoint `/webhooks/payments/stripe/connect` (events of businesses' own accounts: their customers' booking payments); unset, the endpoint answers 404 and booking payments settle by the payment job asking Stripe.
    stripe_connect_webhook_secret: String, env "TESSERA_STRIPE_CONNECT_WEBHOOK_SECRET", optional("unset"),
        tidy non_empty,
        check when_set(|secret: &String| webhook_secret(secret)),
        shown_as secret,
        clap(hide_env_values = true);

    /// Stripe's API address (a stand-in such as localstripe for tests).
    stripe_api_base: String, env "TESSERA_STRIPE_API_BASE", default("`https://api.stripe.com`") = "https://api.stripe.com".into(),
        tidy trimmed,
        check http_url;

    /// Conekta private key (`key_…`) for what businesses pay the platform at Conekta; unset, Conekta is not offered.
    conekta_private_key: String, env "TESSERA_CONEKTA_PRIVATE_KEY", optional("unset"),
        tidy non_empty,
        check when_set(|key: &String| match key.starts_with("key_") {
            true => Ok(()),
            false => Err("must be a Conekta private key (key_…)".into()),
        }),
        shown_as secret,
        clap(hide_env_values = true);

    /// Conekta's API address (a stand-in for tests).
    conekta_api_base: String, env "TESSERA_CONEKTA_API_BASE", default("`https://api.conekta.io`") = "https://api.conekta.io".into(),
        tidy trimmed,
        check http_url;

    /// The gateway's public URL, for the email open pixel.
    public_url: String, env "TESSERA_PUBLIC_URL", default("`http://<listen>`") = format!("http://{listen}"),
        tidy trimmed,
        check http_url;

    /// Where links in emails lead (`/verify-email`, `/reset-password`, `/accept-invitation`, token after `#token=`); unset, the gateway serves plain pages for them.
    app_url: String, env "TESSERA_APP_URL", default("the public URL") = public_url.clone(),
        tidy trimmed,
        check http_url;

    /// Comma-separated origins of the pages that use passkeys (a loopback address counts as `localhost`).
    passkey_origins: Vec<String>, env "TESSERA_PASSKEY_ORIGINS",
        default("the origins of the app URL and the public URL") = default_passkey_origins(&[&app_url, &public_url]),
        tidy each_origin,
        check |origins: &Vec<String>| {
            if origins.iter().any(|o| url::Url::parse(o).is_ok_and(|u| u.host_str().is_some())) {
                Ok(())
            } else {
                Err("must hold at least one URL such as https://app.example.com".into())
            }
        },
        clap(value_delimiter = ',');

    /// The domain passkeys belong to (WebAuthn relying party id): that host or a parent domain, such as `example.com`.
    passkey_rp_id: String, env "TESSERA_PASSKEY_RP_ID", default("the host of the first passkey origin") = passkey_origins
            .iter()
            .find_map(|o| url::Url::parse(o).ok().and_then(|u| u.host_str().map(str::to_owned)))
            .unwrap_or_default(),
        tidy |id: Option<String>| id.map(|id| id.trim().to_ascii_lowercase());

    /// Allow webhooks to `http://` and loopback/private addresses (IPv4 hidden in IPv6 — mapped, NAT64, 6to4, Teredo — counts as what it hides).
    webhook_allow_internal: bool, env "TESSERA_WEBHOOK_ALLOW_INTERNAL", default("`true` (dev), `false` (prod)") =
        environment == Environment::Development;

    /// Bearer token for `/metrics` (16+ characters); unset, `/metrics` is open in development and closed in production.
    metrics_token: String, env "TESSERA_METRICS_TOKEN", optional("unset"),
        tidy |token: Option<String>| token.map(|t| t.trim().to_owned()),
        check when_set(|token: &String| match token.len() >= 16 {
            true => Ok(()),
            false => Err("must be at least 16 characters".into()),
        }),
        shown_as secret,
        clap(hide_env_values = true);

    /// Reverse proxies whose `X-Forwarded-For` is believed (`10.0.0.0/8, 127.0.0.1`); the client is the first entry from the right that none of them wrote. Set it behind a proxy, or every client shares the proxy's address (and its login and sign-up limits).
    trusted_proxies: Networks, env "TESSERA_TRUSTED_PROXIES", default("unset") = Networks::default();
}
