//! GraphQL over WebSocket: `graphql-transport-ws` (current) and the legacy
//! `graphql-ws` (subscriptions-transport-ws) protocol.
//!
//! async-graphql's own handler closes with 1002 where the protocol asks for 4400,
//! 4401, 4403 or 4409, so the protocol is implemented here over
//! `Schema::execute_stream`:
//! - `connection_init` must arrive in time (else 4408) and only once
//!   (else 4429); its payload carries `Authorization` and `X-Tenant`, and bad
//!   credentials close with 4403;
//! - `subscribe` before the ack closes with 4401; a duplicate id with 4409; a
//!   malformed message with 4400;
//! - each operation runs in its own task; `complete` from the client stops it;
//! - each operation is decided on the caller's rights when it starts (the
//!   credentials from `connection_init` are checked again, as for an HTTP
//!   request), and each subscription event on their rights when it is sent;
//! - a message is no larger than an HTTP body may be (else 1009), and a socket
//!   and an account run a bounded number of operations at once (beyond it, the
//!   new operation gets a `RATE_LIMITED` error);
//! - when the connection's session is revoked (announced on the bus, or found by
//!   the periodic check) the socket closes with 4403; when it went idle (no
//!   request and no open subscription for the idle timeout: subscriptions count
//!   as use) with 4401, since a refresh revives it; at shutdown, with 1001;
//! - a subscription that ends because its caller's session ended or their
//!   rights went sends a last result with the error (`UNAUTHENTICATED`,
//!   `FORBIDDEN`) before `complete`.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use tessera_identity::SessionStanding;
use tessera_kernel::{ErrorCode, RequestContext, RequestMeta};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::AppState;
use super::answer::{is_request_error, ws_message};
use super::context::{Credentials, Entered, build_context};
use super::document::prepare_document;
use super::graphql_http::introspection_allowed;
use super::persisted::{ExtensionError, PersistedHash, Refused};
use super::ws_limits::OperationPermit;
use crate::error::{ApiCode, ApiError, ensure_codes, graphql_error, request_error};
use crate::events::BusMessage;
use crate::graphql::{Loaders, execute_operation};

/// How often the legacy protocol sends keep-alives.
const LEGACY_KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    TransportWs,
    Legacy,
}

const TRANSPORT_WS: &str = "graphql-transport-ws";
const LEGACY: &str = "graphql-ws";

/// Whether a browser page from `origin` may open a socket here: it must be listed
/// in the allowed origins or be this server's own origin. Clients that send no
/// `Origin` (non-browsers) are not subject to cross-site attacks and are allowed.
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Upgrades `GET /graphql` to a WebSocket.
pub(crate) fn upgrade(app: AppState, meta: RequestMeta, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !origin_allowed(&headers, &app.config.cors_origins) {
        return (StatusCode::FORBIDDEN, "this origin may not open a WebSocket here").into_response();
    }
    let upgrade_credentials = Credentials::from_headers(&headers).unwrap_or_default();
    // One limit for a message, whether it arrives as a body or over a socket.
    let max_message = app.config.max_body_bytes;
    ws.max_message_size(max_message).max_frame_size(max_message).protocols([TRANSPORT_WS, LEGACY]).on_upgrade(
        move |socket| async move {
            let protocol = match socket.protocol().and_then(|p| p.to_str().ok()) {
                Some(TRANSPORT_WS) => Some(Protocol::TransportWs),
                Some(LEGACY) => Some(Protocol::Legacy),
                _ => None,
            };
            let Some(protocol) = protocol else {
                let mut socket = socket;
                let _ = socket.send(close(4406, "Subprotocol not acceptable")).await;
                return;
            };
            app.metrics.websocket_opened();
            Connection::new(app.clone(), meta, upgrade_credentials, protocol).run(socket).await;
            app.metrics.websocket_closed();
        },
    )
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }))
}

