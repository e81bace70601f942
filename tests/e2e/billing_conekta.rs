//! A business pays the platform through Conekta over HTTP, against a fake of
//! Conekta's documented API: the card goes from the "browser" to Conekta's
//! tokenizer, the owner confirms the setup with the one-use token, Tessera
//! keeps the brand and last four, and the subscription is charged as a
//! Conekta order, once. Another business cannot take the setup, and staff,
//! customers and partner clients cannot add cards.

use chrono::Duration;
use serde_json::json;
use tessera_e2e::fake_conekta::FakeConekta;
use tessera_e2e::{TestApp, fake_conekta::DECLINED_CARD};

use crate::live_rights::client_token;

const SETUP: &str = "mutation { setupPaymentMethod(provider: CONEKTA) { provider setupIntentId clientSecret } }";
const CONFIRM: &str = "mutation($id: String!, $token: String) { confirmPaymentMethod(provider: CONEKTA, \
    setupIntentId: $id, cardToken: $token) { id provider brand last4 isDefault } }";
const EMAIL: &str =
    "mutation { updateBillingDetails(input: {billingEmail: \"billing@conekta.test\"}) { billingEmail } }";
const STATE: &str = "{ billing { subscription { status } paymentCustomers { stripeCustomerId conektaCustomerId } \
    invoices(first: 5) { edges { node { status total { amountMinor currency } amountPaid { amountMinor } } } } } }";

async fn app_with_conekta(fake: &FakeConekta) -> TestApp {
    let base = fake.base.clone();
    TestApp::spawn_with(move |args| {
        args.conekta_private_key = Some("key_tessera_private".into());
        args.conekta_api_base = Some(base);
    })
    .await
}

