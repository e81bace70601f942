//! One contract every payment provider's client passes, run against Stripe's
//! client talking to localstripe (a stateful fake Stripe server from PyPI)
//! and against the in-process fake; and what localstripe cannot show about
//! Stripe's client, against a scripted HTTP server: retries with the same
//! idempotency key after a 429, a 500 or a lost answer, the connected
//! account header, and declines told by their code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tessera_billing::PaymentProvider;
use tessera_billing::gateway::conekta::{ConektaConfig, ConektaGateway};
use tessera_billing::gateway::http::RetryPolicy;
use tessera_billing::gateway::stripe::{StripeConfig, StripeGateway};
use tessera_billing::gateway::{
    ChargeSpec, CustomerSpec, GatewayError, PaymentGateway, PaymentStatus, RefundStatus, SetupStatus,
};
use tessera_e2e::fake_conekta::{DECLINED_CARD, FakeConekta};
use tessera_e2e::fake_gateway::FakeGateway;
use tessera_e2e::localstripe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A card a test gives in the "browser".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestCard {
    /// Charges succeed (Visa ending 4242).
    Visa,
    /// Kept, but every charge is declined (ending 0341).
    Declines,
}

/// Gives `card` for the setup `id`, as the provider's browser library would;
/// returns the card token a tokenizing provider's library gives (Conekta's).
pub(crate) type Confirm = Box<dyn Fn(String, TestCard) -> BoxFuture<'static, Option<String>> + Send + Sync>;

/// What a browser does at localstripe: confirm the setup with a test card.
pub(crate) fn localstripe_confirm(base: String) -> Confirm {
    Box::new(move |id, card| {
        let base = base.clone();
        Box::pin(async move {
            let method = match card {
                TestCard::Visa => "pm_card_visa",
                TestCard::Declines => "pm_card_chargeCustomerFail",
            };
            let url = format!("{base}/v1/setup_intents/{id}/confirm");
            let answer = reqwest::Client::new()
                .post(url)
                .bearer_auth("sk_test_browser")
                .form(&[("payment_method", method)])
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
            None
        })
    })
}

/// What a browser does with Conekta's tokenizer: a one-use card token.
pub(crate) fn conekta_confirm(fake: FakeConekta) -> Confirm {
    Box::new(move |_, card| {
        let fake = fake.clone();
        Box::pin(async move {
            let number = match card {
                TestCard::Visa => "4242424242424242",
                TestCard::Declines => DECLINED_CARD,
            };
            Some(fake.tokenize(number).await)
        })
    })
}

pub(crate) fn conekta_at(base: &str) -> ConektaGateway {
    let config = ConektaConfig {
        api_base: base.into(),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy { max_retries: 2, backoff: Duration::from_millis(5) },
        ..ConektaConfig::new("key_tessera_private")
    };
    ConektaGateway::new(config).unwrap()
}

pub(crate) fn stripe_at(base: &str) -> StripeGateway {
    let config = StripeConfig {
        api_base: base.into(),
        retry: RetryPolicy { max_retries: 2, backoff: Duration::from_millis(5) },
        timeout: Duration::from_secs(5),
        ..StripeConfig::new("sk_test_tessera")
    };
    StripeGateway::new(config).unwrap()
}

