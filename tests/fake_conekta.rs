//! A stateful stand-in for Conekta's REST API v2 on a loopback port, written
//! from its OpenAPI document (`conekta/openapi`) and guides, for the part
//! Tessera calls: customers, card tokens (what the browser's tokenizer
//! does), payment sources, orders with one card charge, refunds and the
//! event list. It checks what Conekta checks (a bearer key, the versioned
//! `Accept`, required fields, one-use tokens), answers errors in Conekta's
//! shape, replays a repeated `Idempotency-Key` with the first answer, and
//! logs every request so tests can see the headers that were sent.
//!
//! Test cards, as Conekta documents them: `4242424242424242` is paid,
//! `4000000000000002` is declined by the bank.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A card number Conekta's test mode declines.
pub const DECLINED_CARD: &str = "4000000000000002";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `POST /orders`.
    pub line: String,
    /// `Idempotency-Key`.
    pub key: Option<String>,
    /// `X-Child-Company-Id`.
    pub child_company: Option<String>,
}

#[derive(Default)]
struct Fake {
    next_id: u64,
    customers: HashMap<String, Value>,
    /// Token → card number, and whether it was used.
    tokens: HashMap<String, (String, bool)>,
    sources: HashMap<String, Vec<Value>>,
    orders: HashMap<String, Value>,
    events: Vec<Value>,
    /// Key → the first answer.
    replies: HashMap<String, (StatusCode, Value)>,
    seen: Vec<Seen>,
}

impl Fake {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:017}", self.next_id)
    }

    fn event(&mut self, kind: &str, object: Value) {
        let id = self.id("evt");
        self.events.push(json!({"id": id, "object": "event", "type": kind, "created_at": now(), "livemode": false,
            "data": {"object": object, "previous_attributes": {}}}));
    }
}

type Shared = Arc<Mutex<Fake>>;

/// The fake, running.
#[derive(Clone)]
pub struct FakeConekta {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Shared,
}

fn now() -> i64 {
    use tessera_kernel::Clock;
    tessera_kernel::SystemClock.now().timestamp()
}

fn error(status: StatusCode, kind: &str, code: &str, param: Option<&str>, message: &str) -> (StatusCode, Value) {
    let detail = json!({"code": code, "param": param, "message": message, "debug_message": message});
    (status, json!({"object": "error", "type": kind, "log_id": "fake", "details": [detail]}))
}

fn invalid(param: &str, message: &str) -> (StatusCode, Value) {
    let code = format!("conekta.errors.parameter_validation.{param}");
    error(StatusCode::UNPROCESSABLE_ENTITY, "parameter_validation_error", &code, Some(param), message)
}

fn not_found(what: &str) -> (StatusCode, Value) {
    error(StatusCode::NOT_FOUND, "resource_not_found_error", "conekta.errors.resource_not_found.entity", None, what)
}

fn reply((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

/// Checks the key and version, and logs the request.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let seen = Seen {
        line: format!("{} {}", request.method(), request.uri().path()),
        key: text("idempotency-key"),
        child_company: text("x-child-company-id"),
    };
    state.lock().unwrap().seen.push(seen);
    if !text("authorization").is_some_and(|a| a.starts_with("Bearer key_")) {
        let missing = "Please include your access key in your request.";
        return reply(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "conekta.errors.authentication.missing_key",
            None,
            missing,
        ));
    }
    if !text("accept").is_some_and(|a| a.starts_with("application/vnd.conekta-v2.")) {
        return reply(invalid("accept", "Ask for an API version in Accept."));
    }
    next.run(request).await
}

/// Answers a creating call once per `Idempotency-Key`; a repeat gets the
/// first answer and changes nothing.
fn once(state: &Shared, headers: &HeaderMap, act: impl FnOnce(&mut Fake) -> (StatusCode, Value)) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut fake = state.lock().unwrap();
    if let Some(key) = &key
        && let Some(first) = fake.replies.get(key)
    {
        return reply(first.clone());
    }
    let answer = act(&mut fake);
    if let Some(key) = key {
        fake.replies.insert(key, answer.clone());
    }
    reply(answer)
}

async fn create_customer(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    once(&state, &headers, |fake| {
        for required in ["name", "email"] {
            if body[required].as_str().is_none_or(str::is_empty) {
                return invalid(required, &format!("The parameter {required} is required."));
            }
        }
        let id = fake.id("cus");
        let customer = json!({"id": id, "object": "customer", "name": body["name"], "email": body["email"],
            "metadata": body["metadata"], "created_at": now(), "livemode": false});
        fake.customers.insert(id, customer.clone());
        (StatusCode::OK, customer)
    })
}