fn setup_id(answer: &serde_json::Value) -> String {
    answer["setupPaymentMethod"]["setupIntentId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_business_keeps_a_tokenized_card_at_conekta_and_its_subscription_is_charged_there_once() {
    let fake = FakeConekta::start().await;
    let app = app_with_conekta(&fake).await;
    let slug = "pays-in-pesos";
    let (owner, _) = app.owner_of(slug).await;

    // Conekta keeps customers only with an email: asked for, nothing made.
    assert_eq!(app.error_code(&owner, SETUP, json!({})).await, "BAD_USER_INPUT");
    assert_eq!(fake.calls(&reqwest::Method::POST, "/customers"), 0);
    app.ok(&owner, EMAIL, json!({})).await;

    let setup = app.ok(&owner, SETUP, json!({})).await;
    assert_eq!(setup["setupPaymentMethod"]["provider"], "CONEKTA");
    assert!(setup["setupPaymentMethod"]["clientSecret"].is_null(), "the tokenizer needs only the public key: {setup}");
    let id = setup_id(&setup);

    // No token yet: nothing to keep. A token that is no good is not found.
    assert_eq!(app.error_code(&owner, CONFIRM, json!({"id": id})).await, "CONFLICT");
    let unknown = json!({"id": id, "token": "tok_0000000000000000"});
    assert_eq!(app.error_code(&owner, CONFIRM, unknown).await, "NOT_FOUND");
    let malformed = json!({"id": id, "token": "tok_1/../../orders"});
    assert_eq!(app.error_code(&owner, CONFIRM, malformed).await, "BAD_USER_INPUT");

    let token = fake.tokenize("4242424242424242").await;
    let kept = app.ok(&owner, CONFIRM, json!({"id": id, "token": token})).await;
    let kept = &kept["confirmPaymentMethod"];
    assert_eq!(
        (kept["provider"].as_str(), kept["brand"].as_str(), kept["last4"].as_str(), kept["isDefault"].as_bool()),
        (Some("CONEKTA"), Some("visa"), Some("4242"), Some(true)),
        "{kept}"
    );
    let again = app.ok(&owner, CONFIRM, json!({"id": id, "token": token})).await;
    assert_eq!(again["confirmPaymentMethod"]["id"], kept["id"], "confirming twice keeps one card");
    assert_eq!(fake.sources(), 1, "one payment source at Conekta");

    let start = "mutation { startSubscription(planCode: \"premium-monthly\") { trialEnd } }";
    let trial_end = app.ok(&owner, start, json!({})).await["startSubscription"]["trialEnd"].clone();
    let trial_end = chrono::DateTime::parse_from_rfc3339(trial_end.as_str().unwrap()).unwrap().to_utc();
    app.clock.set(trial_end + Duration::seconds(1));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    app.run_billing().await;
    app.run_billing().await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");
    let customers = &state["billing"]["paymentCustomers"];
    assert!(customers["conektaCustomerId"].as_str().unwrap().starts_with("cus_"), "{state}");
    assert!(customers["stripeCustomerId"].is_null());
    let invoice = &state["billing"]["invoices"]["edges"][0]["node"];
    assert_eq!(invoice["status"], "PAID", "{state}");
    assert_eq!(invoice["total"], json!({"amountMinor": 29500, "currency": "USD"}));
    assert_eq!(invoice["amountPaid"]["amountMinor"], 29500);
    assert_eq!(fake.orders(), 1, "charged once, however often the job runs");
    let rows = app.rows("SELECT provider, provider_payment_id FROM invoice_payments").await;
    assert_eq!(rows.len(), 1, "one payment row, keyed before the call");
    let (provider, order): (String, String) =
        (rows[0].try_get("", "provider").unwrap(), rows[0].try_get("", "provider_payment_id").unwrap());
    assert_eq!((provider.as_str(), order.starts_with("ord_")), ("conekta", true), "{order}");
}

#[tokio::test]
async fn another_business_cannot_take_a_conekta_setup_and_only_owners_add_cards() {
    let fake = FakeConekta::start().await;
    let app = app_with_conekta(&fake).await;
    let (owner, _) = app.owner_of("conekta-mine").await;
    let (other, _) = app.owner_of("conekta-theirs").await;
    for business in [&owner, &other] {
        app.ok(business, EMAIL, json!({})).await;
    }
    let id = setup_id(&app.ok(&owner, SETUP, json!({})).await);
    let ours = fake.tokenize("4242424242424242").await;
    let kept = app.ok(&owner, CONFIRM, json!({"id": id, "token": ours})).await;

    // Naming our setup with a token of its own, another business gets
    // nothing: Conekta answers the first call's source, which is ours.
    app.ok(&other, SETUP, json!({})).await;
    let theirs = fake.tokenize(DECLINED_CARD).await;
    assert_eq!(app.error_code(&other, CONFIRM, json!({"id": id, "token": theirs})).await, "NOT_FOUND");
    let cards = "{ billing { paymentMethods { id } } }";
    assert!(app.ok(&other, cards, json!({})).await["billing"]["paymentMethods"].as_array().unwrap().is_empty());
    let remove = "mutation($id: ID!) { removePaymentMethod(id: $id) }";
    let card = kept["confirmPaymentMethod"]["id"].clone();
    assert_eq!(app.error_code(&other, remove, json!({"id": card})).await, "NOT_FOUND");

    let token = fake.tokenize("4242424242424242").await;
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@conekta-mine.test"), &[role]).await;
        assert_eq!(app.error_code(&member, SETUP, json!({})).await, "FORBIDDEN", "{role}");
        let confirm = json!({"id": id, "token": token});
        assert_eq!(app.error_code(&member, CONFIRM, confirm).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.error_code(&partner, CONFIRM, json!({"id": id, "token": token})).await, "FORBIDDEN");
    let mine = app.ok(&owner, cards, json!({})).await;
    assert_eq!(mine["billing"]["paymentMethods"].as_array().unwrap().len(), 1, "{mine}");
}

#[tokio::test]
async fn a_card_conekta_declines_puts_the_subscription_past_due_and_is_tried_once_per_attempt() {
    let fake = FakeConekta::start().await;
    let app = app_with_conekta(&fake).await;
    let slug = "declined-in-pesos";
    let (owner, _) = app.owner_of(slug).await;
    app.ok(&owner, EMAIL, json!({})).await;
    let id = setup_id(&app.ok(&owner, SETUP, json!({})).await);
    let token = fake.tokenize(DECLINED_CARD).await;
    app.ok(&owner, CONFIRM, json!({"id": id, "token": token})).await;
    let start = "mutation { startSubscription(planCode: \"premium-monthly\") { trialEnd } }";
    let trial_end = app.ok(&owner, start, json!({})).await["startSubscription"]["trialEnd"].clone();
    let trial_end = chrono::DateTime::parse_from_rfc3339(trial_end.as_str().unwrap()).unwrap().to_utc();
    app.clock.set(trial_end + Duration::seconds(1));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    app.run_billing().await;
    app.run_billing().await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "PAST_DUE", "{state}");
    let invoice = &state["billing"]["invoices"]["edges"][0]["node"];
    assert_eq!((invoice["status"].as_str(), invoice["amountPaid"]["amountMinor"].as_i64()), (Some("OPEN"), Some(0)));
    assert_eq!(fake.orders(), 1, "one declined order, not tried again before the next retry day");
    let rows = app.rows("SELECT status, failure_code FROM invoice_payments").await;
    let (state, code): (String, Option<String>) =
        (rows[0].try_get("", "status").unwrap(), rows[0].try_get("", "failure_code").unwrap());
    assert_eq!((state.as_str(), code.as_deref()), ("failed", Some("declined")));
}

#[tokio::test]
async fn parallel_confirmations_of_one_conekta_setup_keep_one_card() {
    let fake = FakeConekta::start().await;
    let app = app_with_conekta(&fake).await;
    let (owner, _) = app.owner_of("conekta-rush").await;
    app.ok(&owner, EMAIL, json!({})).await;
    let id = setup_id(&app.ok(&owner, SETUP, json!({})).await);
    let token = fake.tokenize("4242424242424242").await;
    let confirm = json!({"id": id, "token": token});
    let kept = futures_util::future::join_all((0..5).map(|_| app.ok(&owner, CONFIRM, confirm.clone()))).await;
    let ids: std::collections::BTreeSet<String> =
        kept.iter().map(|k| k["confirmPaymentMethod"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "{kept:?}");
    assert_eq!(fake.sources(), 1, "one payment source at Conekta");
    assert_eq!(app.rows("SELECT id FROM payment_methods").await.len(), 1);
}