/// The contract: customers, kept cards, charges, declines, refunds, lookups
/// and the event list, as the billing engine relies on them. `paid_event` is
/// the provider's name for a payment that went through.
async fn contract(gateway: &dyn PaymentGateway, confirm: Confirm, paid_event: &str) {
    let spec = CustomerSpec {
        name: "Bella Roma S.L.".into(),
        email: Some("billing@bella.test".into()),
        metadata: vec![("tessera_tenant".into(), "t-1".into())],
    };
    let customer = gateway.create_customer(None, &spec, "customer:t-1").await.unwrap();
    assert!(!customer.is_empty());

    let setup = gateway.create_setup(None, &customer, "setup:1").await.unwrap();
    assert_eq!(setup.status, SetupStatus::RequiresPaymentMethod, "{setup:?}");
    assert!(setup.client_secret.as_ref().is_none_or(|s| !s.is_empty()), "{setup:?}");
    assert_eq!(setup.customer.as_deref(), Some(customer.as_str()), "{setup:?}");
    let given = gateway.complete_setup(None, &customer, &setup.id, None).await.unwrap();
    assert_eq!(given.status, SetupStatus::RequiresPaymentMethod, "no card given yet: {given:?}");
    let token = confirm(setup.id.clone(), TestCard::Visa).await;
    let confirmed = gateway.complete_setup(None, &customer, &setup.id, token.as_deref()).await.unwrap();
    assert_eq!(confirmed.status, SetupStatus::Succeeded, "{confirmed:?}");
    assert_eq!(confirmed.customer.as_deref(), Some(customer.as_str()), "{confirmed:?}");
    let again = gateway.complete_setup(None, &customer, &setup.id, token.as_deref()).await.unwrap();
    assert_eq!(again.payment_method, confirmed.payment_method, "completing twice keeps one card");
    let method = confirmed.payment_method.expect("the kept card");
    let card = gateway.card(None, &customer, &method).await.unwrap();
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));

    let charge = ChargeSpec {
        customer: customer.clone(),
        payment_method: method,
        amount_minor: 29_500,
        currency: "USD".into(),
        description: "Premium, monthly".into(),
        metadata: vec![("tessera_invoice".into(), "inv-1".into())],
    };
    let paid = gateway.charge(None, &charge, "payment:1").await.unwrap();
    assert_eq!((paid.status, paid.amount_minor, paid.currency.as_str()), (PaymentStatus::Succeeded, 29_500, "USD"));
    let again = gateway.retrieve_payment(None, &paid.id).await.unwrap();
    assert_eq!((again.id.as_str(), again.status), (paid.id.as_str(), PaymentStatus::Succeeded));

    let refund = gateway.refund(None, &paid.id, 10_000, "refund:1").await.unwrap();
    assert_eq!((refund.amount_minor, refund.payment_id.as_str()), (10_000, paid.id.as_str()));
    assert!(matches!(refund.status, RefundStatus::Succeeded | RefundStatus::Pending), "{refund:?}");

    let failing = gateway.create_setup(None, &customer, "setup:2").await.unwrap();
    let token = confirm(failing.id.clone(), TestCard::Declines).await;
    let kept = gateway.complete_setup(None, &customer, &failing.id, token.as_deref()).await.unwrap();
    let kept = kept.payment_method.unwrap();
    let declined = gateway.charge(None, &ChargeSpec { payment_method: kept, ..charge }, "payment:2").await;
    assert!(matches!(declined, Err(GatewayError::Declined { .. })), "{declined:?}");

    let missing = gateway.retrieve_payment(None, "pi_does_not_exist").await;
    assert_eq!(missing, Err(GatewayError::NotFound));

    let events = gateway.events_since(None, None, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == paid_event && e.object["id"] == paid.id.as_str()), "{events:?}");
    assert!(events.windows(2).all(|w| w[0].created <= w[1].created), "oldest first");
}

#[tokio::test]
async fn stripes_client_keeps_the_contract_against_localstripe() {
    let Some(base) = localstripe() else { return };
    contract(&stripe_at(&base), localstripe_confirm(base), "payment_intent.succeeded").await;
}

#[tokio::test]
async fn conektas_client_keeps_the_contract_against_a_fake_of_its_documented_api() {
    let fake = FakeConekta::start().await;
    contract(&conekta_at(&fake.base), conekta_confirm(fake.clone()), "order.paid").await;
    // Every creating call carried a key; nothing acted for a business's own
    // company unless asked.
    let seen = fake.seen();
    let creating: Vec<_> = seen.iter().filter(|s| s.line.starts_with("POST") && s.line != "POST /tokens").collect();
    assert!(!creating.is_empty() && creating.iter().all(|s| s.key.is_some()), "{seen:?}");
    assert!(seen.iter().all(|s| s.child_company.is_none()), "{seen:?}");
}

#[tokio::test]
async fn the_in_process_fake_keeps_the_same_contract() {
    for provider in [PaymentProvider::Stripe, PaymentProvider::Conekta, PaymentProvider::Fungies] {
        let fake = Arc::new(FakeGateway::new(provider, Arc::new(tessera_kernel::SystemClock)));
        let browser = fake.clone();
        let confirm: Confirm = Box::new(move |id, card| {
            match card {
                TestCard::Visa => browser.confirm_setup(&id, "visa", "4242", false),
                TestCard::Declines => browser.confirm_setup(&id, "visa", "0341", true),
            }
            Box::pin(async { None })
        });
        contract(fake.as_ref(), confirm, "payment_intent.succeeded").await;
    }
}