/// What the browser's tokenizer does with a card and the public key.
async fn create_token(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(number) = body["card"]["number"].as_str().filter(|n| n.len() >= 12) else {
        return reply(invalid("card.number", "The card number is invalid."));
    };
    let mut fake = state.lock().unwrap();
    let id = fake.id("tok");
    fake.tokens.insert(id.clone(), (number.to_owned(), false));
    reply((StatusCode::OK, json!({"id": id, "object": "token", "used": false, "livemode": false})))
}

async fn create_source(
    State(state): State<Shared>,
    Path(customer): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    once(&state, &headers, |fake| {
        if !fake.customers.contains_key(&customer) {
            return not_found("The customer does not exist.");
        }
        let token = body["token_id"].as_str().unwrap_or_default();
        let number = match fake.tokens.get_mut(token) {
            None => {
                let code = "conekta.errors.parameter_validation.payment_method.token_id.nonexistent_token";
                let param = Some("payment_method.token_id");
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "parameter_validation_error",
                    code,
                    param,
                    "The token does not exist.",
                );
            }
            Some((_, true)) => {
                let code = "conekta.errors.processing.tokenization.used";
                return error(
                    StatusCode::PAYMENT_REQUIRED,
                    "processing_error",
                    code,
                    None,
                    "The token has already been used.",
                );
            }
            Some((number, used)) => {
                *used = true;
                number.clone()
            }
        };
        let id = fake.id("src");
        let brand = if number.starts_with('5') { "mastercard" } else { "visa" };
        let source = json!({"id": id, "object": "payment_source", "type": "card", "parent_id": customer,
            "created_at": now(), "brand": brand, "last4": &number[number.len() - 4..], "exp_month": "12",
            "exp_year": "30", "number": number});
        fake.sources.entry(customer).or_default().push(source.clone());
        let mut shown = source;
        shown.as_object_mut().unwrap().remove("number");
        (StatusCode::OK, shown)
    })
}

async fn list_sources(State(state): State<Shared>, Path(customer): Path<String>) -> Response {
    let fake = state.lock().unwrap();
    if !fake.customers.contains_key(&customer) {
        return reply(not_found("The customer does not exist."));
    }
    let mut data = fake.sources.get(&customer).cloned().unwrap_or_default();
    for source in &mut data {
        source.as_object_mut().unwrap().remove("number");
    }
    reply((StatusCode::OK, json!({"object": "list", "has_more": false, "data": data})))
}

async fn create_order(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    once(&state, &headers, |fake| {
        let customer = body["customer_info"]["customer_id"].as_str().unwrap_or_default();
        let Some(currency) = body["currency"].as_str().filter(|c| c.len() == 3) else {
            return invalid("currency", "The currency is required.");
        };
        let lines = body["line_items"].as_array().cloned().unwrap_or_default();
        if lines.is_empty() || lines.iter().any(|l| l["name"].as_str().is_none() || l["unit_price"].as_i64().is_none())
        {
            return invalid("line_items", "Each line item needs a name, a unit price and a quantity.");
        }
        let amount: i64 =
            lines.iter().map(|l| l["unit_price"].as_i64().unwrap_or(0) * l["quantity"].as_i64().unwrap_or(1)).sum();
        let source_id = body["charges"][0]["payment_method"]["payment_source_id"].as_str().unwrap_or_default();
        let Some(source) = fake.sources.get(customer).and_then(|s| s.iter().find(|s| s["id"] == source_id)).cloned()
        else {
            return invalid("payment_method.payment_source_id", "The payment source does not exist.");
        };
        let declined = source["number"] == DECLINED_CARD;
        let id = fake.id("ord");
        let charge_id = fake.id("chrg");
        let mut charge = json!({"id": charge_id, "object": "charge", "amount": amount, "currency": currency,
            "status": if declined { "declined" } else { "paid" }, "order_id": id, "customer_id": customer,
            "payment_method": {"object": "card_payment", "brand": source["brand"], "last4": source["last4"]},
            "refunds": {"object": "list", "has_more": false, "data": []}});
        if declined {
            charge["failure_code"] = json!("card_declined");
            charge["failure_message"] = json!("The card was declined.");
        }
        let order = json!({"id": id, "object": "order", "amount": amount, "amount_refunded": 0,
            "currency": currency, "payment_status": if declined { "declined" } else { "paid" },
            "customer_info": {"customer_id": customer, "object": "customer_info"}, "metadata": body["metadata"],
            "line_items": {"object": "list", "has_more": false, "data": lines}, "created_at": now(),
            "charges": {"object": "list", "has_more": false, "data": [charge]}});
        fake.orders.insert(id, order.clone());
        if declined {
            fake.event("order.declined", order);
            let code = "conekta.errors.processing.bank.declined";
            return error(StatusCode::PAYMENT_REQUIRED, "processing_error", code, None, "The card was declined.");
        }
        fake.event("order.paid", order.clone());
        (StatusCode::OK, order)
    })
}

