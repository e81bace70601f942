//! Stripe, as a thin client on the HTTP stack already in the tree (reqwest
//! with rustls): form-encoded requests to the dozen endpoints billing needs,
//! answers read field by field, so a field Stripe adds never breaks a parse.
//!
//! - Every creating call sends `Idempotency-Key`; a retry (after a 429, a 5xx,
//!   a 409 for a key still in flight, or a lost answer) resends the same key,
//!   so Stripe answers with the first request's result instead of acting
//!   twice. An answer lost on the last try is [`GatewayError::Unknown`].
//! - A business's connected account goes in `Stripe-Account`.
//! - Declines are recognised by their code (`card_declined`), never by the
//!   error's type or message.
//! - Only the parameters both Stripe and localstripe accept are sent
//!   (`payment_method_types[]=card` rather than automatic methods).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::http::{self, RetryPolicy, field};
use super::{
    Account, CardSummary, ChargeSpec, CustomerSpec, GatewayError, GatewayResult, PaymentGateway, PaymentSpec,
    PaymentStatus, ProviderEvent, ProviderPayment, ProviderRefund, RefundStatus, SetupIntent, SetupStatus,
};
use crate::model::PaymentProvider;

/// The API version every request asks for, so an account's default never
/// changes what the client reads.
pub const API_VERSION: &str = "2024-06-20";

/// How a [`StripeGateway`] reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com`, or a stand-in's address in tests.
    pub api_base: String,
    /// The secret key (`sk_live_…`, `sk_test_…`).
    pub secret_key: String,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How failures that may be retried are.
    pub retry: RetryPolicy,
}

