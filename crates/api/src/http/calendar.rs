//! `GET /calendar/{token}.ics`: a calendar feed, for calendar apps.
//!
//! The token is the whole credential (256 random bits; only its hash is
//! kept). Anything that opens no feed (unknown, revoked, malformed) is the
//! same 404, so the endpoint says nothing of which tokens exist. Never
//! cached by shared caches: the URL is a secret and the bookings change.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tracing::warn;

use super::AppState;

/// The feed `file` (`tcal_….ics`) names.
pub(crate) async fn feed(State(app): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics") else { return StatusCode::NOT_FOUND.into_response() };
    let now = app.services.clock.now();
    match app.services.scheduling.calendar_feed_text(token, now).await {
        Ok(Some(text)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
            ],
            text,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            warn!(error = %err, "a calendar feed could not be read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
