//! Test harness: the real gateway on a random loopback port, a fresh database per
//! test, a manual clock, and small HTTP and WebSocket clients.
//!
//! The backend follows the environment: SQLite by default; PostgreSQL when
//! `TESSERA_TEST_DATABASE_URL` names a server (each test gets its own database,
//! dropped afterwards) and Redis when `TESSERA_TEST_REDIS_URL` is set. With
//! `TESSERA_REQUIRE_SERVICES=1` a missing variable fails the test instead of
//! silently falling back to SQLite.

#![allow(missing_docs, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fake_conekta;
pub mod fake_gateway;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tessera_api::config::{Config, ConfigArgs};
use tessera_api::http::AppState;
use tessera_api::{App, AppOptions, server};
use tessera_identity::PasswordHasher;
use tessera_kernel::{Actor, Clock, ManualClock, RequestContext, RequestMeta, RoleId, SessionId, SystemClock, UserId};
use tessera_notify::{EmailMessage, Recorder, ShortMessage, WorkerConfig};
use tessera_rbac::BuiltinRole;
use tessera_tenant::TenantRef;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub const PASSWORD: &str = "correct horse battery staple";

/// Whether `TESSERA_REQUIRE_SERVICES=1` asks for every configured service to be there.
pub fn services_required() -> bool {
    std::env::var("TESSERA_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The PostgreSQL admin URL for tests, if configured.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("TESSERA_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && services_required() {
        panic!("TESSERA_REQUIRE_SERVICES=1 but TESSERA_TEST_DATABASE_URL is not set");
    }
    url
}

/// The Redis URL for tests, if configured.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("TESSERA_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && services_required() {
        panic!("TESSERA_REQUIRE_SERVICES=1 but TESSERA_TEST_REDIS_URL is not set");
    }
    url
}

/// The address of localstripe (a fake Stripe server, from PyPI) for this test
/// process, started on first use on a free loopback port and stopped when the
/// process ends. It runs from `tests/py/.venv`, made on first use by
/// [`ensure_localstripe`] (or `TESSERA_LOCALSTRIPE_PYTHON`). When it cannot be
/// had (no Python), a test that needs it is skipped with a note, or fails
/// under `TESSERA_REQUIRE_SERVICES=1`.
pub fn localstripe() -> Option<String> {
    use std::io::BufRead;
    use std::sync::{Mutex, OnceLock};
    static SERVER: OnceLock<Option<(Mutex<std::process::Child>, String)>> = OnceLock::new();
    let started = SERVER.get_or_init(|| {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = match std::env::var("TESSERA_LOCALSTRIPE_PYTHON") {
            Ok(python) => std::path::PathBuf::from(python),
            Err(_) => ensure_localstripe(&here.join("py"))?,
        };
        let mut child = std::process::Command::new(&python)
            .arg(here.join("py/localstripe_loopback.py"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("localstripe starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its output");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("localstripe says its port");
        let port: u16 = line.trim().parse().expect("localstripe printed its port");
        Some((Mutex::new(child), format!("http://127.0.0.1:{port}")))
    });
    started.as_ref().map(|(_, url)| url.clone())
}

/// Makes `py/.venv` with localstripe (`py/requirements.txt`) when Python is
/// here and it is not yet, as [`ensure_js_tools`] does for npm; returns its
/// Python. Absent, says so (a failure under `TESSERA_REQUIRE_SERVICES=1`).
pub fn ensure_localstripe(py: &std::path::Path) -> Option<std::path::PathBuf> {
    let python = py.join(".venv/bin/python");
    let installed = || py.join(".venv/.installed").exists();
    if !installed()
        && let Ok(lock) = std::fs::File::create(py.join(".install.lock"))
        && lock.lock().is_ok()
        && !installed()
    {
        let venv = std::process::Command::new("python3").args(["-m", "venv"]).arg(py.join(".venv")).output();
        let pip = venv.ok().filter(|o| o.status.success()).and_then(|_| {
            std::process::Command::new(&python)
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"])
                .arg(py.join("requirements.txt"))
                .output()
                .ok()
        });
        match pip {
            Some(output) if output.status.success() => {
                let _ = std::fs::write(py.join(".venv/.installed"), "");
            }
            Some(output) => eprintln!("pip install in tests/py failed: {}", String::from_utf8_lossy(&output.stderr)),
            None => eprintln!("python3 -m venv is not available: install Python 3 to run the payment tests"),
        }
    }
    if installed() {
        return Some(python);
    }
    let why = "localstripe could not be installed in tests/py/.venv (Python 3 with venv, and PyPI, are needed)";
    assert!(!services_required(), "TESSERA_REQUIRE_SERVICES=1 but {why}");
    say_skipped(&format!("skipped: {why}"));
    None
}

/// A database made for one test.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PostgresDatabase {
        admin_url: String,
        name: String,
    },
    /// A PostgreSQL database the test was given, kept as it is.
    Given,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("postgres URL has a path");
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
        match postgres_url() {
            Some(admin_url) => {
                let admin = Database::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await.ok();
                Self { url: with_database(&admin_url, &name), cleanup: Cleanup::PostgresDatabase { admin_url, name } }
            }
            None => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Self { url: format!("sqlite://{}?mode=rwc", path.display()), cleanup: Cleanup::SqliteFile(path) }
            }
        }
    }

    /// The PostgreSQL database at `url`, used as it is and kept afterwards (a
    /// database on a Citus cluster, which a test cannot create in a moment).
    pub fn given(url: String) -> Self {
        Self { url, cleanup: Cleanup::Given }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::PostgresDatabase { .. } | Cleanup::Given)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async; use a short-lived runtime on its own thread.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ =
                                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
            Cleanup::Given => {}
        }
    }
}