impl StripeConfig {
    /// Stripe itself, with `secret_key`.
    pub fn new(secret_key: impl Into<String>) -> Self {
        Self {
            api_base: "https://api.stripe.com".into(),
            secret_key: secret_key.into(),
            timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// Stripe behind [`PaymentGateway`].
#[derive(Debug, Clone)]
pub struct StripeGateway {
    http: reqwest::Client,
    config: StripeConfig,
}

type Form = Vec<(String, String)>;

impl StripeGateway {
    /// A client for `config`.
    pub fn new(config: StripeConfig) -> Result<Self, String> {
        Ok(Self { http: http::client("Stripe", config.timeout)?, config })
    }

    /// Sends one request, retrying what may be retried with the same key.
    async fn call(
        &self,
        method: Method,
        path: &str,
        account: Account<'_>,
        form: &Form,
        key: Option<&str>,
    ) -> GatewayResult<Value> {
        http::with_retries(self.config.retry, || self.attempt(method.clone(), path, account, form, key)).await
    }

    async fn attempt(
        &self,
        method: Method,
        path: &str,
        account: Account<'_>,
        form: &Form,
        key: Option<&str>,
    ) -> GatewayResult<Value> {
        let url = format!("{}{path}", self.config.api_base.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", API_VERSION);
        if let Some(account) = account {
            request = request.header("Stripe-Account", account);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request = if method == Method::GET { request.query(form) } else { request.form(form) };
        http::send(request).await?.map_err(|(status, body)| error_of(status, &body))
    }
}

/// The error a failed answer means.
fn error_of(status: StatusCode, body: &Value) -> GatewayError {
    let error = &body["error"];
    let text = |field: &str| error[field].as_str().map(str::to_owned);
    let code = text("decline_code").or_else(|| text("code"));
    let message = text("message").unwrap_or_else(|| format!("HTTP {status}"));
    match (status, code.as_deref()) {
        (_, Some("authentication_required")) => GatewayError::RequiresAction,
        (StatusCode::PAYMENT_REQUIRED, Some(code)) => GatewayError::Declined { code: code.to_owned() },
        (_, Some(code)) if is_decline(code) => GatewayError::Declined { code: code.to_owned() },
        (StatusCode::NOT_FOUND, _) => GatewayError::NotFound,
        (StatusCode::TOO_MANY_REQUESTS, _) => GatewayError::RateLimited,
        (StatusCode::CONFLICT, _) if text("type").as_deref() == Some("idempotency_error") => {
            GatewayError::Conflict(message)
        }
        // Another request with the key is still being processed.
        (StatusCode::CONFLICT, _) => GatewayError::Transient(message),
        (s, _) if s.is_server_error() => GatewayError::Transient(message),
        (StatusCode::PAYMENT_REQUIRED, None) => GatewayError::Declined { code: "card_declined".into() },
        _ => GatewayError::Invalid(message),
    }
}

/// Stripe's codes for a payment the bank or Stripe refused.
fn is_decline(code: &str) -> bool {
    matches!(
        code,
        "card_declined"
            | "expired_card"
            | "incorrect_cvc"
            | "incorrect_number"
            | "insufficient_funds"
            | "processing_error"
            | "lost_card"
            | "stolen_card"
            | "do_not_honor"
            | "generic_decline"
    )
}

fn metadata(form: &mut Form, pairs: &[(String, String)]) {
    for (key, value) in pairs {
        form.push((format!("metadata[{key}]"), value.clone()));
    }
}

fn setup_of(value: &Value) -> GatewayResult<SetupIntent> {
    let status = match value["status"].as_str().unwrap_or_default() {
        "requires_confirmation" => SetupStatus::RequiresConfirmation,
        "requires_action" => SetupStatus::RequiresAction,
        "processing" => SetupStatus::Processing,
        "succeeded" => SetupStatus::Succeeded,
        "canceled" => SetupStatus::Canceled,
        _ => SetupStatus::RequiresPaymentMethod,
    };
    let payment_method = match &value["payment_method"] {
        Value::String(id) => Some(id.clone()),
        Value::Object(pm) => pm.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    Ok(SetupIntent {
        id: field(value, "id")?,
        client_secret: Some(field(value, "client_secret")?),
        status,
        customer: value["customer"].as_str().map(str::to_owned),
        payment_method,
    })
}

fn payment_of(value: &Value) -> GatewayResult<ProviderPayment> {
    let failure_code = value["last_payment_error"]["decline_code"]
        .as_str()
        .or_else(|| value["last_payment_error"]["code"].as_str())
        .map(str::to_owned);
    let status = match value["status"].as_str().unwrap_or_default() {
        "succeeded" => PaymentStatus::Succeeded,
        "processing" | "requires_capture" => PaymentStatus::Processing,
        "requires_action" => PaymentStatus::RequiresAction,
        "canceled" => PaymentStatus::Canceled,
        // A payment that failed goes back to needing a method, with the error kept.
        "requires_payment_method" if failure_code.is_some() => PaymentStatus::Failed,
        _ => PaymentStatus::Pending,
    };
    Ok(ProviderPayment {
        id: field(value, "id")?,
        status,
        amount_minor: value["amount"].as_i64().unwrap_or_default(),
        currency: value["currency"].as_str().unwrap_or_default().to_ascii_uppercase(),
        failure_code,
        client_secret: value["client_secret"].as_str().map(str::to_owned),
    })
}

fn refund_of(value: &Value, payment_id: &str) -> GatewayResult<ProviderRefund> {
    let status = match value["status"].as_str().unwrap_or_default() {
        "succeeded" => RefundStatus::Succeeded,
        "failed" => RefundStatus::Failed,
        "canceled" => RefundStatus::Canceled,
        _ => RefundStatus::Pending,
    };
    Ok(ProviderRefund {
        id: field(value, "id")?,
        payment_id: value["payment_intent"].as_str().unwrap_or(payment_id).to_owned(),
        amount_minor: value["amount"].as_i64().unwrap_or_default(),
        status,
    })
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn provider(&self) -> PaymentProvider {
        PaymentProvider::Stripe
    }

    async fn create_customer(&self, account: Account<'_>, spec: &CustomerSpec, key: &str) -> GatewayResult<String> {
        let mut form: Form = vec![("name".into(), spec.name.clone())];
        if let Some(email) = &spec.email {
            form.push(("email".into(), email.clone()));
        }
        metadata(&mut form, &spec.metadata);
        let created = self.call(Method::POST, "/v1/customers", account, &form, Some(key)).await?;
        field(&created, "id")
    }

    async fn create_setup(&self, account: Account<'_>, customer: &str, key: &str) -> GatewayResult<SetupIntent> {
        let form: Form = vec![
            ("customer".into(), customer.into()),
            ("usage".into(), "off_session".into()),
            ("payment_method_types[]".into(), "card".into()),
        ];
        setup_of(&self.call(Method::POST, "/v1/setup_intents", account, &form, Some(key)).await?)
    }

    async fn complete_setup(
        &self,
        account: Account<'_>,
        _customer: &str,
        id: &str,
        _card_token: Option<&str>,
    ) -> GatewayResult<SetupIntent> {
        setup_of(&self.call(Method::GET, &format!("/v1/setup_intents/{id}"), account, &Vec::new(), None).await?)
    }

    async fn card(&self, account: Account<'_>, _customer: &str, payment_method: &str) -> GatewayResult<CardSummary> {
        let path = format!("/v1/payment_methods/{payment_method}");
        let found = self.call(Method::GET, &path, account, &Vec::new(), None).await?;
        Ok(CardSummary { brand: field(&found["card"], "brand")?, last4: field(&found["card"], "last4")? })
    }

    async fn charge(&self, account: Account<'_>, spec: &ChargeSpec, key: &str) -> GatewayResult<ProviderPayment> {
        let mut form: Form = vec![
            ("amount".into(), spec.amount_minor.to_string()),
            ("currency".into(), spec.currency.to_ascii_lowercase()),
            ("customer".into(), spec.customer.clone()),
            ("payment_method".into(), spec.payment_method.clone()),
            ("payment_method_types[]".into(), "card".into()),
            ("off_session".into(), "true".into()),
            ("confirm".into(), "true".into()),
        ];
        metadata(&mut form, &spec.metadata);
        form.push(("metadata[description]".into(), spec.description.clone()));
        payment_of(&self.call(Method::POST, "/v1/payment_intents", account, &form, Some(key)).await?)
    }

    async fn create_payment(
        &self,
        account: Account<'_>,
        spec: &PaymentSpec,
        key: &str,
    ) -> GatewayResult<ProviderPayment> {
        let mut form: Form = vec![
            ("amount".into(), spec.amount_minor.to_string()),
            ("currency".into(), spec.currency.to_ascii_lowercase()),
            ("payment_method_types[]".into(), "card".into()),
        ];
        metadata(&mut form, &spec.metadata);
        form.push(("metadata[description]".into(), spec.description.clone()));
        payment_of(&self.call(Method::POST, "/v1/payment_intents", account, &form, Some(key)).await?)
    }

    async fn cancel_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        let path = format!("/v1/payment_intents/{id}/cancel");
        payment_of(&self.call(Method::POST, &path, account, &Vec::new(), None).await?)
    }

    async fn retrieve_payment(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderPayment> {
        payment_of(&self.call(Method::GET, &format!("/v1/payment_intents/{id}"), account, &Vec::new(), None).await?)
    }

    async fn refund(
        &self,
        account: Account<'_>,
        payment_id: &str,
        amount_minor: i64,
        key: &str,
    ) -> GatewayResult<ProviderRefund> {
        let form: Form =
            vec![("payment_intent".into(), payment_id.into()), ("amount".into(), amount_minor.to_string())];
        refund_of(&self.call(Method::POST, "/v1/refunds", account, &form, Some(key)).await?, payment_id)
    }

    async fn retrieve_refund(&self, account: Account<'_>, id: &str) -> GatewayResult<ProviderRefund> {
        refund_of(&self.call(Method::GET, &format!("/v1/refunds/{id}"), account, &Vec::new(), None).await?, "")
    }

    async fn events_since(
        &self,
        account: Account<'_>,
        after: Option<DateTime<Utc>>,
        limit: u32,
    ) -> GatewayResult<Vec<ProviderEvent>> {
        let mut form: Form = vec![("limit".into(), limit.clamp(1, 100).to_string())];
        if let Some(after) = after {
            form.push(("created[gt]".into(), after.timestamp().to_string()));
        }
        let listed = self.call(Method::GET, "/v1/events", account, &form, None).await?;
        let mut events = Vec::new();
        for event in listed["data"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let created = event["created"].as_i64().and_then(|t| DateTime::from_timestamp(t, 0)).unwrap_or_default();
            events.push(ProviderEvent {
                id: field(event, "id")?,
                kind: field(event, "type")?,
                created,
                object: event["data"]["object"].clone(),
            });
        }
        events.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(events)
    }
}
