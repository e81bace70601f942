//! Building a gateway from its configuration: connect, migrate, seed, wire.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DbErr;
use tessera_audit::AuditService;
use tessera_billing::BillingService;
use tessera_billing::gateway::PaymentGateway;
use tessera_billing::gateway::conekta::{ConektaConfig, ConektaGateway};
use tessera_billing::gateway::stripe::{StripeConfig, StripeGateway};
use tessera_identity::{
    AccountLinks, CeremonyStore, DatabaseCeremonies, IdentityService, PasswordHasher, PasswordPolicy, SessionPolicy,
};
use tessera_kernel::{Db, SharedClock, SystemClock, TenantTier};
use tessera_ledger::{UsageHooks, UsageService};
use tessera_migrations::{Migrator, MigratorTrait};
use tessera_notify::{
    DeliveryWorker, EmailSender, NotifyService, Providers, PushSender, SmsSender, SmtpSender, TargetPolicy,
    WebhookClient, WorkerConfig,
};
use tessera_rbac::{RbacLifecycle, RbacService};
use tessera_tenant::TenantService;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::caller::recall::CallerCache;
use crate::ceremonies::RedisCeremonies;
use crate::config::{Config, redact_url};
use crate::events::{EventBus, spawn_relay};
use crate::flows::billing_notices::GatewayBillingHooks;
use crate::flows::usage_notices::GatewayUsageHooks;
use crate::graphql::{build_schema, public_root_fields};
use crate::http::metrics::Metrics;
use crate::http::persisted::{Documents, PersistedQueries};
use crate::http::request_counts::FLUSH_EVERY;
use crate::http::trusted::TrustedDocuments;
use crate::http::{AppInner, AppState};
use crate::rate_limits::RateLimits;
use crate::services::Services;

/// What can stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be reached or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// The URL, password redacted.
        url: String,
        /// Why.
        source: DbErr,
    },
    /// The data directory for the embedded database could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Redis URL is malformed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Seeding the demo failed.
    #[error("seeding the demo tenant: {0}")]
    Seed(String),
    /// The trusted-documents file is unreadable or wrong.
    #[error("trusted documents: {0}")]
    TrustedDocuments(String),
    /// A notification provider could not be set up.
    #[error("notifications: {0}")]
    Notify(String),
    /// The passkey relying party is misconfigured.
    #[error("passkeys: {0}")]
    Passkeys(String),
    /// A payment provider's client could not be set up.
    #[error("payments: {0}")]
    Payments(String),
}

/// Options that tests change; production uses the defaults.
#[derive(Clone)]
pub struct AppOptions {
    /// The clock every service reads.
    pub clock: SharedClock,
    /// How often open WebSockets re-check their session.
    pub ws_session_check: Duration,
    /// How long a WebSocket client has to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// Password hashing concurrency and queue bound.
    pub hasher: PasswordHasher,
    /// How often the outbox relay looks for events nobody kicked it for (a failed
    /// publish, another replica's rows); writes wake it at once regardless.
    pub relay_poll_interval: Duration,
    /// How often the delivery worker looks for due notifications; `None` runs no
    /// worker (tests drive `Services::deliveries` themselves).
    pub delivery_poll_interval: Option<Duration>,
    /// How often the billing job applies what time made due (trials ending,
    /// subscriptions ending); `None` runs no job (tests run
    /// `BillingService::run_due` after moving their clock).
    pub billing_poll_interval: Option<Duration>,
    /// How often the waitlist job frees offers that ran out and offers free
    /// time to those waiting; `None` runs no job (tests run
    /// `SchedulingService::run_waitlist` after moving their clock).
    pub waitlist_poll_interval: Option<Duration>,
    /// Sends email instead of the configured SMTP server (tests record instead).
    pub email: Option<Arc<dyn EmailSender>>,
    /// The SMS provider, if any.
    pub sms: Option<Arc<dyn SmsSender>>,
    /// The push provider, if any.
    pub push: Option<Arc<dyn PushSender>>,
    /// Pacing of the delivery worker (retries, leases, batch size).
    pub delivery: WorkerConfig,
    /// Payment gateways besides (or instead of) the configured ones, one per
    /// provider (tests give fakes of providers that cannot run here).
    pub payment_gateways: Vec<Arc<dyn PaymentGateway>>,
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field("clock", &self.clock)
            .field("ws_session_check", &self.ws_session_check)
            .field("ws_init_timeout", &self.ws_init_timeout)
            .field("relay_poll_interval", &self.relay_poll_interval)
            .field("delivery_poll_interval", &self.delivery_poll_interval)
            .field("billing_poll_interval", &self.billing_poll_interval)
            .field("waitlist_poll_interval", &self.waitlist_poll_interval)
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("push", &self.push.is_some())
            .field("payment_gateways", &self.payment_gateways.len())
            .finish_non_exhaustive()
    }
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ws_session_check: Duration::from_secs(30),
            ws_init_timeout: Duration::from_secs(10),
            hasher: PasswordHasher::for_this_machine(),
            relay_poll_interval: Duration::from_secs(1),
            delivery_poll_interval: Some(Duration::from_secs(2)),
            billing_poll_interval: Some(Duration::from_secs(60)),
            waitlist_poll_interval: Some(Duration::from_secs(60)),
            email: None,
            sms: None,
            push: None,
            delivery: WorkerConfig::default(),
            payment_gateways: Vec::new(),
        }
    }
}