/// A running gateway.
pub struct TestApp {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub database: Arc<TestDatabase>,
    /// What email the gateway sent (unless the test configured an SMTP server).
    pub email: Recorder<EmailMessage>,
    /// What SMS the gateway sent.
    pub sms: Recorder<ShortMessage>,
    /// What push notifications the gateway sent.
    pub push: Recorder<ShortMessage>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// A gateway with the default configuration on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A gateway whose configuration `adjust` may change.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ConfigArgs)) -> Self {
        let database = Arc::new(TestDatabase::create().await);
        Self::spawn_on(database, adjust).await
    }

    /// A gateway on an existing test database (for several replicas on one database).
    pub async fn spawn_on(database: Arc<TestDatabase>, adjust: impl FnOnce(&mut ConfigArgs)) -> Self {
        Self::spawn_with_options(database, adjust, |_| {}).await
    }

    /// A gateway whose configuration and options the caller may change.
    pub async fn spawn_with_options(
        database: Arc<TestDatabase>,
        adjust: impl FnOnce(&mut ConfigArgs),
        adjust_options: impl FnOnce(&mut AppOptions),
    ) -> Self {
        // The server's log goes to the test's output, shown when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_test_writer()
            .try_init();
        let mut args = ConfigArgs {
            database_url: Some(database.url.clone()),
            redis_url: redis_url(),
            seed_demo: Some(false),
            // Every test signs its people up from 127.0.0.1.
            sign_ups_per_client_hour: Some(100_000),
            // Every test's anonymous requests come from 127.0.0.1 too; the
            // tests of rate limits (`rate_limits.rs`) set their own.
            platform_requests_per_minute: Some(0),
            // Tests of other features are not held by a tier's limits; the
            // tests of limits (`usage.rs`) choose a tier or a limit.
            new_tenant_tier: Some("enterprise".into()),
            log: Some("warn".into()),
            shutdown_grace_seconds: Some(2),
            ..ConfigArgs::default()
        };
        adjust(&mut args);
        let config = Config::load(&args).expect("valid test configuration");
        let clock = ManualClock::new(SystemClock.now());
        let (email, sms, push) = (Recorder::new(), Recorder::new(), Recorder::new());
        let mut options = AppOptions {
            clock: Arc::new(clock.clone()),
            ws_session_check: Duration::from_millis(200),
            ws_init_timeout: Duration::from_secs(2),
            hasher: PasswordHasher::new(2, 256),
            relay_poll_interval: Duration::from_secs(1),
            // Tests send notifications when they choose: `TestApp::deliver`.
            delivery_poll_interval: None,
            // Tests apply what their clock made due: `TestApp::run_billing`.
            billing_poll_interval: None,
            // And its waitlist offers: `SchedulingService::run_waitlist`.
            waitlist_poll_interval: None,
            email: Some(Arc::new(email.clone())),
            sms: Some(Arc::new(sms.clone())),
            push: Some(Arc::new(push.clone())),
            delivery: WorkerConfig::default(),
            payment_gateways: Vec::new(),
        };
        adjust_options(&mut options);
        let app = App::build(config, options).await.expect("gateway builds");
        let state = app.state.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(server::serve(app, listener, std::future::pending()));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Self { address, http, clock, state, database, email, sms, push, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.address)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs the delivery worker until nothing is due; returns how many deliveries
    /// it took.
    pub async fn deliver(&self) -> usize {
        self.state.services.deliveries.drain().await.expect("the delivery worker runs")
    }

    /// Runs the billing job at the test's clock (trials ending, subscriptions
    /// ending at their period's end).
    pub async fn run_billing(&self) -> tessera_billing::DueReport {
        self.state.services.billing.run_due(self.now()).await.expect("the billing job runs")
    }

    /// The rows `sql` (plain SQL both databases understand) reads, straight from
    /// the database: for what the API does not show, such as what the outbox keeps.
    pub async fn rows(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        use sea_orm::ConnectionTrait;
        let connection = self.state.db.connection();
        connection
            .query_all_raw(sea_orm::Statement::from_string(connection.get_database_backend(), sql))
            .await
            .expect("the query runs")
    }

    /// Runs `sql` (a change both databases understand) straight on the database,
    /// for states the API cannot make any more (an account from before sign-ups
    /// proved addresses).
    pub async fn execute(&self, sql: &str) {
        self.try_execute(sql).await.expect("the statement runs");
    }

    /// Runs `sql` straight on the database and returns what it said: for
    /// proving a constraint refuses a write.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, sea_orm::DbErr> {
        use sea_orm::ConnectionTrait;
        let connection = self.state.db.connection();
        let done =
            connection.execute_raw(sea_orm::Statement::from_string(connection.get_database_backend(), sql)).await?;
        Ok(done.rows_affected())
    }

    /// Sends everything due (the setup's account messages, such as verification
    /// links) and forgets it, so a test sees only the messages it causes next.
    pub async fn settle(&self) {
        self.deliver().await;
        self.email.clear();
        self.sms.clear();
        self.push.clear();
    }

    /// POSTs a GraphQL request and returns status and body.
    pub async fn post(&self, auth: &Auth, query: &str, variables: Value) -> (u16, Value) {
        let request = self
            .http
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        auth.send(request).await
    }

    /// POSTs and returns `data`, failing the test on any error.
    pub async fn ok(&self, auth: &Auth, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(auth, query, variables).await;
        assert!(status == 200 && body.get("errors").is_none(), "expected success, got {status}: {body}");
        body["data"].clone()
    }

    /// POSTs and returns the first error's code.
    pub async fn error_code(&self, auth: &Auth, query: &str, variables: Value) -> String {
        let (_, body) = self.post(auth, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {body}"))
            .to_owned()
    }

    /// Signs up a user as a person would (`signUp`, then the emailed link with
    /// `completeSignUp`) and returns their credentials.
    pub async fn sign_up(&self, email: &str) -> Auth {
        let data = self
            .ok(
                &Auth::anonymous(),
                "mutation($input: SignUpInput!) { signUp(input: $input) { email } }",
                json!({ "input": { "email": email, "password": PASSWORD, "displayName": email } }),
            )
            .await;
        let address = data["signUp"]["email"].as_str().expect("the normalised address").to_owned();
        let token = self.sign_up_link(&address).await.expect("a sign-up link was queued");
        let data = self
            .ok(
                &Auth::anonymous(),
                "mutation($token: String!) { completeSignUp(token: $token) { accessToken refreshToken sessionId user { id } } }",
                json!({ "token": token }),
            )
            .await;
        Auth::from_payload(&data["completeSignUp"])
    }

    /// The token of the newest sign-up link queued for `address`, read from the
    /// outbox as the mailbox would receive it (without sending anything else).
    pub async fn sign_up_link(&self, address: &str) -> Option<String> {
        let sql = format!(
            "SELECT variables FROM account_messages WHERE topic = 'account.sign_up' AND cancelled_at IS NULL AND recipient_email = '{}' ORDER BY id DESC",
            address.replace('\'', "''")
        );
        let rows = self.rows(&sql).await;
        let variables: String = rows.first()?.try_get_by_index(0).expect("variables");
        let variables: Value = serde_json::from_str(&variables).expect("JSON variables");
        let link = variables["link"].as_str()?;
        Some(link.split_once("#token=")?.1.to_owned())
    }

    /// The id of the built-in role (`STAFF`, `OWNER`…) in `owner`'s tenant.
    pub async fn builtin_role_id(&self, owner: &Auth, builtin: &str) -> String {
        let roles = self.ok(owner, "{ roles(first: 20) { edges { node { id builtin } } } }", json!({})).await;
        roles["roles"]["edges"]
            .as_array()
            .expect("roles")
            .iter()
            .find(|e| e["node"]["builtin"] == builtin)
            .and_then(|e| e["node"]["id"].as_str())
            .expect("the built-in role")
            .to_owned()
    }

    /// Signs in an existing user (password [`PASSWORD`]).
    pub async fn login(&self, email: &str) -> Auth {
        self.login_with(email, PASSWORD).await
    }

    /// Signs in an existing user with `password`.
    pub async fn login_with(&self, email: &str, password: &str) -> Auth {
        let data = self
            .ok(
                &Auth::anonymous(),
                "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken refreshToken sessionId user { id } } }",
                json!({ "email": email, "password": password }),
            )
            .await;
        Auth::from_payload(&data["login"])
    }

    /// Signs up a user who owns a new tenant with `slug`; returns them acting in it.
    pub async fn owner_of(&self, slug: &str) -> (Auth, String) {
        let auth = self.sign_up(&format!("owner@{slug}.test")).await;
        let data = self
            .ok(
                &auth,
                "mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }",
                json!({ "input": { "name": format!("Tenant {slug}"), "slug": slug, "timezone": "Europe/Madrid" } }),
            )
            .await;
        let id = data["createTenant"]["id"].as_str().expect("tenant id").to_owned();
        (auth.in_tenant(slug), id)
    }

    /// Signs up `email` and makes them a member of `owner`'s tenant with `roles`
    /// (built-in keys such as `staff`, or role ids; the tenant's default role when
    /// empty), granted by the owner. Returns them acting in the tenant. Members join
    /// through the services: invitations, the HTTP way, come with identity.
    pub async fn add_member(&self, owner: &Auth, email: &str, roles: &[&str]) -> Auth {
        let member = self.sign_up(email).await;
        let services = &self.state.services;
        let tenant = owner.tenant.clone().expect("the owner acts in a tenant");
        let owner_id: UserId = owner.user_id.as_deref().expect("owner id").parse().expect("a user id");
        let session_id: SessionId = owner.session_id.as_deref().expect("session id").parse().expect("a session id");
        let (_, scope) = services
            .rbac
            .resolve_scope(owner_id, &TenantRef::parse(&tenant).expect("tenant ref"), self.now())
            .await
            .expect("the owner belongs to the tenant");
        let ctx = RequestContext::anonymous(RequestMeta::default(), services.clock.clone())
            .with_actor(Actor { user_id: owner_id, session_id })
            .with_tenant(scope);
        let mut role_ids: Vec<RoleId> = Vec::new();
        for role in roles {
            let id = match BuiltinRole::ALL.into_iter().find(|b| b.key() == *role) {
                Some(builtin) => services.rbac.builtin_role(&ctx, builtin).await.expect("built-in role").id,
                None => role.parse().expect("a built-in key or a role id"),
            };
            role_ids.push(id);
        }
        let user_id: UserId = member.user_id.as_deref().expect("member id").parse().expect("a user id");
        services.rbac.add_member(&ctx, user_id, &role_ids).await.expect("member added");
        member.in_tenant(&tenant)
    }

    /// Opens a WebSocket asking for `protocol` (none when empty), from `origin`.
    pub async fn websocket(
        &self,
        protocol: &str,
        origin: Option<&str>,
    ) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        let mut request = self.ws_url().into_client_request()?;
        if !protocol.is_empty() {
            request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_str(protocol).expect("header"));
        }
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", HeaderValue::from_str(origin).expect("header"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { stream })
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
    }
}

