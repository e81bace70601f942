//! Stripe's webhooks over HTTP: a signed event settles a payment the bank was
//! processing at once; a repeated delivery is kept once; an event arriving
//! late never moves a payment back; deliveries that are unsigned, signed
//! with another secret or too old are refused, and past a few a minute the
//! address is; other endpoints do not exist; the operator lists and replays.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_billing::PaymentProvider;
use tessera_billing::gateway::stripe_webhook::signature_header;
use tessera_e2e::fake_gateway::{FakeGateway, Fault};
use tessera_e2e::{Auth, TestApp};

use crate::billing_cards::fake_setup;

const SECRET: &str = "whsec_tessera_current";
const PREVIOUS: &str = "whsec_tessera_previous";
const ENDPOINT: &str = "/webhooks/payments/stripe/platform";
const STATE: &str = "{ billing { subscription { status } invoices(first: 5) { edges { node { status } } } } }";

async fn app_with_webhooks() -> (TestApp, Arc<FakeGateway>) {
    let fake = Arc::new(FakeGateway::new(PaymentProvider::Stripe, Arc::new(tessera_kernel::SystemClock)));
    let gateway = fake.clone();
    let database = tessera_e2e::TestDatabase::create().await;
    let app = TestApp::spawn_with_options(
        Arc::new(database),
        |args| {
            args.stripe_webhook_secret = Some(SECRET.into());
            args.stripe_webhook_previous_secret = Some(PREVIOUS.into());
            // Each app's deliveries come from an address of its own (see `deliver`).
            args.trusted_proxies = "127.0.0.1".parse().ok();
        },
        move |options| options.payment_gateways = vec![gateway],
    )
    .await;
    (app, fake)
}

/// Delivers `body` signed with `secret` at `at` (unsigned when `None`).
pub(crate) async fn deliver(
    app: &TestApp,
    path: &str,
    body: &str,
    signed: Option<(&str, DateTime<Utc>)>,
) -> (u16, Value) {
    // An address of this app's own (from its port), so limits kept in a
    // shared Redis count only its deliveries.
    let port = app.address.port();
    let from = format!("10.77.{}.{}", port / 256, port % 256);
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("x-forwarded-for", from)
        .body(body.to_owned());
    if let Some((secret, at)) = signed {
        request = request.header("stripe-signature", signature_header(secret, at, body.as_bytes()));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn event(id: &str, kind: &str, object: &Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}).to_string()
}

