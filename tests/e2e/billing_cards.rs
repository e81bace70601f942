//! A business keeps a card for its subscription over HTTP, against
//! localstripe: the card goes from the "browser" to the provider, Tessera
//! keeps the brand and last four, audited; the business's customer at
//! Stripe shows in the seeds' field. Another business cannot take the setup,
//! and staff, customers and partner clients cannot add cards.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_billing::{MAX_PAYMENT_METHODS, PaymentProvider};
use tessera_e2e::fake_gateway::FakeGateway;
use tessera_e2e::{Auth, TestApp, localstripe};

use crate::billing::audit_actions;
use crate::live_rights::client_token;
use crate::payment_gateways::{TestCard, localstripe_confirm};

const SETUP: &str = "mutation { setupPaymentMethod(provider: STRIPE) { provider setupIntentId clientSecret } }";
const CONFIRM: &str =
    "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id provider brand last4 isDefault } }";
const CARDS: &str = "{ billing { paymentMethods { id brand last4 isDefault } paymentCustomers { stripeCustomerId conektaCustomerId fungiesCustomerId } } }";

/// A gateway whose Stripe is localstripe at `base`.
pub(crate) async fn app_with_stripe(base: &str) -> TestApp {
    let base = base.to_owned();
    TestApp::spawn_with(move |args| {
        args.stripe_secret_key = Some("sk_test_tessera".into());
        args.stripe_api_base = Some(base);
    })
    .await
}

/// A gateway whose Stripe is the in-process fake, which the test also holds.
pub(crate) async fn app_with_fake() -> (TestApp, Arc<FakeGateway>) {
    let fake = Arc::new(FakeGateway::new(PaymentProvider::Stripe, Arc::new(tessera_kernel::SystemClock)));
    let gateway = fake.clone();
    let database = tessera_e2e::TestDatabase::create().await;
    let app = TestApp::spawn_with_options(
        Arc::new(database),
        |_| {},
        move |options| {
            options.payment_gateways = vec![gateway];
        },
    )
    .await;
    (app, fake)
}

/// Starts a setup for `owner`'s business and gives the fake a Visa for it;
/// answers the setup's id, not yet confirmed.
pub(crate) async fn fake_setup(app: &TestApp, fake: &FakeGateway, owner: &Auth) -> String {
    let setup = app.ok(owner, SETUP, json!({})).await;
    let id = setup["setupPaymentMethod"]["setupIntentId"].as_str().unwrap().to_owned();
    fake.confirm_setup(&id, "visa", "4242", false);
    id
}

/// Keeps `card` for `owner`'s business through setup, the browser and
/// confirmation; returns the confirmed card.
pub(crate) async fn keep_card(app: &TestApp, owner: &Auth, base: &str, card: TestCard) -> Value {
    let setup = app.ok(owner, SETUP, json!({})).await;
    let id = setup["setupPaymentMethod"]["setupIntentId"].as_str().unwrap().to_owned();
    localstripe_confirm(base.to_owned())(id.clone(), card).await;
    app.ok(owner, CONFIRM, json!({"id": id})).await["confirmPaymentMethod"].clone()
}

#[tokio::test]
async fn an_owner_keeps_a_card_at_stripe_and_only_its_brand_and_last_four_are_kept() {
    let Some(base) = localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let (owner, _) = app.owner_of("card-keeper").await;

    let setup = app.ok(&owner, SETUP, json!({})).await;
    let setup = &setup["setupPaymentMethod"];
    assert_eq!(setup["provider"], "STRIPE");
    let id = setup["setupIntentId"].as_str().unwrap().to_owned();
    assert!(setup["clientSecret"].as_str().unwrap().starts_with(&format!("{id}_secret")), "{setup}");

    // Before the browser gave the card, there is nothing to keep.
    assert_eq!(app.error_code(&owner, CONFIRM, json!({"id": id})).await, "CONFLICT");
    localstripe_confirm(base.clone())(id.clone(), TestCard::Visa).await;
    let kept = app.ok(&owner, CONFIRM, json!({"id": id})).await;
    let kept = &kept["confirmPaymentMethod"];
    assert_eq!((kept["brand"].as_str(), kept["last4"].as_str()), (Some("visa"), Some("4242")), "{kept}");
    assert_eq!(kept["isDefault"], true);
    let again = app.ok(&owner, CONFIRM, json!({"id": id})).await;
    assert_eq!(again["confirmPaymentMethod"]["id"], kept["id"], "confirming twice keeps one card");

    let cards = app.ok(&owner, CARDS, json!({})).await;
    let customer = cards["billing"]["paymentCustomers"]["stripeCustomerId"].as_str().unwrap();
    assert!(customer.starts_with("cus_"), "{cards}");
    assert!(cards["billing"]["paymentCustomers"]["conektaCustomerId"].is_null());
    assert_eq!(cards["billing"]["paymentMethods"].as_array().unwrap().len(), 1);

    // A second card becomes the default; removing it gives the default back.
    let second = keep_card(&app, &owner, &base, TestCard::Declines).await;
    assert_eq!((second["last4"].as_str(), second["isDefault"].as_bool()), (Some("0341"), Some(true)));
    let same_customer = app.ok(&owner, CARDS, json!({})).await;
    assert_eq!(same_customer["billing"]["paymentCustomers"]["stripeCustomerId"], customer, "one customer per business");
    app.ok(&owner, "mutation($id: ID!) { removePaymentMethod(id: $id) }", json!({"id": second["id"]})).await;
    let left = app.ok(&owner, CARDS, json!({})).await;
    let left = left["billing"]["paymentMethods"].as_array().unwrap().clone();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!((left[0]["last4"].as_str(), left[0]["isDefault"].as_bool()), (Some("4242"), Some(true)));

    let actions: Vec<String> = audit_actions(&app, &owner).await.into_iter().map(|(a, _)| a).collect();
    let cards: Vec<&str> =
        actions.iter().map(String::as_str).filter(|a| a.starts_with("billing.payment_method")).collect();
    assert_eq!(
        cards,
        ["billing.payment_method_added", "billing.payment_method_added", "billing.payment_method_removed"]
    );
    let stored = app.rows("SELECT brand, last4 FROM payment_methods").await;
    assert_eq!(stored.len(), 2, "the brand and last four of each card, and nothing more of it");
}

