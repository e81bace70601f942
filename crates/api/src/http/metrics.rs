//! Prometheus metrics at `/metrics`.
//!
//! Each gateway owns its registry (no global recorder), so several servers in one
//! test process keep separate counts.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    operation: String,
    outcome: String,
}

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    graphql_operations: Family<GraphqlLabels, Counter>,
    websocket_connections: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with Tessera's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let graphql_operations = Family::<GraphqlLabels, Counter>::default();
        let websocket_connections = Gauge::default();
        registry.register("http_requests", "HTTP requests by method, route and status", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", http_duration.clone());
        registry.register("graphql_operations", "GraphQL operations by type and outcome", graphql_operations.clone());
        registry.register("websocket_connections", "Open GraphQL WebSocket connections", websocket_connections.clone());
        Self { registry: Arc::new(registry), http_requests, http_duration, graphql_operations, websocket_connections }
    }

    /// Records one HTTP request.
    pub(crate) fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels { method: method.to_owned(), route: route.to_owned(), status })
            .inc();
        self.http_duration.get_or_create(&RouteLabels { route: route.to_owned() }).observe(elapsed.as_secs_f64());
    }

    /// Records one executed GraphQL operation.
    pub(crate) fn graphql_operation(&self, operation: Option<OperationType>, ok: bool) {
        let operation = match operation {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        };
        let outcome = if ok { "ok" } else { "error" };
        self.graphql_operations
            .get_or_create(&GraphqlLabels { operation: operation.into(), outcome: outcome.into() })
            .inc();
    }

    pub(crate) fn websocket_opened(&self) {
        self.websocket_connections.inc();
    }

    pub(crate) fn websocket_closed(&self) {
        self.websocket_connections.dec();
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<AppState>, headers: http::HeaderMap) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !app.config.metrics_access().allows(authorization) {
        let mut refused =
            (StatusCode::UNAUTHORIZED, "metrics need TESSERA_METRICS_TOKEN as a bearer token").into_response();
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    match app.metrics.render() {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
