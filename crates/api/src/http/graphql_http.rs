//! GraphQL over HTTP, per the GraphQL-over-HTTP specification.
//!
//! The stock async-graphql-axum handler answers 200 to request errors, ignores
//! `Accept`, and runs mutations over GET. This handler:
//! - answers `application/graphql-response+json` (with 4xx for request errors and no
//!   `data` entry) or `application/json` (200 for well-formed requests), as `Accept`
//!   asks, and 406 when it asks for neither;
//! - takes POST bodies only as `application/json` (415 otherwise: form and text
//!   bodies, which browsers send cross-site without a preflight, are refused) and
//!   does not batch;
//! - refuses mutations over GET with 405, so a link or an image cannot change state;
//! - caps the document's length before parsing and its fields, aliases and repeated
//!   sensitive fields before execution.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value};
use tessera_kernel::{ErrorCode, RequestMeta};

use super::AppState;
use super::answer::{http_body, is_request_error};
use super::context::{Credentials, build_context};
use super::document::prepare_document;
use super::persisted::{ExtensionError, Found, PersistedHash, Refused};
use crate::config::IntrospectionPolicy;
use crate::error::{ApiCode, ApiError, ensure_codes, graphql_error, request_error};
use crate::graphql::{Loaders, execute_operation};

/// The response media types the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaType {
    /// `application/graphql-response+json`: status codes reflect request errors.
    GraphqlResponse,
    /// `application/json`: the legacy type; 200 for every well-formed request.
    Json,
}

impl MediaType {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type from `Accept`, honouring q-values. `None` means the
/// client accepts neither type (406).
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let mut ranges: Vec<(f32, usize, MediaType)> = Vec::new();
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut quality = 1.0_f32;
        let mut charset_ok = true;
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "q" => quality = value.trim().parse().unwrap_or(0.0),
                "charset" => charset_ok = value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8"),
                _ => {}
            }
        }
        let media = match essence.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if quality > 0.0 && charset_ok {
            ranges.push((quality, position, media));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|(_, _, media)| *media)
}

/// The parameters of a GraphQL request.
#[derive(Debug, Default)]
pub(crate) struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Value>,
    /// The document's hash, for automatic persisted queries.
    persisted: Option<PersistedHash>,
}

/// A request refused before execution: the status for each media type and the error.
struct Refusal {
    status: StatusCode,
    /// Whether `application/json` clients get the status too (malformed HTTP), or 200
    /// (a well-formed request whose document is at fault).
    malformed: bool,
    error: Box<async_graphql::ServerError>,
}

impl Refusal {
    fn malformed(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, malformed: true, error: Box::new(graphql_error(ApiCode::BadRequest, message)) }
    }

    fn document(code: ApiCode, message: impl Into<String>) -> Self {
        Self::document_error(Box::new(graphql_error(code, message)))
    }

    fn document_error(error: Box<async_graphql::ServerError>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, malformed: false, error }
    }
}

fn respond(media: MediaType, status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.header());
    response
}

fn refuse(media: MediaType, refusal: Refusal) -> Response {
    let status = match media {
        MediaType::GraphqlResponse => refusal.status,
        MediaType::Json if refusal.malformed => refusal.status,
        MediaType::Json => StatusCode::OK,
    };
    respond(media, status, serde_json::json!({ "errors": [ refusal.error ] }))
}

fn not_acceptable() -> Response {
    let mut response = (
        StatusCode::NOT_ACCEPTABLE,
        Json(serde_json::json!({ "errors": [ graphql_error(
            ApiCode::BadRequest,
            "accept application/graphql-response+json or application/json"
        ) ] })),
    )
        .into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, MediaType::Json.header());
    response
}

fn object_field(object: &Map<String, Value>, key: &str) -> Result<Option<Value>, Refusal> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
        Some(_) => Err(Refusal::malformed(StatusCode::BAD_REQUEST, format!("{key} must be an object"))),
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Result<Option<String>, Refusal> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Refusal::malformed(StatusCode::BAD_REQUEST, format!("{key} must be a string"))),
    }
}

fn params_from_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, Refusal> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let charset_ok = parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    if !essence.eq_ignore_ascii_case("application/json") || !charset_ok {
        return Err(Refusal::malformed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send GraphQL requests as Content-Type: application/json",
        ));
    }
    if body.is_empty() {
        return Err(Refusal::malformed(StatusCode::BAD_REQUEST, "the request body is empty"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Refusal::malformed(StatusCode::BAD_REQUEST, "the request body is not valid JSON"))?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(Refusal::malformed(
                StatusCode::BAD_REQUEST,
                "batched requests are not supported; send one operation per request",
            ));
        }
        _ => return Err(Refusal::malformed(StatusCode::BAD_REQUEST, "the request body must be a JSON object")),
    };
    let extensions = object_field(&object, "extensions")?;
    Ok(Params {
        query: string_field(&object, "query")?,
        operation_name: string_field(&object, "operationName")?,
        variables: object_field(&object, "variables")?,
        persisted: persisted_hash(extensions.as_ref())?,
    })
}