fn text(value: &Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// What the main loop should do after handling a message.
enum Step {
    Continue,
    Send(Value),
    /// A message already written.
    SendText(Utf8Bytes),
    Close(u16, String),
    SendThenClose(Value, u16, String),
}

struct Connection {
    app: AppState,
    meta: RequestMeta,
    upgrade_credentials: Credentials,
    protocol: Protocol,
    /// What `connection_init` presented, checked again for every operation.
    credentials: Credentials,
    /// The context as of `connection_init`: who the socket belongs to.
    context: Option<RequestContext>,
    operations: HashMap<String, JoinHandle<()>>,
    /// Operations' messages, written by their tasks.
    outgoing_tx: mpsc::Sender<Utf8Bytes>,
    outgoing_rx: mpsc::Receiver<Utf8Bytes>,
}

impl Connection {
    fn new(app: AppState, meta: RequestMeta, upgrade_credentials: Credentials, protocol: Protocol) -> Self {
        let (outgoing_tx, outgoing_rx) = mpsc::channel(64);
        Self {
            app,
            meta,
            upgrade_credentials,
            protocol,
            credentials: Credentials::default(),
            context: None,
            operations: HashMap::new(),
            outgoing_tx,
            outgoing_rx,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let init_deadline = tokio::time::sleep(self.app.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut bus = self.app.services.bus.subscribe();
        let mut liveness = tokio::time::interval(self.app.ws_session_check);
        let mut keepalive = tokio::time::interval(LEGACY_KEEPALIVE);
        let shutdown = self.app.shutdown.clone();
        let closing: Option<(u16, String)> = loop {
            let step = tokio::select! {
                () = shutdown.cancelled() => Step::Close(1001, "server shutting down".into()),
                () = &mut init_deadline, if self.context.is_none() => Step::Close(4408, "Connection initialisation timeout".into()),
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(body))) => self.on_text(body.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Step::Close(4400, "binary messages are not supported".into()),
                    Some(Err(err)) if too_big(&err) => Step::Close(1009, "the message is larger than the limit".into()),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                    Some(Ok(_)) => Step::Continue,
                },
                Some(outgoing) = self.outgoing_rx.recv() => Step::SendText(outgoing),
                message = bus.recv() => self.on_bus(message),
                _ = liveness.tick() => self.check_session().await,
                _ = keepalive.tick(), if self.protocol == Protocol::Legacy && self.context.is_some() => Step::Send(json!({"type": "ka"})),
            };
            match step {
                Step::Continue => {}
                Step::Send(value) => {
                    if sink.send(text(&value)).await.is_err() {
                        break None;
                    }
                }
                Step::SendText(written) => {
                    if sink.send(Message::Text(written)).await.is_err() {
                        break None;
                    }
                }
                Step::Close(code, reason) => break Some((code, reason)),
                Step::SendThenClose(value, code, reason) => {
                    let _ = sink.send(text(&value)).await;
                    break Some((code, reason));
                }
            }
        };
        for (_, task) in self.operations.drain() {
            task.abort();
        }
        if let Some((code, reason)) = closing {
            let _ = sink.send(close(code, &reason)).await;
        }
        let _ = sink.close().await;
    }

    fn on_bus(&self, message: Result<std::sync::Arc<BusMessage>, tokio::sync::broadcast::error::RecvError>) -> Step {
        let (Some(context), Ok(message)) = (&self.context, message) else { return Step::Continue };
        match (message.as_ref(), context.actor()) {
            (BusMessage::SessionRevoked { session_id }, Some(actor)) if *session_id == actor.session_id => {
                Step::Close(4403, "Forbidden: the session has ended".into())
            }
            _ => Step::Continue,
        }
    }

    /// Checks the connection's session. Open subscriptions count as use, so
    /// they keep the session from going idle; a socket left without any closes
    /// when the session goes idle, with a reason of its own (a refresh revives
    /// the session, unlike a sign-out).
    async fn check_session(&mut self) -> Step {
        let Some(actor) = self.context.as_ref().and_then(RequestContext::actor) else { return Step::Continue };
        self.operations.retain(|_, task| !task.is_finished());
        let in_use = !self.operations.is_empty();
        let services = &self.app.services;
        match services.identity.connection_session(actor.session_id, services.clock.now(), in_use).await {
            Ok(SessionStanding::Ended) => Step::Close(4403, "Forbidden: the session has ended".into()),
            Ok(SessionStanding::Idle) => {
                Step::Close(4401, "Unauthorized: the session was idle too long; refresh it and connect again".into())
            }
            // A database hiccup is not a reason to drop subscribers; check again later.
            Ok(SessionStanding::Live) | Err(_) => Step::Continue,
        }
    }

    async fn on_text(&mut self, body: &str) -> Step {
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(body) else {
            return self.invalid("the message is not a JSON object");
        };
        let Some(kind) = message.get("type").and_then(Value::as_str) else {
            return self.invalid("the message has no type");
        };
        let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
        let payload = message.get("payload").cloned().unwrap_or(Value::Null);
        match (self.protocol, kind) {
            (_, "connection_init") => self.on_init(payload).await,
            (Protocol::TransportWs, "ping") => Step::Send(json!({"type": "pong"})),
            (Protocol::TransportWs, "pong") => Step::Continue,
            (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => match id {
                Some(id) if !id.is_empty() => self.on_subscribe(id, payload).await,
                _ => self.invalid("subscribe needs an id"),
            },
            (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                if let Some(task) = id.and_then(|id| self.operations.remove(&id)) {
                    task.abort();
                }
                Step::Continue
            }
            (Protocol::Legacy, "connection_terminate") => Step::Close(1000, "terminated".into()),
            _ => self.invalid(&format!("unknown message type {kind:?}")),
        }
    }

    fn invalid(&self, reason: &str) -> Step {
        Step::Close(4400, reason.into())
    }

    async fn on_init(&mut self, payload: Value) -> Step {
        if self.context.is_some() {
            return Step::Close(4429, "Too many initialisation requests".into());
        }
        let credentials = match Credentials::from_init_payload(&payload) {
            Ok(c) if c.bearer.is_some() || c.tenant.is_some() => Ok(c),
            Ok(_) => Ok(self.upgrade_credentials.clone()),
            Err(err) => Err(err),
        };
        let context = match credentials {
            Ok(credentials) => {
                let entered = build_context(&self.app, &credentials, self.meta.clone()).await;
                self.credentials = credentials;
                entered
            }
            Err(err) => Err(err),
        };
        match context {
            Ok(entered) => {
                self.context = Some(entered.context);
                Step::Send(json!({"type": "connection_ack"}))
            }
            Err(err) => self.refuse_connection(&err),
        }
    }

    fn refuse_connection(&self, err: &ApiError) -> Step {
        let message = err.domain().public_message();
        match self.protocol {
            Protocol::TransportWs => Step::Close(4403, format!("Forbidden: {message}")),
            Protocol::Legacy => Step::SendThenClose(
                json!({"type": "connection_error", "payload": {"message": message}}),
                4403,
                "Forbidden".into(),
            ),
        }
    }

    async fn on_subscribe(&mut self, id: String, payload: Value) -> Step {
        // Who the socket belongs to; their rights are resolved below, once the
        // document passed the cheap checks.
        let Some(signed) = &self.context else {
            return Step::Close(4401, "Unauthorized".into());
        };
        self.operations.retain(|_, task| !task.is_finished());
        if self.operations.contains_key(&id) {
            return Step::Close(4409, format!("Subscriber for {id} already exists"));
        }
        // The document: its text, or a hash the trusted list or the persisted
        // queries know, exactly as over HTTP.
        let query = payload.get("query").and_then(Value::as_str).map(str::to_owned);
        let hash = match PersistedHash::of(payload.get("extensions")) {
            Ok(hash) => hash,
            Err(ExtensionError::Malformed(why)) => return self.invalid(why),
        };
        let document = match self.app.documents.find(query, hash) {
            Ok(found) => found.document,
            Err(Refused::Missing) => return self.invalid("subscribe payload needs a query"),
            Err(refused) => {
                let (code, message) = refused.code_and_message();
                return Step::Send(self.error_message(&id, vec![graphql_error(code, message)]));
            }
        };
        let operation_name = payload.get("operationName").and_then(Value::as_str).map(str::to_owned);
        let limits = &self.app.config.limits();
        let mut request = async_graphql::Request::new(document);
        if let Some(name) = &operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = payload.get("variables").filter(|v| v.is_object()) {
            request = request.variables(async_graphql::Variables::from_json(variables.clone()));
        }
        let operation = match prepare_document(&mut request, limits) {
            Err(error) => return Step::Send(self.error_message(&id, vec![error])),
            Ok(facts) if facts.introspects && !introspection_allowed(self.app.config.introspection, signed) => {
                let error =
                    graphql_error(ApiCode::GraphqlValidationFailed, "introspection is disabled for this caller");
                return Step::Send(self.error_message(&id, vec![error]));
            }
            Ok(facts) => facts.operation,
        };
        let per_socket = limits.max_subscriptions_per_socket;
        if self.operations.len() >= per_socket {
            return self
                .too_many(&id, &format!("this connection already runs {per_socket} operations; complete one first"));
        }
        // The caller's rights now, not as they were at `connection_init`.
        let Entered { context, caller } = match build_context(&self.app, &self.credentials, self.meta.clone()).await {
            Ok(entered) => entered,
            Err(err) if err.domain().code() == ErrorCode::Unauthenticated => return self.refuse_connection(&err),
            Err(err) => return Step::Send(self.error_message(&id, vec![request_error(err)])),
        };
        // Each operation is a request like one over HTTP: limited and counted.
        let through_api_key = caller.as_ref().is_some_and(|c| c.session.through_api_key);
        let (limited, complexity) = self.app.rate_limits.admit(&self.app.db, &context, through_api_key).await;
        if let Some(refused) = limited.refusal() {
            return Step::Send(self.error_message(&id, vec![refused.error()]));
        }
        self.app.request_counts.record(&context, through_api_key);
        let permit = match context.actor() {
            Some(actor) => {
                let per_user = limits.max_subscriptions_per_user;
                match self.app.ws_operations.acquire(actor.user_id, per_user) {
                    Some(permit) => Some(permit),
                    None => {
                        return self.too_many(
                            &id,
                            &format!(
                                "this account already runs {per_user} operations over WebSockets; complete one first"
                            ),
                        );
                    }
                }
            }
            None => None,
        };
        if !introspection_allowed(self.app.config.introspection, &context) {
            request = request.disable_introspection();
        }
        let loaders = Loaders::new(self.app.services.clone(), context.clone());
        let mut request = request.data(context).data(loaders).data(self.app.services.clone());
        if let Some(caller) = caller {
            // Shared with the caller's other operations, on any socket.
            request = request.data(self.app.event_rights.for_caller(&caller)).data(caller);
        }
        if let Some(gate) = complexity {
            request = request.data(gate);
        }
        let schema = self.app.schema.clone();
        let services = self.app.services.clone();
        let outgoing = self.outgoing_tx.clone();
        let protocol = self.protocol;
        let operation_id = id.clone();
        let task = tokio::spawn(async move {
            // Held while the operation runs.
            let _permit: Option<OperationPermit> = permit;
            let mut responses = match operation {
                Some(OperationType::Subscription) => schema.execute_stream(request),
                _ => futures_util::stream::once(async move {
                    execute_operation(&schema, &services, operation, request).await
                })
                .boxed(),
            };
            let mut first = true;
            while let Some(mut response) = responses.next().await {
                ensure_codes(&mut response.errors);
                let request_error = first && is_request_error(&response);
                first = false;
                let message = match (request_error, protocol) {
                    (true, Protocol::TransportWs) => ws_message(&operation_id, "error", Some(&response.errors)),
                    (true, Protocol::Legacy) => ws_message(&operation_id, "error", Some(response.errors.first())),
                    (false, Protocol::TransportWs) => ws_message(&operation_id, "next", Some(&response)),
                    (false, Protocol::Legacy) => ws_message(&operation_id, "data", Some(&response)),
                };
                let sent = match message {
                    Ok(message) => outgoing.send(message).await.is_ok(),
                    Err(err) => {
                        tracing::error!(error = %err, "writing a GraphQL answer failed");
                        false
                    }
                };
                if !sent || request_error {
                    return;
                }
            }
            if let Ok(complete) = ws_message::<()>(&operation_id, "complete", None) {
                let _ = outgoing.send(complete).await;
            }
        });
        self.operations.insert(id, task);
        Step::Continue
    }

    fn too_many(&self, id: &str, message: &str) -> Step {
        let error = graphql_error(ApiCode::Domain(ErrorCode::RateLimited), message);
        Step::Send(self.error_message(id, vec![error]))
    }

    fn error_message(&self, id: &str, errors: Vec<async_graphql::ServerError>) -> Value {
        match self.protocol {
            Protocol::TransportWs => json!({"id": id, "type": "error", "payload": errors}),
            Protocol::Legacy => json!({"id": id, "type": "error", "payload": errors.first()}),
        }
    }
}

/// Whether a read failed because the message was larger than the limit.
fn too_big(err: &axum::Error) -> bool {
    use std::error::Error as _;
    matches!(err.source().and_then(|e| e.downcast_ref::<tungstenite::Error>()), Some(tungstenite::Error::Capacity(_)))
}