/// Credentials for a request.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub token: Option<String>,
    pub refresh: Option<String>,
    pub tenant: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

impl Auth {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn from_payload(payload: &Value) -> Self {
        Self {
            token: payload["accessToken"].as_str().map(str::to_owned),
            refresh: payload["refreshToken"].as_str().map(str::to_owned),
            user_id: payload["user"]["id"].as_str().map(str::to_owned),
            session_id: payload["sessionId"].as_str().map(str::to_owned),
            tenant: None,
        }
    }

    /// Sends `request` with this caller's token and tenant; its status and JSON body.
    pub async fn send(&self, mut request: reqwest::RequestBuilder) -> (u16, Value) {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(tenant) = &self.tenant {
            request = request.header("x-tenant", tenant);
        }
        let response = request.send().await.expect("request sent");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    pub fn in_tenant(&self, tenant: &str) -> Self {
        Self { tenant: Some(tenant.to_owned()), ..self.clone() }
    }

    pub fn init_payload(&self) -> Value {
        let mut payload = serde_json::Map::new();
        if let Some(token) = &self.token {
            payload.insert("Authorization".into(), json!(format!("Bearer {token}")));
        }
        if let Some(tenant) = &self.tenant {
            payload.insert("X-Tenant".into(), json!(tenant));
        }
        Value::Object(payload)
    }
}

/// A WebSocket client speaking JSON messages.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What arrived on a WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent {
    Json(Value),
    Closed(Option<u16>),
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        self.stream.send(Message::text(message.to_string())).await.expect("ws send");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream.send(Message::text(text.to_owned())).await.expect("ws send");
    }

    /// The next JSON message or the close code, within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<WsEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(WsEvent::Json(serde_json::from_str(&text).expect("json message")));
                }
                Some(Ok(Message::Close(frame))) => return Some(WsEvent::Closed(frame.map(|f| u16::from(f.code)))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(WsEvent::Closed(None)),
            }
        }
    }

    /// The next text message as sent, byte for byte (`None`: none in time, or closed).
    pub async fn next_text(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?? {
                Ok(Message::Text(text)) => return Some(text.to_string()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Waits for the server to close, returning its close code.
    pub async fn closed_with(&mut self, within: Duration) -> Option<u16> {
        loop {
            match self.next(within).await? {
                WsEvent::Closed(code) => return code,
                WsEvent::Json(_) => continue,
            }
        }
    }

    /// Sends `connection_init` and expects `connection_ack`.
    pub async fn init(&mut self, auth: &Auth) {
        self.send(json!({"type": "connection_init", "payload": auth.init_payload()})).await;
        let ack = self.next(Duration::from_secs(10)).await;
        assert_eq!(ack, Some(WsEvent::Json(json!({"type": "connection_ack"}))), "expected an ack");
    }
}

/// A TCP proxy in front of a server, which a test can cut and restore to simulate
/// the server going away and coming back.
pub struct FlakyLink {
    pub address: SocketAddr,
    down: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FlakyLink {
    /// A link to the test Redis and the `redis://` URL that goes through it;
    /// `None` (with `why` printed) when no Redis is configured.
    pub async fn to_redis(why: &str) -> Option<(Self, String)> {
        let Some(redis) = redis_url() else {
            eprintln!("{why}; set TESSERA_TEST_REDIS_URL");
            return None;
        };
        let upstream = redis.trim_start_matches("redis://").trim_end_matches('/').to_owned();
        let link = Self::to(upstream).await;
        let url = format!("redis://{}", link.address);
        Some((link, url))
    }

    /// Starts forwarding a local port to `upstream` (`host:port`).
    pub async fn to(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (is_down, tracked) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_down.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the connection is refused in effect
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().expect("lock").push(task.abort_handle());
            }
        });
        Self { address, down, connections }
    }

    /// Breaks every open connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The first error's code in a GraphQL response body (empty when none).
pub fn error_code_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

/// RFC 4648 base32 without padding.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// The RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) of a base32 `secret` at `at`,
/// computed from the RFC here rather than with the server's library.
pub fn totp(secret: &str, at: DateTime<Utc>) -> String {
    use hmac::{KeyInit, Mac};
    let counter = (at.timestamp() / 30) as u64;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&base32_decode(secret)).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % 1_000_000)
}