/// The owner's invoice and subscription, once the background work settles.
async fn settled(app: &TestApp, owner: &Auth, invoice: &str) -> Value {
    for _ in 0..50 {
        let state = app.ok(owner, STATE, json!({})).await;
        if state["billing"]["invoices"]["edges"][0]["node"]["status"] == invoice {
            // Read again: the fields of one query are read one after
            // another, so the subscription may have been read before the
            // commit that paid the invoice.
            return app.ok(owner, STATE, json!({})).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.ok(owner, STATE, json!({})).await
}

/// The events kept, once the background work applied them all.
async fn all_applied(app: &TestApp) -> Vec<tessera_billing::InboundEvent> {
    let mut kept = Vec::new();
    for _ in 0..50 {
        kept = app.state.services.billing.provider_events(false, 10).await.unwrap();
        if kept.iter().all(|e| e.processed_at.is_some()) {
            return kept;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not all applied: {kept:?}");
}

#[tokio::test]
async fn a_signed_event_settles_a_processing_payment_once_and_a_late_one_changes_nothing() {
    let (app, fake) = app_with_webhooks().await;
    let slug = "hooks-salon";
    let (owner, _) = app.owner_of(slug).await;
    let start =
        app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { trialEnd } }", json!({})).await;
    let trial_end = DateTime::parse_from_rfc3339(start["startSubscription"]["trialEnd"].as_str().unwrap()).unwrap();
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }", json!({"id": id}))
        .await;
    fake.fail_next(&[Fault::Processing]);
    app.clock.set(trial_end.with_timezone(&Utc) + Duration::seconds(1));
    app.run_billing().await;
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    assert_eq!(settled(&app, &owner, "OPEN").await["billing"]["subscription"]["status"], "TRIALING");

    // The bank settles; Stripe says so.
    fake.settle_processing();
    let object = fake.last_event("payment_intent.processing").unwrap();
    let body = event("evt_settled", "payment_intent.succeeded", &object);
    let now = app.now();
    assert_eq!(deliver(&app, ENDPOINT, &body, None).await.0, 400, "unsigned");
    assert_eq!(deliver(&app, ENDPOINT, &body, Some(("whsec_someone_else", now))).await.0, 400, "another secret");
    let stale = Some((SECRET, now - Duration::seconds(301)));
    assert_eq!(deliver(&app, ENDPOINT, &body, stale).await.0, 400, "too old to be this delivery");
    // Delivered five times at once, signed with the previous secret (which
    // still holds): every delivery is answered, one is kept.
    let deliveries = (0..5).map(|_| deliver(&app, ENDPOINT, &body, Some((PREVIOUS, now))));
    let answers = futures_util::future::join_all(deliveries).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let kept = answers.iter().filter(|(_, body)| body["message"] == "received").count();
    assert_eq!(kept, 1, "{answers:?}");
    let state = settled(&app, &owner, "PAID").await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");

    // Delivered again: kept once, nothing more.
    assert_eq!(
        deliver(&app, ENDPOINT, &body, Some((SECRET, now))).await,
        (200, json!({"message": "received already"}))
    );
    assert_eq!(app.rows("SELECT id FROM provider_events").await.len(), 1);

    // A failure event arriving late: Stripe is asked, and the payment stays paid.
    let late = event("evt_late_failure", "payment_intent.payment_failed", &object);
    assert_eq!(deliver(&app, ENDPOINT, &late, Some((SECRET, now))).await.0, 200);
    app.run_billing().await;
    let state = settled(&app, &owner, "PAID").await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE");
    let succeeded = app.rows("SELECT id FROM invoice_payments WHERE status = 'succeeded'").await;
    assert_eq!(succeeded.len(), 1);

    // The operator sees both applied, and replays one to no effect.
    let events = all_applied(&app).await;
    assert_eq!(events.len(), 2);
    let replay = tessera_api::payment_events::PaymentsAction::Replay { id: events[0].id };
    tessera_api::payment_events::payments(&app.state.services, replay).await.unwrap();
    let list = tessera_api::payment_events::PaymentsAction::Events { unapplied: true, limit: 10 };
    tessera_api::payment_events::payments(&app.state.services, list).await.unwrap();
    assert_eq!(settled(&app, &owner, "PAID").await["billing"]["subscription"]["status"], "ACTIVE");
}

#[tokio::test]
async fn only_the_configured_endpoint_exists_and_unverified_deliveries_are_limited() {
    let (app, _fake) = app_with_webhooks().await;
    let body = event("evt_1", "payment_intent.succeeded", &json!({"id": "pi_1", "metadata": {}}));
    let now = app.now();
    for path in ["/webhooks/payments/conekta/platform", "/webhooks/payments/stripe/acct_123"] {
        assert_eq!(deliver(&app, path, &body, Some((SECRET, now))).await.0, 404, "{path}");
    }
    let huge = format!("{{\"id\":\"evt_2\",\"padding\":\"{}\"}}", "x".repeat(300 * 1024));
    assert_eq!(deliver(&app, ENDPOINT, &huge, Some((SECRET, now))).await.0, 413);
    // A signed event for a payment that is not there changes nothing.
    let stranger =
        json!({"id": "pi_x", "metadata": {"tessera_tenant": uuid::Uuid::nil(), "tessera_payment": uuid::Uuid::nil()}});
    let body = event("evt_stranger", "payment_intent.succeeded", &stranger);
    let answer = deliver(&app, ENDPOINT, &body, Some((SECRET, now))).await;
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(all_applied(&app).await.len(), 1, "applied, to no effect");

    let mut statuses = Vec::new();
    // 20 a minute (`UNVERIFIED_PER_MINUTE`), then refused.
    for _ in 0..22 {
        statuses.push(deliver(&app, ENDPOINT, &body, Some(("whsec_guessing_secret", now))).await.0);
    }
    assert_eq!(statuses.first(), Some(&400));
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    let plain = TestApp::spawn().await;
    assert_eq!(deliver(&plain, ENDPOINT, &body, Some((SECRET, now))).await.0, 404, "no secret, no endpoint");
}