/// One request as the scripted server saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the scripted server does with one request: answer, or close the
/// connection without a word (after reading it: the provider may have acted).
enum Step {
    Answer(u16, Value),
    Drop,
}

/// A loopback HTTP server that answers each request with the next step.
async fn scripted(steps: Vec<Step>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut steps = steps.into_iter();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let request = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buffer.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buffer).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        let mut lines = head.lines();
                        let line = lines.next().unwrap_or_default().to_owned();
                        let headers = lines
                            .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())))
                            .collect();
                        break Some(Seen { line, headers, body: body.to_owned() });
                    }
                }
            };
            let Some(request) = request else { continue };
            log.lock().unwrap().push(request);
            match steps.next() {
                Some(Step::Answer(status, body)) => {
                    let body = body.to_string();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
                Some(Step::Drop) | None => {}
            }
            drop(socket);
        }
    });
    (format!("http://{address}"), seen)
}

fn intent(status: &str) -> Value {
    json!({"id": "pi_1", "object": "payment_intent", "status": status, "amount": 29500, "currency": "usd"})
}

fn charge_spec() -> ChargeSpec {
    ChargeSpec {
        customer: "cus_1".into(),
        payment_method: "pm_1".into(),
        amount_minor: 29_500,
        currency: "USD".into(),
        description: "Premium".into(),
        metadata: vec![("tessera_payment".into(), "p-1".into())],
    }
}

#[tokio::test]
async fn stripes_client_retries_a_429_a_500_and_a_lost_answer_with_the_same_idempotency_key() {
    let steps = vec![
        Step::Answer(429, json!({"error": {"type": "rate_limit_error", "message": "slow down"}})),
        Step::Answer(500, json!({"error": {"type": "api_error", "message": "boom"}})),
        Step::Answer(200, intent("succeeded")),
    ];
    let (base, seen) = scripted(steps).await;
    let paid = stripe_at(&base).charge(Some("acct_salon"), &charge_spec(), "payment:p-1").await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in &seen {
        assert_eq!(request.line, "POST /v1/payment_intents HTTP/1.1");
        assert_eq!(request.header("idempotency-key"), Some("payment:p-1"), "the same key on every try");
        assert_eq!(request.header("stripe-account"), Some("acct_salon"), "the connected account on every call");
        assert_eq!(request.header("authorization"), Some("Bearer sk_test_tessera"));
        assert!(
            request.body.contains("off_session=true") && request.body.contains("metadata%5Btessera_payment%5D=p-1")
        );
    }

    // Every answer lost: the outcome is unknown, never a failure, and every
    // try carried the same key, so Stripe acted at most once.
    let (base, seen) = scripted(vec![Step::Drop, Step::Drop, Step::Drop]).await;
    let lost = stripe_at(&base).charge(None, &charge_spec(), "payment:p-2").await;
    assert!(matches!(lost, Err(GatewayError::Unknown(_))), "{lost:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|r| r.header("idempotency-key") == Some("payment:p-2") && r.header("stripe-account").is_none())
    );
}