/// Installs the JavaScript test tools (`npm ci` in `tests/js`) when Node.js is
/// here and they are not yet, so `cargo test` on a fresh clone runs the browser
/// and GraphQL-over-HTTP tests instead of skipping them. Test processes run in
/// parallel: a file lock lets one install while the others wait. Whether they
/// are installed afterwards.
pub fn ensure_js_tools(js: &std::path::Path) -> bool {
    let installed = || js.join("node_modules/.package-lock.json").exists();
    if installed() {
        return true;
    }
    let Ok(lock) = std::fs::File::create(js.join(".install.lock")) else { return false };
    if lock.lock().is_err() {
        return false;
    }
    if !installed() {
        let npm = std::process::Command::new("npm")
            .args(["ci", "--prefer-offline", "--no-audit", "--no-fund"])
            .current_dir(js)
            .output();
        match npm {
            Ok(output) if !output.status.success() => {
                eprintln!("npm ci in tests/js failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            Ok(_) => {}
            Err(err) => eprintln!("npm is not available ({err}): install Node.js to run the JavaScript tests"),
        }
    }
    installed()
}

/// Tells the person running the tests that a test did not really run. Written to
/// the process's standard error directly: `cargo test` captures what `eprintln!`
/// prints and shows it only for failed tests, and a skipped test passes.
fn say_skipped(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "tessera: {message}");
}

/// [`ensure_js_tools`] off the test's runtime thread.
async fn installed_js_tools(js: &std::path::Path) -> bool {
    let js = js.to_owned();
    tokio::task::spawn_blocking(move || ensure_js_tools(&js)).await.unwrap_or(false)
}

/// Runs `tests/js/<script>` with `args` in Node and fails the test with its
/// report unless it succeeds; returns what it printed. The JavaScript tools are
/// installed on first use (see [`ensure_js_tools`]); `None` when that cannot be
/// done here (no Node.js), which `TESSERA_REQUIRE_SERVICES=1` does not allow.
pub async fn run_node(script: &str, args: &[&str]) -> Option<String> {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    if !installed_js_tools(&js).await {
        assert!(
            std::env::var("TESSERA_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_SERVICES=1 but the JavaScript tools cannot be installed: install Node.js and npm"
        );
        say_skipped(&format!("skipped: install Node.js and npm to run {script}"));
        return None;
    }
    let output =
        tokio::process::Command::new("node").arg(script).args(args).current_dir(&js).output().await.expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    Some(report)
}

/// Runs `tests/js/<script>` with `args` in Node (Playwright driving headless
/// Chromium) and fails the test with its report unless it succeeds. Returns
/// `false` when the browser test cannot run here (no Chromium, or no
/// `npm ci --prefix tests/js`), which `TESSERA_REQUIRE_SERVICES=1` does not allow.
pub async fn run_in_browser(script: &str, args: &[&str]) -> bool {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let tools = std::path::Path::new(&chromium).exists() && installed_js_tools(&js).await;
    if !tools {
        assert!(
            std::env::var("TESSERA_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_SERVICES=1 but the browser test cannot run: install Chromium, Node.js and npm"
        );
        say_skipped(&format!("skipped: install Chromium, Node.js and npm to run {script} in a browser"));
        return false;
    }
    let output = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .env("CHROMIUM", &chromium)
        .current_dir(&js)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    true
}