/// Query-string parameters of a GET request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// A GET parameter holding a JSON object (or nothing, or `null`).
fn json_object_param(name: &str, raw: Option<&str>) -> Result<Option<Value>, Refusal> {
    match raw.map(str::trim).filter(|v| !v.is_empty() && *v != "null") {
        None => Ok(None),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => Ok(Some(value)),
            _ => Err(Refusal::malformed(StatusCode::BAD_REQUEST, format!("{name} must be a JSON object"))),
        },
    }
}

fn params_from_query(raw: GetParams) -> Result<Params, Refusal> {
    let variables = json_object_param("variables", raw.variables.as_deref())?;
    let extensions = json_object_param("extensions", raw.extensions.as_deref())?;
    Ok(Params {
        query: raw.query,
        operation_name: raw.operation_name.filter(|n| !n.is_empty()),
        variables,
        persisted: persisted_hash(extensions.as_ref())?,
    })
}

fn persisted_hash(extensions: Option<&Value>) -> Result<Option<PersistedHash>, Refusal> {
    PersistedHash::of(extensions)
        .map_err(|ExtensionError::Malformed(why)| Refusal::malformed(StatusCode::BAD_REQUEST, why))
}

/// The document to run (the request's own, or the one its hash names; see
/// `persisted.rs`).
fn document_of(app: &AppState, params: &mut Params) -> Result<Found, Refusal> {
    app.documents.find(params.query.take(), params.persisted.take()).map_err(|refused| {
        let (code, message) = refused.code_and_message();
        match refused {
            Refused::Missing | Refused::HashMismatch => Refusal::malformed(StatusCode::BAD_REQUEST, message),
            Refused::NotSupported | Refused::NotFound | Refused::NotInList => Refusal::document(code, message),
        }
    })
}

/// `POST /graphql`.
pub(crate) async fn graphql_post(
    State(app): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    match params_from_body(&headers, &body) {
        Ok(params) => execute(&app, meta, &headers, params, Method::POST, media).await,
        Err(refusal) => refuse(media, refusal),
    }
}

/// `GET /graphql` (queries only).
pub(crate) async fn graphql_get(
    app: AppState,
    meta: RequestMeta,
    headers: HeaderMap,
    query: Option<Query<GetParams>>,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let Some(Query(raw)) = query else {
        return refuse(media, Refusal::malformed(StatusCode::BAD_REQUEST, "the query string is malformed"));
    };
    match params_from_query(raw) {
        Ok(params) => execute(&app, meta, &headers, params, Method::GET, media).await,
        Err(refusal) => refuse(media, refusal),
    }
}