/// A built gateway: its state and background tasks.
pub struct App {
    /// The shared state (router input).
    pub state: AppState,
    tasks: Vec<JoinHandle<()>>,
}

/// Creates the directory of an embedded SQLite file URL, if needed.
fn ensure_sqlite_dir(url: &str) -> Result<(), StartupError> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| StartupError::DataDir { path: dir.display().to_string(), source })?;
    }
    Ok(())
}

/// Connects to the configured database and applies pending migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<Db, StartupError> {
    let db = connect(config).await?;
    let url = redact_url(&config.database_url);
    let failed = |source| StartupError::Database { url: url.clone(), source };
    Migrator::up(db.connection(), None).await.map_err(failed)?;
    if !config.is_embedded_database() {
        return Ok(db);
    }
    // SQLite: the migrations' connections are closed and the gateway opens
    // fresh ones. A pooled connection can keep a snapshot of the schema from
    // before a migration (WAL readers), and then prepares a statement without
    // the index the migration added ("ON CONFLICT clause does not match").
    db.connection().close_by_ref().await.map_err(failed)?;
    connect(config).await
}

/// Connects to the configured database.
pub async fn connect(config: &Config) -> Result<Db, StartupError> {
    if config.is_embedded_database() {
        ensure_sqlite_dir(&config.database_url)?;
    }
    Db::connect(&config.db_options())
        .await
        .map_err(|source| StartupError::Database { url: redact_url(&config.database_url), source })
}

