//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::AppState;

/// `GET /livez`: the process is up and serving.
pub(crate) async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database (and Redis, when configured) answer, and the server
/// is not shutting down. 503 otherwise, naming what is missing.
pub(crate) async fn readyz(State(app): State<AppState>) -> Response {
    let probe = Duration::from_secs(2);
    let database = matches!(tokio::time::timeout(probe, app.db.ping()).await, Ok(Ok(())));
    let redis = match app.services.bus.uses_redis() {
        false => None,
        true => Some(tokio::time::timeout(probe, app.services.bus.redis_is_reachable()).await.unwrap_or(false)),
    };
    let shutting_down = app.shutdown.is_cancelled();
    let ready = database && redis.unwrap_or(true) && !shutting_down;
    let state = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if ready { "ready" } else { "unready" },
        "database": state(database),
        "redis": redis.map_or("not configured", state),
        "shuttingDown": shutting_down,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}
