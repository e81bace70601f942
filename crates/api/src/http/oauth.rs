//! `POST /oauth/token`: the OAuth 2.0 token endpoint for partner clients
//! (client credentials grant, RFC 6749 §4.4).
//!
//! The client authenticates with HTTP Basic (`client_secret_basic`) or with
//! `client_id` and `client_secret` in the form body (`client_secret_post`), not
//! both. Answers are JSON, never cached; errors use RFC 6749 §5.2's codes:
//! `invalid_request`, `invalid_client` (401), `unsupported_grant_type`,
//! `invalid_scope`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use tessera_identity::TokenRefusal;
use tracing::error;

use super::AppState;

/// The largest form body read.
const MAX_FORM_BYTES: usize = 4096;

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response =
        no_store((status, Json(json!({ "error": error, "error_description": description }))).into_response());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tessera\""));
    }
    response
}

fn invalid_request(description: &str) -> Response {
    refusal(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// The client's id and secret from an `Authorization: Basic` header, each
/// form-urlencoded as RFC 6749 §2.3.1 asks.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = (|| {
        let value = value.to_str().ok()?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape =
            |s: &str| url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        Some((unescape(id)?, unescape(secret)?))
    })();
    Some(parsed.ok_or(()))
}

/// `POST /oauth/token`.
pub(crate) async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form_type {
        return invalid_request("send the parameters as application/x-www-form-urlencoded");
    }
    if body.len() > MAX_FORM_BYTES {
        return invalid_request("the request is too large");
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(&body) {
        if params.iter().any(|(seen, _)| *seen == name) {
            return invalid_request(&format!("the parameter {name} is repeated"));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    match param("grant_type") {
        None => return invalid_request("grant_type is required"),
        Some("client_credentials") => {}
        Some(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only the client_credentials grant is supported",
            );
        }
    }
    let (client_id, secret) = match (basic_credentials(&headers), param("client_id"), param("client_secret")) {
        (Some(Ok(_)), _, Some(_)) => {
            return invalid_request("authenticate with one method: Basic or the form, not both");
        }
        (Some(Ok(credentials)), _, None) => credentials,
        (Some(Err(())), _, _) => {
            return refusal(StatusCode::UNAUTHORIZED, "invalid_client", "the Authorization header is not valid Basic");
        }
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        (None, _, _) => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate with HTTP Basic or client_id and client_secret",
            );
        }
    };
    let now = app.services.clock.now();
    match app.services.identity.issue_client_token(&client_id, &secret, param("scope"), now).await {
        Ok(Ok(issued)) => {
            let scope = issued.scopes.iter().map(|p| p.name()).collect::<Vec<_>>().join(" ");
            no_store(
                Json(json!({
                    "access_token": issued.access_token,
                    "token_type": "Bearer",
                    "expires_in": (issued.expires_at - now).num_seconds(),
                    "scope": scope,
                }))
                .into_response(),
            )
        }
        Ok(Err(TokenRefusal::InvalidClient)) => {
            refusal(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client, wrong secret, or revoked client")
        }
        Ok(Err(TokenRefusal::InvalidScope(why))) => refusal(StatusCode::BAD_REQUEST, "invalid_scope", &why),
        Err(err) => {
            error!(error = %err, "issuing a client token failed");
            no_store((StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "server_error" }))).into_response())
        }
    }
}