async fn get_order(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.lock().unwrap().orders.get(&id) {
        Some(order) => reply((StatusCode::OK, order.clone())),
        None => reply(not_found("The order does not exist.")),
    }
}

async fn refund_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    once(&state, &headers, |fake| {
        let Some(amount) = body["amount"].as_i64().filter(|a| *a > 0) else {
            return invalid("amount", "The amount is required.");
        };
        if body["reason"].as_str().is_none() {
            return invalid("reason", "The reason is required.");
        }
        let refund_id = fake.id("rfnd");
        let Some(order) = fake.orders.get_mut(&id) else { return not_found("The order does not exist.") };
        let refunded = order["amount_refunded"].as_i64().unwrap_or(0);
        let total = order["amount"].as_i64().unwrap_or(0);
        if order["payment_status"] != "paid" && order["payment_status"] != "partially_refunded" {
            return invalid("order", "The order cannot be refunded.");
        }
        if refunded + amount > total {
            return invalid("amount", "The amount exceeds what can be refunded.");
        }
        let refund =
            json!({"id": refund_id, "object": "refund", "amount": -amount, "created_at": now(), "status": "succeeded"});
        order["amount_refunded"] = json!(refunded + amount);
        order["payment_status"] = json!(if refunded + amount == total { "refunded" } else { "partially_refunded" });
        order["charges"]["data"][0]["refunds"]["data"].as_array_mut().unwrap().push(refund);
        let order = order.clone();
        let kind = format!("order.{}", order["payment_status"].as_str().unwrap_or_default());
        fake.event(&kind, order.clone());
        (StatusCode::OK, order)
    })
}

async fn list_events(State(state): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Response {
    let fake = state.lock().unwrap();
    let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(20).clamp(1, 250);
    // Newest first, as Conekta lists them.
    let page: Vec<Value> = fake.events.iter().rev().take(limit).cloned().collect();
    let has_more = page.len() < fake.events.len();
    reply((StatusCode::OK, json!({"object": "list", "has_more": has_more, "data": page})))
}

impl FakeConekta {
    /// Starts the fake on a loopback port.
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/customers", post(create_customer))
            .route("/customers/{id}/payment_sources", post(create_source).get(list_sources))
            .route("/tokens", post(create_token))
            .route("/orders", post(create_order))
            .route("/orders/{id}", get(get_order))
            .route("/orders/{id}/refunds", post(refund_order))
            .route("/events", get(list_events))
            .layer(middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, state }
    }

    /// What the browser's tokenizer does: turns `number` into a one-use
    /// token with the platform's public key.
    pub async fn tokenize(&self, number: &str) -> String {
        let answer = reqwest::Client::new()
            .post(format!("{}/tokens", self.base))
            .bearer_auth("key_public_browser")
            .header("Accept", "application/vnd.conekta-v2.2.0+json")
            .json(&json!({"card": {"number": number, "name": "Ana Ruiz", "cvc": "123", "exp_month": "12", "exp_year": "2030"}}))
            .send()
            .await
            .unwrap();
        let token: Value = answer.json().await.unwrap();
        token["id"].as_str().unwrap().to_owned()
    }

    /// Every request so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many cards customers keep.
    pub fn sources(&self) -> usize {
        self.state.lock().unwrap().sources.values().map(Vec::len).sum()
    }

    /// How many orders were made.
    pub fn orders(&self) -> usize {
        self.state.lock().unwrap().orders.len()
    }

    /// The method of any request, for tests that count calls.
    pub fn calls(&self, method: &Method, path_prefix: &str) -> usize {
        let line = format!("{method} {path_prefix}");
        self.seen().iter().filter(|s| s.line.starts_with(&line)).count()
    }
}
