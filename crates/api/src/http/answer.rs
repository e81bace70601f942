//! An operation's answer written straight from async-graphql's `Response`, over
//! HTTP and WebSocket alike.
//!
//! Written directly rather than through `serde_json::Value`, whose maps sort
//! their keys: GraphQL keeps the order in which fields were asked for, and a
//! page of bookings is thousands of values, each copied once more for nothing.

use std::collections::BTreeMap;

use async_graphql::{Response, ServerError};
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;

/// The body of an HTTP answer: `data` unless the request was refused before any
/// field ran, then `errors` and `extensions` when there are any.
#[derive(Serialize)]
struct HttpBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// A graphql-transport-ws (or legacy graphql-ws) message about one operation.
#[derive(Serialize)]
struct OperationMessage<'a, P: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<P>,
}

/// Whether `response` refuses the request as a whole: no data at all and only
/// errors without a path, so the document was refused (parse, validation,
/// limits) before any field ran.
pub(crate) fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// `response` as an HTTP body.
pub(crate) fn http_body(response: &Response) -> Result<Vec<u8>, serde_json::Error> {
    let body = HttpBody {
        data: (!is_request_error(response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    serde_json::to_vec(&body)
}

/// The message of `kind` about operation `id`, with `payload` if any.
pub(crate) fn ws_message<P: Serialize>(
    id: &str,
    kind: &str,
    payload: Option<P>,
) -> Result<Utf8Bytes, serde_json::Error> {
    serde_json::to_string(&OperationMessage { id, kind, payload }).map(Utf8Bytes::from)
}
