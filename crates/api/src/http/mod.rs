//! The HTTP surface: routes, layers and shared state.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | GraphiQL (assets under `/assets/`, served by the binary) |
//! | `POST /graphql`, `GET /graphql` | GraphQL over HTTP |
//! | `GET /graphql` + `Upgrade: websocket` | GraphQL over WebSocket |
//! | `POST /oauth/token` | partner clients' token endpoint (OAuth 2.0 client credentials) |
//! | `GET /complete-sign-up`, `/verify-email`, `/reset-password`, `/accept-invitation`, `/passkeys` | plain account pages |
//! | `GET /livez`, `GET /readyz` | probes |
//! | `GET /metrics` | Prometheus metrics |
//! | `GET /calendar/{token}.ics` | a calendar feed (its token is the credential) |
//!
//! Every request gets a request id (the client's `x-request-id` when it is sane),
//! echoed in the response and carried by every log line of the request.

mod account_pages;
mod answer;
mod calendar;
mod client_address;
pub(crate) mod context;
mod control_characters;
pub(crate) mod document;
pub mod graphiql;
pub(crate) mod graphql_http;
mod health;
pub mod metrics;
mod oauth;
mod payment_webhooks;
pub(crate) mod persisted;
pub mod request_counts;
mod tracking;
pub(crate) mod trusted;
pub(crate) mod ws;
pub mod ws_limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderName, HeaderValue, Method, header};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Db, RequestMeta};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tracing::{Instrument, info, info_span};

use crate::config::Config;
use crate::graphql::TesseraSchema;
use crate::services::Services;
use metrics::Metrics;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

/// The contents of [`AppState`].
pub struct AppInner {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The GraphQL schema.
    pub schema: TesseraSchema,
    /// Domain services and event plumbing.
    pub services: Arc<Services>,
    /// The database.
    pub db: Db,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// How often open WebSockets re-check that their session is alive.
    pub ws_session_check: Duration,
    /// How long a WebSocket client has to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// Operations running over WebSockets, per account.
    pub ws_operations: ws_limits::OperationCounter,
    /// The `@public` root fields (`Mutation.login`…): operations of only these
    /// need no session.
    pub(crate) public_fields: std::collections::HashSet<String>,
    /// Subscription events' rights decisions, shared per caller.
    pub(crate) event_rights: crate::caller::EventRightsRegistry,
    /// Sessions and rights found by earlier requests.
    pub(crate) callers: crate::caller::recall::CallerCache,
    /// Where requests' documents come from: their own text, the trusted
    /// list, the automatic persisted queries.
    pub(crate) documents: persisted::Documents,
    /// API requests counted per credential, written in batches.
    pub request_counts: request_counts::RequestCounts,
    /// Requests and GraphQL cost a minute, per business, credential and client.
    pub(crate) rate_limits: Arc<crate::rate_limits::RateLimits>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: AppInner) -> Self {
        Self(Arc::new(inner))
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok =
        !text.is_empty() && text.len() <= 64 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| text.to_owned())
}

/// Assigns the request id, records the request's facts, logs and measures it.
async fn observe(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid_v7_at(app.services.clock.now()).to_string());
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| {
            client_address::client_address(addr.ip(), request.headers(), &app.config.trusted_proxies.0)
        })
        .map(|ip| ip.to_string());
    let user_agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    request.extensions_mut().insert(RequestMeta { request_id: request_id.clone(), ip, user_agent });
    let span = info_span!("request", request_id = %request_id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| info!(status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "served"));
    app.metrics.http_request(method.as_str(), &route, status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// `GET /graphql`: a WebSocket upgrade or a GraphQL query.
async fn graphql_get_or_upgrade(State(app): State<AppState>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let meta = parts.extensions.get::<RequestMeta>().cloned().unwrap_or_default();
    let wants_websocket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_websocket {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
            Ok(upgrade) => ws::upgrade(app.clone(), meta, parts.headers.clone(), upgrade),
            Err(rejection) => axum::response::IntoResponse::into_response(rejection),
        };
    }
    let query = Query::<graphql_http::GetParams>::from_request_parts(&mut parts, &app).await.ok();
    graphql_http::graphql_get(app, meta, parts.headers, query).await
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        // Whatever headers the page's client library adds (Apollo's
        // `apollographql-client-name`, `traceparent`…): the origin is one this
        // deployment trusts, and credentials travel in `Authorization`, never in
        // cookies, so the headers it asks for are allowed as asked.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([REQUEST_ID])
        .max_age(Duration::from_secs(600))
}

/// The gateway's router.
pub fn router(app: AppState) -> Router {
    let max_body = app.config.max_body_bytes;
    Router::new()
        .route("/", get(graphiql::page))
        .route("/assets/account.js", get(account_pages::script))
        .route("/assets/passkeys.js", get(account_pages::passkey_script))
        .route("/assets/{name}", get(graphiql::asset))
        .route("/complete-sign-up", get(account_pages::complete_sign_up))
        .route("/verify-email", get(account_pages::verify_email))
        .route("/reset-password", get(account_pages::reset_password))
        .route("/accept-invitation", get(account_pages::accept_invitation))
        .route("/passkeys", get(account_pages::passkeys))
        .route("/graphql", get(graphql_get_or_upgrade).post(graphql_http::graphql_post))
        .route("/oauth/token", post(oauth::token))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/n/open/{token}", get(tracking::email_open))
        .route("/calendar/{file}", get(calendar::feed))
        .route("/webhooks/payments/{provider}/{endpoint}", post(payment_webhooks::receive))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        // Refuses a declared oversize body with 413 before reading it, and stops
        // reading an undeclared one at the limit.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(cors(&app.config))
        .with_state(app)
}
