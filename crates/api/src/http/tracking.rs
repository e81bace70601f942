//! `GET /n/open/{token}`: the email open pixel.
//!
//! Answers the same 1×1 transparent GIF whatever the token, so the endpoint says
//! nothing about which tokens exist; a known token stamps its delivery opened
//! (the first time counts). Never cached, so each open reaches the gateway.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use tracing::warn;

use super::AppState;

/// The smallest transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Records the open and answers the pixel.
pub(crate) async fn email_open(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    // Tokens are base64url; anything else is not one of ours.
    let plausible = token.len() <= 64 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plausible && let Err(err) = app.services.notify.record_open(&token, app.services.clock.now()).await {
        warn!(error = %err, "an email open could not be recorded");
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0")),
        ],
        PIXEL,
    )
        .into_response()
}