async fn execute(
    app: &AppState,
    meta: RequestMeta,
    headers: &HeaderMap,
    mut params: Params,
    method: Method,
    media: MediaType,
) -> Response {
    let limits = &app.config.limits();
    let Found { document, keep_as } = match document_of(app, &mut params) {
        Ok(found) => found,
        Err(refusal) => return refuse(media, refusal),
    };
    let kept = keep_as.map(|hash| (hash, document.clone()));
    let mut request = async_graphql::Request::new(document);
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    let facts = match prepare_document(&mut request, limits) {
        Ok(facts) => facts,
        Err(error) => return refuse(media, Refusal::document_error(Box::new(error))),
    };
    use async_graphql::parser::types::OperationType;
    match (facts.operation, method) {
        (Some(OperationType::Mutation), Method::GET) => {
            let mut response =
                refuse(media, Refusal::malformed(StatusCode::METHOD_NOT_ALLOWED, "mutations must be sent with POST"));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        (Some(OperationType::Subscription), _) => {
            return refuse(
                media,
                Refusal::document(
                    ApiCode::BadRequest,
                    "subscriptions are served over WebSocket (graphql-transport-ws) at this path",
                ),
            );
        }
        _ => {}
    }

    // Signing in, up or refreshing works whatever the headers say: a stale
    // token or an `X-Tenant` left from before must not stop the client from
    // getting a new session.
    let credentials = if facts.needs_no_session(&app.public_fields) {
        Ok(Credentials::default())
    } else {
        Credentials::from_headers(headers)
    };
    let presented_token = credentials.as_ref().is_ok_and(|c| c.bearer.is_some());
    let context = match credentials {
        Ok(credentials) => build_context(app, &credentials, meta).await,
        Err(err) => Err(err),
    };
    let (context, caller) = match context {
        Ok(entered) => (entered.context, entered.caller),
        Err(err) => return context_failure(media, err, presented_token),
    };
    let through_api_key = caller.as_ref().is_some_and(|c| c.session.through_api_key);
    let (limited, complexity) = app.rate_limits.admit(&app.db, &context, through_api_key).await;
    if let Some(refused) = limited.refusal() {
        let mut response =
            respond(media, StatusCode::TOO_MANY_REQUESTS, serde_json::json!({ "errors": [ refused.error() ] }));
        limited.write_headers(response.headers_mut());
        return response;
    }
    app.request_counts.record(&context, through_api_key);
    if !introspection_allowed(app.config.introspection, &context) {
        if facts.introspects {
            return refuse(
                media,
                Refusal::document(ApiCode::GraphqlValidationFailed, "introspection is disabled for this caller"),
            );
        }
        request = request.disable_introspection();
    }
    // A query's reads share one transaction, committed once it has answered
    // (`kernel/src/txn.rs`); a mutation's fields read what it wrote.
    let (context, reads) = match facts.operation {
        Some(OperationType::Query) => {
            let (context, reads) = context.with_shared_reads();
            (context, Some(reads))
        }
        _ => (context, None),
    };
    let loaders = Loaders::new(app.services.clone(), context.clone());
    let mut request = request.data(context).data(loaders).data(app.services.clone());
    if let Some(caller) = caller {
        request = request.data(caller);
    }
    if let Some(gate) = &complexity {
        request = request.data(gate.clone());
    }
    let response = execute_operation(&app.schema, &app.services, facts.operation, request).await;
    if let Some(reads) = reads
        && let Err(err) = reads.finish().await
    {
        // The answer is already complete; only the read-only transaction's end failed.
        tracing::warn!(error = %err, "ending a query's shared read transaction failed");
    }
    // Kept once it ran: a document the schema refuses (an unknown field) never is.
    if let Some((hash, document)) = kept
        && response.data != async_graphql::Value::Null
    {
        app.documents.keep(&hash, &document);
    }
    app.metrics.graphql_operation(facts.operation, response.errors.is_empty());
    let limited = limited.with(complexity.and_then(|gate| gate.checked()));
    let mut answer = graphql_response(media, response);
    if limited.refusal().is_some() {
        *answer.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    limited.write_headers(answer.headers_mut());
    answer
}

/// Whether the caller behind `context` may read the schema.
pub(crate) fn introspection_allowed(policy: IntrospectionPolicy, context: &tessera_kernel::RequestContext) -> bool {
    match policy {
        IntrospectionPolicy::Everyone => true,
        IntrospectionPolicy::Authenticated => context.actor().is_some(),
        IntrospectionPolicy::Nobody => false,
    }
}

/// Authentication or tenant resolution failed: a request error with the code
/// (and, for a refused token, RFC 6750's `WWW-Authenticate: Bearer
/// error="invalid_token"`, which client libraries act on by refreshing).
fn context_failure(media: MediaType, err: ApiError, presented_token: bool) -> Response {
    let code = err.domain().code();
    let status = match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::QuotaExceeded => StatusCode::FORBIDDEN,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Conflict | ErrorCode::PaymentDeclined | ErrorCode::QuoteExpired | ErrorCode::InternalServerError => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let server_error = request_error(err);
    let body = serde_json::json!({ "errors": [ server_error ] });
    let status = match media {
        MediaType::GraphqlResponse => status,
        MediaType::Json if status == StatusCode::SERVICE_UNAVAILABLE => status,
        MediaType::Json => StatusCode::OK,
    };
    let mut response = respond(media, status, body);
    if code == ErrorCode::Unauthenticated {
        let challenge = if presented_token {
            "Bearer realm=\"tessera\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"tessera\""
        };
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

fn graphql_response(media: MediaType, mut response: async_graphql::Response) -> Response {
    ensure_codes(&mut response.errors);
    let request_error = is_request_error(&response);
    // Nothing answered because a dependency is down: 503 under either media
    // type, as when it fails before execution, so proxies and clients retry.
    let unavailable = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions.as_ref().and_then(|ext| ext.get("code"))
                == Some(&async_graphql::Value::from(ErrorCode::ServiceUnavailable.as_str()))
        });
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if request_error && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match http_body(&response) {
        Ok(body) => {
            let mut answer = (status, body).into_response();
            answer.headers_mut().insert(header::CONTENT_TYPE, media.header());
            answer
        }
        Err(err) => {
            tracing::error!(error = %err, "writing a GraphQL answer failed");
            let error = graphql_error(ApiCode::Domain(ErrorCode::InternalServerError), "internal server error");
            respond(media, StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "errors": [ error ] }))
        }
    }
}
