//! Conekta (Mexico), as a thin client of its REST API v2.2 on the same HTTP
//! stack as Stripe's: JSON bodies, `Authorization: Bearer` with the private
//! key, the API version in `Accept`, answers read field by field.
//!
//! How Conekta's objects stand in for the trait's:
//!
//! - A kept card is a customer's *payment source* (`src_…`). The browser
//!   turns the card into a one-use token (`tok_…`) with Conekta's tokenizer
//!   and the platform's public key; there is no setup object to make first,
//!   so [`PaymentGateway::create_setup`] makes nothing at Conekta (the
//!   setup's id names the customer it is for), and completing the setup
//!   attaches the token (`POST /customers/{id}/payment_sources`), keyed by
//!   the setup and the token.
//! - A charge is an *order* with one line and one card charge (`POST
//!   /orders`); its `payment_status` is the payment's state. Refunds are made
//!   on the order and listed in its charge, with negative amounts.
//! - A business's own Conekta company (a holding's child) goes in
//!   `X-Child-Company-Id`.
//! - Declines are told by the error's `processing_error` type and the last
//!   part of its code (`conekta.errors.processing.bank.declined` →
//!   `declined`), never by its message.
//! - Events are listed newest first with no date filter, so
//!   [`PaymentGateway::events_since`] reads the newest page and drops what
//!   is not after the given instant.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::http::{self, RetryPolicy, field};
use super::{
    Account, CardSummary, ChargeSpec, CustomerSpec, GatewayError, GatewayResult, PaymentGateway, PaymentStatus,
    ProviderEvent, ProviderPayment, ProviderRefund, RefundStatus, SetupIntent, SetupStatus,
};
use crate::model::PaymentProvider;

/// The API version every request asks for, in `Accept`.
pub const ACCEPT: &str = "application/vnd.conekta-v2.2.0+json";

/// How a [`ConektaGateway`] reaches Conekta.
#[derive(Debug, Clone)]
pub struct ConektaConfig {
    /// `https://api.conekta.io`, or a stand-in's address in tests.
    pub api_base: String,
    /// The private key (`key_…`).
    pub private_key: String,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How failures that may be retried are.
    pub retry: RetryPolicy,
}