#[tokio::test]
async fn stripes_client_tells_declines_by_their_code_and_does_not_retry_a_refusal() {
    let declined = json!({"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}});
    // localstripe's shape: a decline as an invalid request, told by its code.
    let localstripe_like =
        json!({"error": {"type": "invalid_request_error", "code": "card_declined", "message": "declined"}});
    let invalid = json!({"error": {"type": "invalid_request_error", "message": "No such customer: 'cus_x'"}});
    let conflict = json!({"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}});
    let steps = vec![
        Step::Answer(402, declined),
        Step::Answer(402, localstripe_like),
        Step::Answer(400, invalid),
        Step::Answer(409, conflict),
        Step::Answer(404, json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
    ];
    let (base, seen) = scripted(steps).await;
    let stripe = stripe_at(&base);
    assert_eq!(
        stripe.charge(None, &charge_spec(), "k1").await,
        Err(GatewayError::Declined { code: "insufficient_funds".into() })
    );
    assert_eq!(
        stripe.charge(None, &charge_spec(), "k2").await,
        Err(GatewayError::Declined { code: "card_declined".into() })
    );
    assert!(matches!(stripe.charge(None, &charge_spec(), "k3").await, Err(GatewayError::Invalid(_))));
    assert!(matches!(stripe.charge(None, &charge_spec(), "k4").await, Err(GatewayError::Conflict(_))));
    assert_eq!(stripe.retrieve_payment(None, "pi_x").await, Err(GatewayError::NotFound));
    assert_eq!(seen.lock().unwrap().len(), 5, "none of these is tried again");
}

#[tokio::test]
async fn conektas_client_retries_with_the_same_key_names_the_child_company_and_tells_declines_apart() {
    let order = json!({"id": "ord_1", "object": "order", "amount": 29500, "currency": "USD",
        "payment_status": "paid", "charges": {"data": [{"id": "chrg_1", "status": "paid"}]}});
    let steps = vec![
        Step::Answer(429, json!({"object": "error", "type": "too_many_requests", "details": []})),
        Step::Answer(500, json!({"object": "error", "type": "api_error", "details": [{"message": "boom"}]})),
        Step::Answer(200, order),
    ];
    let (base, seen) = scripted(steps).await;
    let paid = conekta_at(&base).charge(Some("6441b6376b60c3a638da80af"), &charge_spec(), "payment:p-1").await.unwrap();
    assert_eq!((paid.id.as_str(), paid.status), ("ord_1", PaymentStatus::Succeeded));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in &seen {
        assert_eq!(request.line, "POST /orders HTTP/1.1");
        assert_eq!(request.header("idempotency-key"), Some("payment:p-1"), "the same key on every try");
        assert_eq!(request.header("x-child-company-id"), Some("6441b6376b60c3a638da80af"));
        assert_eq!(request.header("authorization"), Some("Bearer key_tessera_private"));
        assert_eq!(request.header("accept"), Some("application/vnd.conekta-v2.2.0+json"));
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["charges"][0]["payment_method"], json!({"type": "card", "payment_source_id": "pm_1"}));
        assert_eq!(
            (body["currency"].as_str(), body["line_items"][0]["unit_price"].as_i64()),
            (Some("USD"), Some(29_500))
        );
    }

    let (base, seen) = scripted(vec![Step::Drop, Step::Drop, Step::Drop]).await;
    let lost = conekta_at(&base).charge(None, &charge_spec(), "payment:p-2").await;
    assert!(matches!(lost, Err(GatewayError::Unknown(_))), "{lost:?}");
    assert!(seen.lock().unwrap().iter().all(|r| r.header("idempotency-key") == Some("payment:p-2")));

    let error = |status: u16, kind: &str, code: &str, param: Option<&str>| {
        Step::Answer(
            status,
            json!({"object": "error", "type": kind, "details": [{"code": code, "param": param, "message": "x"}]}),
        )
    };
    let steps = vec![
        error(402, "processing_error", "conekta.errors.processing.bank.declined", None),
        error(402, "processing_error", "conekta.errors.processing.tokenization.used", None),
        error(
            422,
            "parameter_validation_error",
            "conekta.errors.parameter_validation.payment_method.token_id.nonexistent_token",
            Some("payment_method.token_id"),
        ),
        error(422, "parameter_validation_error", "conekta.errors.parameter_validation.currency", Some("currency")),
        error(404, "resource_not_found_error", "conekta.errors.resource_not_found.entity", None),
    ];
    let (base, seen) = scripted(steps).await;
    let conekta = conekta_at(&base);
    assert_eq!(
        conekta.charge(None, &charge_spec(), "k1").await,
        Err(GatewayError::Declined { code: "declined".into() })
    );
    let foreign = conekta.complete_setup(None, "cus_1", "cus_2:setup:1", Some("tok_1")).await;
    assert_eq!(foreign, Err(GatewayError::NotFound), "another customer's setup, with no call made");
    let used = conekta.complete_setup(None, "cus_1", "cus_1:setup:1", Some("tok_used")).await;
    assert_eq!(used, Err(GatewayError::NotFound), "a used token is no card, not a decline");
    let missing = conekta.complete_setup(None, "cus_1", "cus_1:setup:2", Some("tok_missing")).await;
    assert_eq!(missing, Err(GatewayError::NotFound));
    assert!(matches!(conekta.charge(None, &charge_spec(), "k2").await, Err(GatewayError::Invalid(_))));
    assert_eq!(conekta.retrieve_payment(None, "ord_x").await, Err(GatewayError::NotFound));
    assert_eq!(seen.lock().unwrap().len(), 5, "none of these is tried again");
}