#[tokio::test]
async fn another_business_cannot_take_a_setup_and_only_owners_add_cards() {
    let Some(base) = localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let (owner, _) = app.owner_of("card-mine").await;
    let (other, _) = app.owner_of("card-theirs").await;
    let setup = app.ok(&owner, SETUP, json!({})).await;
    let id = setup["setupPaymentMethod"]["setupIntentId"].as_str().unwrap().to_owned();
    localstripe_confirm(base.clone())(id.clone(), TestCard::Visa).await;

    // Naming our setup, another business finds nothing, before and after it
    // has a customer of its own.
    assert_eq!(app.error_code(&other, CONFIRM, json!({"id": id})).await, "NOT_FOUND");
    app.ok(&other, SETUP, json!({})).await;
    assert_eq!(app.error_code(&other, CONFIRM, json!({"id": id})).await, "NOT_FOUND");
    let theirs = app.ok(&other, CARDS, json!({})).await;
    assert!(theirs["billing"]["paymentMethods"].as_array().unwrap().is_empty(), "{theirs}");

    let kept = app.ok(&owner, CONFIRM, json!({"id": id})).await;
    let card = kept["confirmPaymentMethod"]["id"].clone();
    let remove = "mutation($id: ID!) { removePaymentMethod(id: $id) }";
    assert_eq!(app.error_code(&other, remove, json!({"id": card})).await, "NOT_FOUND");

    let admin = app.add_member(&owner, "admin@card-mine.test", &["admin"]).await;
    assert_eq!(app.error_code(&admin, SETUP, json!({})).await, "FORBIDDEN");
    let seen = app.ok(&admin, CARDS, json!({})).await;
    assert_eq!(seen["billing"]["paymentMethods"][0]["last4"], "4242", "admins see the cards");
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@card-mine.test"), &[role]).await;
        assert_eq!(app.error_code(&member, SETUP, json!({})).await, "FORBIDDEN", "{role}");
        assert_eq!(app.error_code(&member, CARDS, json!({})).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.error_code(&partner, SETUP, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&partner, remove, json!({"id": card})).await, "FORBIDDEN");
    let mine = app.ok(&owner, CARDS, json!({})).await;
    assert_eq!(mine["billing"]["paymentMethods"].as_array().unwrap().len(), 1, "untouched: {mine}");
}

#[tokio::test]
async fn a_business_keeps_a_bounded_number_of_cards_even_when_they_are_confirmed_at_once() {
    let (app, fake) = app_with_fake().await;
    let (owner, _) = app.owner_of("card-hoarder").await;
    let limit = MAX_PAYMENT_METHODS as usize;
    for _ in 0..limit - 1 {
        let id = fake_setup(&app, &fake, &owner).await;
        app.ok(&owner, CONFIRM, json!({"id": id})).await;
    }
    // Two setups started below the limit and confirmed together: one card is kept.
    let (first, second) = (fake_setup(&app, &fake, &owner).await, fake_setup(&app, &fake, &owner).await);
    let (a, b) =
        tokio::join!(app.post(&owner, CONFIRM, json!({"id": first})), app.post(&owner, CONFIRM, json!({"id": second})));
    let mut codes = [tessera_e2e::error_code_of(&a.1), tessera_e2e::error_code_of(&b.1)];
    codes.sort();
    assert_eq!(codes, ["", "CONFLICT"], "{a:?} {b:?}");
    let kept = app.ok(&owner, CARDS, json!({})).await;
    let kept = kept["billing"]["paymentMethods"].as_array().unwrap().clone();
    assert_eq!(kept.len(), limit);
    // At the limit no new setup starts at the provider; removing one makes room.
    assert_eq!(app.error_code(&owner, SETUP, json!({})).await, "CONFLICT");
    app.ok(&owner, "mutation($id: ID!) { removePaymentMethod(id: $id) }", json!({"id": kept[0]["id"]})).await;
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, CONFIRM, json!({"id": id})).await;
}

#[tokio::test]
async fn without_a_provider_account_keeping_a_card_is_unavailable() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("card-none").await;
    assert_eq!(app.error_code(&owner, SETUP, json!({})).await, "SERVICE_UNAVAILABLE");
    let conekta = "mutation { setupPaymentMethod(provider: CONEKTA) { clientSecret } }";
    let (_, body) = app.post(&owner, conekta, json!({})).await;
    assert_eq!(tessera_e2e::error_code_of(&body), "SERVICE_UNAVAILABLE");
    assert!(!body.to_string().contains("Conekta account"), "the reason stays in the log: {body}");
}