impl App {
    /// Connects, migrates, seeds the demo when configured, and starts the relay.
    pub async fn build(config: Config, options: AppOptions) -> Result<Self, StartupError> {
        let db = connect_and_migrate(&config).await?;
        let shutdown = CancellationToken::new();
        let bus = match &config.redis_url {
            Some(url) => EventBus::with_redis(url, shutdown.clone())?,
            None => EventBus::in_process(),
        };
        let (relay, relay_task) =
            spawn_relay(db.clone(), bus.clone(), options.clock.clone(), options.relay_poll_interval, shutdown.clone());
        let policy = SessionPolicy {
            idle_timeout: config.session_idle(),
            absolute_timeout: config.session_max(),
            ..SessionPolicy::default()
        };
        let policy_for_webhooks = TargetPolicy { allow_internal: config.webhook_allow_internal };
        let email: Option<Arc<dyn EmailSender>> = match (&options.email, &config.smtp_url) {
            (Some(email), _) => Some(email.clone()),
            (None, Some(url)) => Some(Arc::new(SmtpSender::new(url, &config.mail_from).map_err(StartupError::Notify)?)),
            (None, None) => None,
        };
        let providers = Providers {
            email,
            sms: options.sms.clone(),
            push: options.push.clone(),
            webhooks: WebhookClient::new(policy_for_webhooks, Duration::from_secs(10)).map_err(StartupError::Notify)?,
        };
        let worker_config = WorkerConfig {
            mail_from: config.mail_from.clone(),
            public_url: Some(config.public_url.clone()),
            ..options.delivery.clone()
        };
        let usage_hooks: Arc<dyn UsageHooks> = Arc::new(GatewayUsageHooks);
        let deliveries =
            DeliveryWorker::new(db.clone(), providers, worker_config, options.clock.clone(), usage_hooks.clone());
        let ceremonies: Arc<dyn CeremonyStore> = match &config.redis_url {
            Some(url) => Arc::new(RedisCeremonies::new(url)?),
            None => Arc::new(DatabaseCeremonies::new(db.clone())),
        };
        let services = Arc::new(Services {
            tenants: TenantService::new(db.clone(), Arc::new(RbacLifecycle::new(usage_hooks.clone())))
                .with_new_tenant_tier(TenantTier::parse(&config.new_tenant_tier).unwrap_or(TenantTier::Free)),
            rbac: RbacService::new(db.clone(), usage_hooks.clone())
                .with_links(AccountLinks::new(&config.app_url))
                .with_invitations_per_day(config.invitations_per_day),
            audit: AuditService::new(db.clone()),
            identity: IdentityService::new(db.clone(), options.hasher.clone(), policy, usage_hooks.clone())
                .with_password_policy(PasswordPolicy {
                    min_chars: config.password_min_length,
                    history: config.password_history,
                })
                .with_links(AccountLinks::new(&config.app_url))
                .with_sign_ups_per_client_hour(config.sign_ups_per_client_hour)
                .with_relying_party(&config.passkeys())
                .map_err(|e| StartupError::Passkeys(e.public_message()))?
                .with_ceremonies(ceremonies)
                .with_session_endings(Arc::new(bus.clone())),
            scheduling: tessera_scheduling::SchedulingService::new(db.clone(), usage_hooks.clone()),
            notify: NotifyService::new(db.clone(), policy_for_webhooks, usage_hooks.clone()),
            usage: UsageService::new(db.clone()),
            billing: billing_service(&db, &config, &options, usage_hooks.clone())?,
            usage_hooks: usage_hooks.clone(),
            deliveries: deliveries.clone(),
            bus,
            relay,
            clock: options.clock.clone(),
            public_url: config.public_url.clone(),
        });
        if config.seed_demo {
            crate::demo::seed_if_empty(&services).await.map_err(|e| StartupError::Seed(e.domain().public_message()))?;
        }
        let housekeeping_task =
            spawn_housekeeping(services.clone(), config.account_activity_retention(), shutdown.clone());
        let schema = build_schema(&config.limits(), config.introspection);
        let public_fields = public_root_fields(&schema);
        let trusted = match &config.trusted_documents {
            Some(path) => Some(TrustedDocuments::load(Path::new(path)).map_err(StartupError::TrustedDocuments)?),
            None => None,
        };
        let documents =
            Documents::new(PersistedQueries::new(config.persisted_queries_bytes), trusted, config.untrusted_documents);
        // Replicas tell each other of access changes through Redis; PostgreSQL
        // without it may have replicas that would never hear, so nothing is reused.
        let rights_reuse_seconds = match (&config.redis_url, config.is_embedded_database()) {
            (None, false) => 0,
            _ => config.rights_reuse_seconds,
        };
        let rate_limits = RateLimits::new(
            config.redis_url.as_deref().map(redis::Client::open).transpose()?,
            config.platform_requests_per_minute,
        );
        let state = AppState::new(AppInner {
            config: Arc::new(config),
            schema,
            public_fields,
            services,
            db,
            metrics: Metrics::new(),
            shutdown,
            ws_session_check: options.ws_session_check,
            ws_init_timeout: options.ws_init_timeout,
            ws_operations: Default::default(),
            event_rights: Default::default(),
            callers: CallerCache::new(rights_reuse_seconds),
            documents,
            request_counts: Default::default(),
            rate_limits,
        });
        let counts_task = spawn_request_counts(state.clone());
        let mut tasks = vec![relay_task, housekeeping_task, counts_task];
        if let Some(poll) = options.delivery_poll_interval {
            tasks.push(tokio::spawn(deliveries.run(poll, state.shutdown.clone())));
        }
        if let Some(poll) = options.billing_poll_interval {
            tasks.push(spawn_billing(state.services.clone(), poll, state.shutdown.clone()));
        }
        if let Some(poll) = options.waitlist_poll_interval {
            tasks.push(spawn_waitlist(state.services.clone(), poll, state.shutdown.clone()));
        }
        Ok(Self { state, tasks })
    }