impl ConektaConfig {
    /// Conekta itself, with `private_key`.
    pub fn new(private_key: impl Into<String>) -> Self {
        Self {
            api_base: "https://api.conekta.io".into(),
            private_key: private_key.into(),
            timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// Conekta behind [`PaymentGateway`].
#[derive(Debug, Clone)]
pub struct ConektaGateway {
    http: reqwest::Client,
    config: ConektaConfig,
}

impl ConektaGateway {
    /// A client for `config`.
    pub fn new(config: ConektaConfig) -> Result<Self, String> {
        Ok(Self { http: http::client("Conekta", config.timeout)?, config })
    }

    /// Sends one request, retrying what may be retried with the same key.
    async fn call(
        &self,
        method: Method,
        path: &str,
        account: Account<'_>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> GatewayResult<Value> {
        http::with_retries(self.config.retry, || self.attempt(method.clone(), path, account, body, key)).await
    }

    async fn attempt(
        &self,
        method: Method,
        path: &str,
        account: Account<'_>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> GatewayResult<Value> {
        let url = format!("{}{path}", self.config.api_base.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.config.private_key)
            .header("Accept", ACCEPT)
            .header("Accept-Language", "en");
        if let Some(account) = account {
            request = request.header("X-Child-Company-Id", account);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        http::send(request).await?.map_err(|(status, body)| error_of(status, &body))
    }
}

/// The error a failed answer means.
fn error_of(status: StatusCode, body: &Value) -> GatewayError {
    let detail = &body["details"][0];
    let code = detail["code"].as_str().unwrap_or_default();
    let message = detail["message"].as_str().map(str::to_owned).unwrap_or_else(|| format!("HTTP {status}"));
    let about_token = detail["param"].as_str().is_some_and(|p| p.contains("token")) || code.contains(".token");
    let card_error = matches!(status, StatusCode::PAYMENT_REQUIRED | StatusCode::UNPROCESSABLE_ENTITY);
    match (status, body["type"].as_str().unwrap_or_default()) {
        (StatusCode::NOT_FOUND, _) => GatewayError::NotFound,
        (StatusCode::TOO_MANY_REQUESTS, _) => GatewayError::RateLimited,
        // A card token that does not exist, has expired or was used is as
        // good as no card given: not found, never a decline nor our bug.
        _ if card_error && about_token => GatewayError::NotFound,
        (_, "processing_error") => GatewayError::Declined {
            code: code.rsplit('.').next().filter(|c| !c.is_empty()).unwrap_or("declined").into(),
        },
        (StatusCode::CONFLICT, _) => GatewayError::Conflict(message),
        (s, _) if s.is_server_error() => GatewayError::Transient(message),
        (StatusCode::PAYMENT_REQUIRED, _) => GatewayError::Declined { code: "declined".into() },
        _ => GatewayError::Invalid(message),
    }
}

fn metadata(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>())
}

/// The order's one charge, where the card's outcome is.
fn charge_of(order: &Value) -> &Value {
    &order["charges"]["data"][0]
}

fn payment_of(order: &Value) -> GatewayResult<ProviderPayment> {
    let charge = charge_of(order);
    let failure_code = charge["failure_code"].as_str().map(str::to_owned);
    let status = match order["payment_status"].as_str().unwrap_or_default() {
        // Paid, and perhaps given back since: the money moved.
        "paid" | "partially_refunded" | "refunded" | "charged_back" => PaymentStatus::Succeeded,
        "pending_payment" | "pre_authorized" => PaymentStatus::Processing,
        "declined" => PaymentStatus::Failed,
        "canceled" | "expired" | "voided" => PaymentStatus::Canceled,
        _ => PaymentStatus::Pending,
    };
    Ok(ProviderPayment {
        id: field(order, "id")?,
        status,
        amount_minor: order["amount"].as_i64().unwrap_or_default(),
        currency: order["currency"].as_str().unwrap_or_default().to_ascii_uppercase(),
        failure_code,
        client_secret: None,
    })
}

/// The newest refund of an order, which is the one just made (or, for a
/// repeated key, the one made then).
fn refund_of(order: &Value, payment_id: &str) -> GatewayResult<ProviderRefund> {
    let refunds = charge_of(order)["refunds"]["data"].as_array().map(Vec::as_slice).unwrap_or_default();
    let newest = refunds
        .iter()
        .max_by_key(|r| r["created_at"].as_i64().unwrap_or_default())
        .ok_or_else(|| GatewayError::Unknown("the order lists no refund".into()))?;
    let status = match newest["status"].as_str() {
        // Conekta's older answers carry no status: a listed refund is made.
        None | Some("succeeded" | "completed" | "paid") => RefundStatus::Succeeded,
        Some("failed" | "rejected") => RefundStatus::Failed,
        Some("canceled" | "cancelled") => RefundStatus::Canceled,
        Some(_) => RefundStatus::Pending,
    };
    Ok(ProviderRefund {
        id: field(newest, "id")?,
        payment_id: order["id"].as_str().unwrap_or(payment_id).to_owned(),
        amount_minor: newest["amount"].as_i64().unwrap_or_default().abs(),
        status,
    })
}

/// A setup of `customer` waiting for the browser's card token.
fn waiting(customer: &str, id: String) -> SetupIntent {
    SetupIntent {
        id,
        client_secret: None,
        status: SetupStatus::RequiresPaymentMethod,
        customer: Some(customer.to_owned()),
        payment_method: None,
    }
}

fn event_of(event: &Value) -> GatewayResult<ProviderEvent> {
    Ok(ProviderEvent {
        id: field(event, "id")?,
        kind: field(event, "type")?,
        created: event["created_at"].as_i64().and_then(|t| DateTime::from_timestamp(t, 0)).unwrap_or_default(),
        object: event["data"]["object"].clone(),
    })
}

#[async_trait]
impl PaymentGateway for ConektaGateway {
    fn provider(&self) -> PaymentProvider {
        PaymentProvider::Conekta
    }

    fn needs_customer_email(&self) -> bool {
        true
    }

    async fn create_customer(&self, account: Account<'_>, spec: &CustomerSpec, key: &str) -> GatewayResult<String> {
        let Some(email) = &spec.email else {
            return Err(GatewayError::Invalid("Conekta needs the customer's email".into()));
        };
        let body = json!({"name": spec.name, "email": email, "metadata": metadata(&spec.metadata)});
        let created = self.call(Method::POST, "/customers", account, Some(&body), Some(key)).await?;
        field(&created, "id")
    }

    async fn create_setup(&self, _account: Account<'_>, customer: &str, key: &str) -> GatewayResult<SetupIntent> {
        // Nothing is made at Conekta until the browser's token comes back.
        // The setup's id names its customer, so it completes for no other.
        Ok(waiting(customer, format!("{customer}:{key}")))
    }

    async fn complete_setup(
        &self,
        account: Account<'_>,
        customer: &str,
        id: &str,
        card_token: Option<&str>,
    ) -> GatewayResult<SetupIntent> {
        if !id.strip_prefix(customer).is_some_and(|rest| rest.starts_with(':')) {
            return Err(GatewayError::NotFound);
        }
        let waiting = waiting(customer, id.to_owned());
        let Some(token) = card_token else { return Ok(waiting) };
        // Keyed by the setup and the token: the same token again keeps the
        // same source; another token, after one that was no good, is new.
        let body = json!({"type": "card", "token_id": token});
        let path = format!("/customers/{customer}/payment_sources");
        let key = format!("{id}:{token}");
        let source = self.call(Method::POST, &path, account, Some(&body), Some(&key)).await?;
        Ok(SetupIntent {
            status: SetupStatus::Succeeded,
            customer: source["parent_id"].as_str().map(str::to_owned),
            payment_method: Some(field(&source, "id")?),
            ..waiting
        })
    }

    async fn card(&self, account: Account<'_>, customer: &str, payment_method: &str) -> GatewayResult<CardSummary> {
        let path = format!("/customers/{customer}/payment_sources?limit=250");
        let listed = self.call(Method::GET, &path, account, None, None).await?;
        let sources = listed["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        let source = sources.iter().find(|s| s["id"] == payment_method).ok_or(GatewayError::NotFound)?;
        Ok(CardSummary { brand: field(source, "brand")?.to_ascii_lowercase(), last4: field(source, "last4")? })
    }

    async fn charge(&self, account: Account<'_>, spec: &ChargeSpec, key: &str) -> GatewayResult<ProviderPayment> {
        let body = json!({
            "currency": spec.currency.to_ascii_uppercase(),
            "customer_info": {"customer_id": spec.customer},
            "line_items": [{"name": spec.description, "unit_price": spec.amount_minor, "quantity": 1}],
            "charges": [{"payment_method": {"type": "card", "payment_source_id": spec.payment_method}}],
            "metadata": metadata(&spec.metadata),
        });
        payment_of(&self.call(Method::POST, "/orders", account, Some(&body), Some(key)).await?)
    }

    async fn retrieve_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        payment_of(&self.call(Method::GET, &format!("/orders/{id}"), account, None, None).await?)
    }

    async fn refund(
        &self,
        account: Account<'_>,
        payment_id: &str,
        amount_minor: i64,
        key: &str,
    ) -> GatewayResult<ProviderRefund> {
        let body = json!({"amount": amount_minor, "reason": "requested_by_client"});
        let path = format!("/orders/{payment_id}/refunds");
        refund_of(&self.call(Method::POST, &path, account, Some(&body), Some(key)).await?, payment_id)
    }

    async fn events_since(
        &self,
        account: Account<'_>,
        after: Option<DateTime<Utc>>,
        limit: u32,
    ) -> GatewayResult<Vec<ProviderEvent>> {
        // Listed newest first, with no date filter: the newest page, less
        // what is not after `after`.
        let path = format!("/events?limit={}", limit.clamp(1, 250));
        let page = self.call(Method::GET, &path, account, None, None).await?;
        let mut events = Vec::new();
        for event in page["data"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let event = event_of(event)?;
            if after.is_none_or(|after| event.created > after) {
                events.push(event);
            }
        }
        events.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(events)
    }
}