    /// Stops background tasks and waits for them.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Writes the API requests counted per credential every `FLUSH_EVERY`, and
/// once more at shutdown.
fn spawn_request_counts(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let stopping = tokio::select! {
                () = state.shutdown.cancelled() => true,
                () = tokio::time::sleep(FLUSH_EVERY) => false,
            };
            if let Err(err) = state.request_counts.flush(&state.db, &state.services).await {
                warn!(error = %err, "request counts could not be written");
            }
            if stopping {
                break;
            }
        }
    })
}

/// Billing with the payment gateways: Stripe and Conekta when their keys are
/// configured, then those the options give.
fn billing_service(
    db: &Db,
    config: &Config,
    options: &AppOptions,
    usage: Arc<dyn UsageHooks>,
) -> Result<BillingService, StartupError> {
    let mut billing = BillingService::new(db.clone(), Arc::new(GatewayBillingHooks), usage);
    if let Some(key) = &config.stripe_secret_key {
        let stripe = StripeConfig { api_base: config.stripe_api_base.clone(), ..StripeConfig::new(key.clone()) };
        let gateway = StripeGateway::new(stripe).map_err(StartupError::Payments)?;
        billing = billing.with_gateway(Arc::new(gateway));
    }
    if let Some(key) = &config.conekta_private_key {
        let conekta = ConektaConfig { api_base: config.conekta_api_base.clone(), ..ConektaConfig::new(key.clone()) };
        let gateway = ConektaGateway::new(conekta).map_err(StartupError::Payments)?;
        billing = billing.with_gateway(Arc::new(gateway));
    }
    for gateway in &options.payment_gateways {
        billing = billing.with_gateway(gateway.clone());
    }
    Ok(billing)
}

/// Every `poll`: applies to subscriptions what the clock made due.
fn spawn_billing(services: Arc<Services>, poll: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match services.billing.run_due(services.clock.now()).await {
                Ok(report) if report != tessera_billing::DueReport::default() => {
                    info!(?report, "billing steps applied")
                }
                Ok(_) => {}
                Err(err) => warn!(error = %err, "the billing job failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// Every `poll`: frees waitlist offers that ran out and offers free time to
/// those waiting (`SchedulingService::run_waitlist`).
fn spawn_waitlist(services: Arc<Services>, poll: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match services.scheduling.run_waitlist(services.clock.now()).await {
                Ok(run) if run != tessera_scheduling::WaitlistRun::default() => info!(?run, "waitlist offers made"),
                Ok(_) => {}
                Err(err) => warn!(error = %err, "the waitlist job failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// Hourly: purges tenants whose deletion grace period is over, generates the
/// sessions of recurring classes the days brought within reach, and expires
/// activity past its retention.
fn spawn_housekeeping(
    services: Arc<Services>,
    account_retention: chrono::Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match services.tenants.purge_expired(services.clock.now()).await {
                Ok(0) => {}
                Ok(purged) => info!(purged, "purged tenants past their deletion grace period"),
                Err(err) => warn!(error = %err, "purging deleted tenants failed"),
            }
            match services.scheduling.extend_class_schedules(services.clock.now()).await {
                Ok(0) => {}
                Ok(made) => info!(made, "generated the sessions of recurring classes"),
                Err(err) => warn!(error = %err, "generating class sessions failed"),
            }
            match crate::retention::sweep(&services, account_retention, services.clock.now()).await {
                Ok(swept) if swept.removed_anything() => info!(?swept, "expired activity past its retention"),
                Ok(_) => {}
                Err(err) => warn!(error = %err, "expiring activity failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    })
}
