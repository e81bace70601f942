//! Cards kept at booking and the fees charged to them, over HTTP: a booking
//! at a business that keeps cards waits for the customer's card, given once
//! through a setup on the business's account and kept as brand and last
//! four; a no-show charges its fee once however often (and however
//! concurrently) it is marked; a customer's late cancellation charges its
//! fee, an early one or the business's does not; a deposit and a card must
//! both come before the booking is confirmed; the same against localstripe;
//! and nobody but the booking's customer and the business sees or keeps it.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::fake_gateway::{FakeGateway, Fault};
use tessera_e2e::{Auth, TestApp};

use crate::billing_webhooks::{deliver, event};
use crate::booking_payments::{
    CONNECT, CONNECT_SECRET, PAY, account_of, again, app_with_fake, app_with_localstripe, payment_ids, salon_with_terms,
};
use crate::live_rights::client_token;
use crate::scheduling::{Salon, utc};

const SET_ACCOUNT: &str = "mutation($a: String!) { setPaymentAccount(accountId: $a) { accountId } }";
const SET_TERMS: &str = "mutation($t: PaymentTermsInput!) { setPaymentTerms(terms: $t) { terms { mode keepCard noShowFeeMinor lateCancellationFeeMinor lateCancellationHours } } }";
const BOOK_MYSELF: &str = "mutation($s: ID!, $p: ID!, $at: DateTime!) { createBooking(input: {serviceId: $s, providerId: $p, startsAt: $at}) { id status awaitingPayment cardFees { noShowFee { amountMinor currency } lateCancellationFee { amountMinor } lateCancellationHours } payments { kind } } }";
const KEEP: &str =
    "mutation($b: ID!) { keepBookingCard(bookingId: $b) { setupIntentId clientSecret card { status brand last4 } } }";
const CONFIRM: &str = "mutation($b: ID!) { confirmBookingCard(bookingId: $b) { status brand last4 keptAt } }";
const NO_SHOW: &str = "mutation($id: ID!) { markBookingNoShow(id: $id) { status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id) { status } }";
const FEES: &str = "query($id: ID!) { booking(id: $id) { status awaitingPayment payments { kind status amount { amountMinor } captured { amountMinor } failureCode } } }";

/// Terms keeping a card for a 25.00 no-show fee and a 10.00 fee for
/// cancelling within 24 hours, with `mode` paid when booking.
fn card_terms(mode: &str) -> Value {
    json!({"mode": mode, "depositMinor": 0, "depositPercent": 20, "holdMinutes": 15, "keepCard": true,
        "noShowFeeMinor": 2500, "lateCancellationFeeMinor": 1000, "lateCancellationHours": 24})
}

async fn book(app: &TestApp, salon: &Salon, ana: &Auth, at: &str) -> Value {
    let vars = json!({"s": salon.service, "p": salon.provider, "at": at});
    app.ok(ana, BOOK_MYSELF, vars).await["createBooking"].clone()
}

async fn fees(app: &TestApp, auth: &Auth, id: &str) -> Value {
    app.ok(auth, FEES, json!({"id": id})).await["booking"].clone()
}

/// Ana gives her card for booking `id` (the fake's browser confirms the
/// setup); answers the kept card.
async fn keep_card(app: &TestApp, fake: &FakeGateway, ana: &Auth, id: &str) -> Value {
    let setup = app.ok(ana, KEEP, json!({"b": id})).await["keepBookingCard"].clone();
    fake.confirm_setup(setup["setupIntentId"].as_str().unwrap(), "visa", "4242", false);
    app.ok(ana, CONFIRM, json!({"b": id})).await["confirmBookingCard"].clone()
}

fn count(fake: &FakeGateway, op: &str) -> usize {
    fake.calls().iter().filter(|(called, _, _)| *called == op).count()
}

#[tokio::test]
async fn a_kept_card_confirms_the_booking_and_a_no_show_fee_is_charged_once_even_when_marked_again_at_once() {
    let (app, fake) = app_with_fake().await;
    let slug = "no-show-salon";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;

    // Booked: it waits for Ana's card, holding its time, with the fees she
    // agreed to.
    let made = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await;
    assert_eq!(made["status"], "SCHEDULED");
    assert_eq!(made["awaitingPayment"], true);
    assert_eq!(made["payments"], json!([]), "nothing is paid when booking");
    assert_eq!(made["cardFees"]["noShowFee"], json!({"amountMinor": 2500, "currency": "USD"}));
    assert_eq!(made["cardFees"]["lateCancellationHours"], 24);
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(app.error_code(&ana, CONFIRM, json!({"b": id})).await, "BAD_USER_INPUT", "no setup yet");

    // The setup is made once, on the business's account, keyed by the card.
    let setup = app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"].clone();
    let seti = setup["setupIntentId"].as_str().unwrap().to_owned();
    assert_eq!(setup["clientSecret"], format!("{seti}_secret"));
    assert_eq!(setup["card"], json!({"status": "PENDING", "brand": null, "last4": null}));
    let again_asked = app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"].clone();
    assert_eq!(again_asked["setupIntentId"], seti.as_str());
    assert_eq!((count(&fake, "create_customer"), count(&fake, "create_setup")), (1, 1));
    for (op, key, account) in fake.calls().iter().filter(|(op, _, _)| op.starts_with("create_")) {
        assert_eq!(account.as_deref(), Some(account_of(slug).as_str()), "{op} on the business's account");
        assert!(key.as_deref().is_some_and(|k| k.starts_with("booking-card-")), "{op}: {key:?}");
    }
    // Not confirmed in the browser yet: nothing is kept.
    assert_eq!(app.error_code(&ana, CONFIRM, json!({"b": id})).await, "CONFLICT");

    fake.confirm_setup(&seti, "visa", "4242", false);
    let card = app.ok(&ana, CONFIRM, json!({"b": id})).await["confirmBookingCard"].clone();
    assert_eq!(
        (card["status"].as_str(), card["brand"].as_str(), card["last4"].as_str()),
        (Some("KEPT"), Some("visa"), Some("4242"))
    );
    let confirmed = fees(&app, &ana, &id).await;
    assert_eq!(
        (confirmed["status"].as_str(), confirmed["awaitingPayment"].as_bool()),
        (Some("CONFIRMED"), Some(false))
    );
    // Given once per business: her next booking waits for nothing.
    let next = book(&app, &salon, &ana, "2026-03-05T09:00:00Z").await;
    assert_eq!(next["awaitingPayment"], false, "{next}");
    let kept = app.ok(&ana, KEEP, json!({"b": next["id"]})).await["keepBookingCard"].clone();
    assert_eq!((kept["clientSecret"].clone(), kept["card"]["status"].clone()), (Value::Null, json!("KEPT")));

    // She does not come. Five front-desk clicks at once charge one fee.
    app.clock.set(utc("2026-03-04T09:30:00Z"));
    let (owner, ana) = again(&app, slug).await;
    let marks = (0..5).map(|_| app.post(&owner, NO_SHOW, json!({"id": id})));
    let answers = futures_util::future::join_all(marks).await;
    let done = answers.iter().filter(|(_, a)| a["data"]["markBookingNoShow"]["status"] == "NO_SHOW").count();
    assert_eq!(done, 1, "{answers:?}");
    let after = fees(&app, &owner, &id).await;
    let fee = &after["payments"][0];
    assert_eq!((fee["kind"].as_str(), fee["status"].as_str()), (Some("NO_SHOW_FEE"), Some("SUCCEEDED")), "{after}");
    assert_eq!(fee["captured"]["amountMinor"], 2500);
    assert_eq!(after["payments"].as_array().unwrap().len(), 1);
    // Marked again, and the payment job run: still charged once, off-session,
    // on the business's account, keyed by the fee.
    assert_eq!(app.error_code(&owner, NO_SHOW, json!({"id": id})).await, "BAD_USER_INPUT");
    app.run_billing().await;
    let charges: Vec<_> = fake.calls().into_iter().filter(|(op, _, _)| *op == "charge").collect();
    assert_eq!(charges.len(), 1, "{charges:?}");
    let (_, fee_id, _) = payment_ids(&app, &id).await;
    assert_eq!(charges[0].1.as_deref(), Some(format!("booking-payment-{fee_id}").as_str()));
    assert_eq!(charges[0].2.as_deref(), Some(account_of(slug).as_str()));

    // Ana hears of it once; the card and the fee are in the audit chain.
    app.deliver().await;
    let told: Vec<String> =
        app.email.sent().iter().filter(|m| m.subject.contains("charged you")).map(|m| m.text.clone()).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("25.00 USD") && told[0].contains("did not come"), "{told:?}");
    let audit = app
        .rows("SELECT action FROM audit_records WHERE action IN ('customer_card.kept', 'booking_payment.changed')")
        .await;
    assert_eq!(audit.len(), 2, "the card kept, and the fee's payment");
    // Only brand and last four are kept of the card.
    let stored = app.rows("SELECT brand, last4, payment_method_id FROM customer_cards").await;
    assert_eq!(stored.len(), 1);
    let ana_sees = fees(&app, &ana, &id).await;
    assert_eq!(ana_sees["payments"][0]["kind"], "NO_SHOW_FEE", "the customer sees what she was charged");
}

#[tokio::test]
async fn a_customers_late_cancellation_costs_the_agreed_fee_and_an_early_one_or_the_businesss_does_not() {
    let (app, fake) = app_with_fake().await;
    let slug = "late-salon";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let early = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    keep_card(&app, &fake, &ana, &early).await;
    let late = book(&app, &salon, &ana, "2026-03-04T10:00:00Z").await["id"].as_str().unwrap().to_owned();
    let theirs = book(&app, &salon, &ana, "2026-03-04T11:00:00Z").await["id"].as_str().unwrap().to_owned();

    // 49 hours ahead: free.
    assert_eq!(app.ok(&ana, CANCEL, json!({"id": early})).await["cancelBooking"]["status"], "CANCELLED");
    assert_eq!(fees(&app, &ana, &early).await["payments"], json!([]));
    // 22 hours ahead: late for Ana; the business cancelling costs her nothing.
    // The provider charges her but its answer is lost on the way.
    app.clock.set(utc("2026-03-03T12:00:00Z"));
    let (owner, ana) = again(&app, slug).await;
    fake.fail_next(&[Fault::LoseAnswer]);
    app.ok(&ana, CANCEL, json!({"id": late})).await;
    app.ok(&owner, CANCEL, json!({"id": theirs})).await;
    let unknown = fees(&app, &ana, &late).await;
    assert_eq!(unknown["payments"][0]["kind"], "LATE_CANCELLATION_FEE", "{unknown}");
    assert_eq!(unknown["payments"][0]["status"], "UNKNOWN");
    assert_eq!(fees(&app, &owner, &theirs).await["payments"], json!([]));
    // The payment job asks again under the same key: one charge, recorded.
    app.clock.advance(Duration::minutes(6));
    assert_eq!(app.run_billing().await.booking_payments, 1);
    let (_, ana) = again(&app, slug).await;
    let charged = fees(&app, &ana, &late).await;
    assert_eq!(charged["payments"][0]["status"], "SUCCEEDED", "{charged}");
    assert_eq!(charged["payments"][0]["captured"]["amountMinor"], 1000);
    let keys: Vec<_> = fake.calls().into_iter().filter(|(op, _, _)| *op == "charge").map(|(_, key, _)| key).collect();
    assert!(keys.len() == 2 && keys[0] == keys[1], "asked twice, under one key: {keys:?}");
    app.deliver().await;
    let told: Vec<String> =
        app.email.sent().iter().filter(|m| m.subject.contains("charged you")).map(|m| m.text.clone()).collect();
    assert!(told.len() == 1 && told[0].contains("later than agreed") && told[0].contains("10.00 USD"), "{told:?}");
}

#[tokio::test]
async fn a_deposit_and_a_card_must_both_come_before_the_booking_is_confirmed_and_a_no_show_keeps_the_deposit() {
    let (app, fake) = app_with_fake().await;
    let slug = "both-salon";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("DEPOSIT")).await;
    let made = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await;
    assert_eq!(made["payments"], json!([{"kind": "DEPOSIT"}]));
    let id = made["id"].as_str().unwrap().to_owned();

    // The deposit is paid first: the booking still waits for the card, and
    // the payment is not taken for one it no longer wanted.
    let (_, _, intent) = payment_ids(&app, &id).await;
    fake.pay(&intent, false);
    let paid = app.ok(&ana, PAY, json!({"b": id})).await["payBooking"]["payment"]["status"].clone();
    assert_eq!(paid, "SUCCEEDED");
    let waiting = fees(&app, &ana, &id).await;
    assert_eq!((waiting["status"].as_str(), waiting["awaitingPayment"].as_bool()), (Some("SCHEDULED"), Some(true)));
    assert!(fake.refunds().is_empty(), "nothing given back");
    // The card is given: now it is confirmed.
    keep_card(&app, &fake, &ana, &id).await;
    assert_eq!(fees(&app, &ana, &id).await["status"], "CONFIRMED");

    // She does not come: the fee is charged and the deposit kept.
    app.clock.set(utc("2026-03-04T09:30:00Z"));
    let (owner, _) = again(&app, slug).await;
    app.ok(&owner, NO_SHOW, json!({"id": id})).await;
    let after = fees(&app, &owner, &id).await;
    let kinds: Vec<(String, String)> = after["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap().to_owned(), p["status"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [("DEPOSIT", "SUCCEEDED"), ("NO_SHOW_FEE", "SUCCEEDED")].map(|(k, s)| (k.to_owned(), s.to_owned()));
    assert_eq!(kinds, expected);
    assert!(fake.refunds().is_empty(), "the deposit is the business's");
}

#[tokio::test]
async fn a_declined_fee_is_kept_failed_with_the_banks_code_and_nobody_is_told_of_a_charge() {
    let (app, fake) = app_with_fake().await;
    let slug = "declined-fee";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let setup = app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"].clone();
    fake.confirm_setup(setup["setupIntentId"].as_str().unwrap(), "visa", "0341", true);
    app.ok(&ana, CONFIRM, json!({"b": id})).await;

    app.clock.set(utc("2026-03-04T09:30:00Z"));
    let (owner, _) = again(&app, slug).await;
    app.ok(&owner, NO_SHOW, json!({"id": id})).await;
    let fee = fees(&app, &owner, &id).await["payments"][0].clone();
    assert_eq!((fee["status"].as_str(), fee["failureCode"].as_str()), (Some("FAILED"), Some("card_declined")));
    app.deliver().await;
    assert!(app.email.sent().iter().all(|m| !m.subject.contains("charged you")));
}

#[tokio::test]
async fn a_booking_waiting_for_a_card_frees_its_time_when_the_hold_runs_out() {
    let (app, _fake) = app_with_fake().await;
    let slug = "cardless-salon";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(16));
    let report = app.run_billing().await;
    assert_eq!(report.holds_released, 1, "{report:?}");
    let (_, ana) = again(&app, slug).await;
    assert_eq!(fees(&app, &ana, &id).await["status"], "CANCELLED");
    assert_eq!(app.error_code(&ana, KEEP, json!({"b": id})).await, "BAD_USER_INPUT", "no longer waits");
}

#[tokio::test]
async fn fees_need_a_kept_card_and_only_the_bookings_customer_and_the_business_reach_its_card() {
    let (app, fake) = app_with_fake().await;
    let slug = "card-guard";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let fee_alone = json!({"t": {"mode": "NONE", "depositMinor": 0, "depositPercent": 20, "holdMinutes": 15, "noShowFeeMinor": 500}});
    assert_eq!(app.error_code(&salon.owner, SET_TERMS, fee_alone).await, "BAD_USER_INPUT");
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();

    // Another business, another customer, staff and a partner client
    // reading bookings neither start nor confirm her card.
    let (stranger, _) = app.owner_of("other-card-salon").await;
    let bea = app.add_member(&salon.owner, &format!("bea@{slug}.test"), &["customer"]).await;
    let record = app.ok(&salon.owner, "mutation { createCustomer(input: {name: \"Bea\"}) { id } }", json!({})).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": record["createCustomer"]["id"], "u": bea.user_id})).await;
    let staff = app.add_member(&salon.owner, &format!("staff@{slug}.test"), &["staff"]).await;
    for auth in [&stranger, &bea, &staff] {
        assert_eq!(app.error_code(auth, KEEP, json!({"b": id})).await, "NOT_FOUND");
        assert_eq!(app.error_code(auth, CONFIRM, json!({"b": id})).await, "NOT_FOUND");
    }
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&reader, KEEP, json!({"b": id})).await, "FORBIDDEN");
    let seen = app.ok(&reader, FEES, json!({"id": id})).await;
    assert_eq!(seen["booking"]["awaitingPayment"], true, "a partner reading bookings sees it wait");
    assert_eq!(app.ok(&stranger, FEES, json!({"id": id})).await["booking"], Value::Null);
    assert_eq!(count(&fake, "create_setup"), 0, "nothing was asked of the provider");

    // Bea's own booking asks for her card, not Ana's; Ana's setup cannot
    // keep Bea's card.
    let beas = book(&app, &salon, &bea, "2026-03-04T10:00:00Z").await["id"].as_str().unwrap().to_owned();
    let anas = app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"]["setupIntentId"].clone();
    let beas_setup = app.ok(&bea, KEEP, json!({"b": beas})).await["keepBookingCard"]["setupIntentId"].clone();
    assert_ne!(anas, beas_setup);
    fake.confirm_setup(anas.as_str().unwrap(), "visa", "4242", false);
    assert_eq!(app.error_code(&bea, CONFIRM, json!({"b": beas})).await, "CONFLICT", "hers is not confirmed");
    // The business confirms a customer's card at the front desk.
    let kept = app.ok(&salon.owner, CONFIRM, json!({"b": id})).await["confirmBookingCard"]["status"].clone();
    assert_eq!(kept, "KEPT");
}

#[tokio::test]
async fn a_card_kept_at_localstripe_pays_a_no_show_fee_off_session() {
    let Some(base) = tessera_e2e::localstripe() else { return };
    let app = app_with_localstripe(&base).await;
    let slug = "stripe-no-shows";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let setup = app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"].clone();
    let seti = setup["setupIntentId"].as_str().unwrap().to_owned();
    assert!(seti.starts_with("seti_") && setup["clientSecret"].is_string(), "{setup}");
    // What Stripe.js does with the client secret in the customer's browser.
    crate::payment_gateways::localstripe_confirm(base)(seti, crate::payment_gateways::TestCard::Visa).await;
    let card = app.ok(&ana, CONFIRM, json!({"b": id})).await["confirmBookingCard"].clone();
    assert_eq!((card["status"].as_str(), card["last4"].as_str()), (Some("KEPT"), Some("4242")), "{card}");
    assert_eq!(fees(&app, &ana, &id).await["status"], "CONFIRMED");

    app.clock.set(utc("2026-03-04T09:30:00Z"));
    let (owner, _) = again(&app, slug).await;
    app.ok(&owner, NO_SHOW, json!({"id": id})).await;
    let fee = fees(&app, &owner, &id).await["payments"][0].clone();
    assert_eq!((fee["kind"].as_str(), fee["status"].as_str()), (Some("NO_SHOW_FEE"), Some("SUCCEEDED")), "{fee}");
    assert_eq!(fee["captured"]["amountMinor"], 2500);
}

/// A Connect event about a setup on `account`.
fn setup_event(id: &str, account: &str, setup: &str) -> String {
    let object = json!({"id": setup, "object": "setup_intent", "status": "succeeded"});
    let mut body: Value = serde_json::from_str(&event(id, "setup_intent.succeeded", &object)).unwrap();
    body["account"] = json!(account);
    body.to_string()
}

#[tokio::test]
async fn stripes_event_keeps_a_card_confirmed_in_a_page_closed_before_telling_tessera_and_only_on_its_account() {
    let (app, fake) = app_with_fake().await;
    let slug = "closed-page";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("NONE")).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let seti =
        app.ok(&ana, KEEP, json!({"b": id})).await["keepBookingCard"]["setupIntentId"].as_str().unwrap().to_owned();
    fake.confirm_setup(&seti, "mastercard", "4444", false);
    let now = app.now();

    // The same setup named by another business's account: nothing kept.
    let (stranger, _) = app.owner_of("other-closed-page").await;
    app.ok(&stranger, SET_ACCOUNT, json!({"a": account_of("other-closed-page")})).await;
    let forged = setup_event("evt_forged", &account_of("other-closed-page"), &seti);
    assert_eq!(deliver(&app, CONNECT, &forged, Some((CONNECT_SECRET, now))).await.0, 200);
    assert_eq!(fees(&app, &ana, &id).await["status"], "SCHEDULED");
    assert_eq!(count(&fake, "complete_setup"), 0, "nothing was asked about it");

    // Stripe tells the business's account's endpoint: kept, confirmed.
    let told = setup_event("evt_kept", &account_of(slug), &seti);
    assert_eq!(deliver(&app, CONNECT, &told, Some((CONNECT_SECRET, now))).await.0, 200);
    let mut status = Value::Null;
    for _ in 0..50 {
        status = fees(&app, &ana, &id).await["status"].clone();
        if status == "CONFIRMED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "CONFIRMED");
    let card = app.ok(&ana, CONFIRM, json!({"b": id})).await["confirmBookingCard"].clone();
    assert_eq!((card["brand"].as_str(), card["last4"].as_str()), (Some("mastercard"), Some("4444")));
}

#[tokio::test]
async fn a_deposit_paid_for_a_booking_whose_card_never_comes_is_given_back_when_its_time_is_freed() {
    let (app, fake) = app_with_fake().await;
    let slug = "no-card-came";
    let (salon, ana) = salon_with_terms(&app, slug, card_terms("DEPOSIT")).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let (_, _, intent) = payment_ids(&app, &id).await;
    fake.pay(&intent, false);
    app.ok(&ana, PAY, json!({"b": id})).await;

    app.clock.advance(Duration::minutes(16));
    assert_eq!(app.run_billing().await.holds_released, 1);
    let (_, ana) = again(&app, slug).await;
    let freed = app
        .ok(&ana, "query($id: ID!) { booking(id: $id) { status cancellation { reason refund { amountMinor } } payments { refunded { amountMinor } refunds { kind status } } } }", json!({"id": id}))
        .await["booking"]
        .clone();
    assert_eq!(freed["status"], "CANCELLED");
    assert_eq!(freed["cancellation"]["reason"], "The card was not given in time, so the time was freed.");
    assert_eq!(freed["cancellation"]["refund"]["amountMinor"], 1500, "what was paid comes back");
    assert_eq!(freed["payments"][0]["refunds"], json!([{"kind": "UNWANTED_PAYMENT", "status": "SUCCEEDED"}]));
    assert_eq!(freed["payments"][0]["refunded"]["amountMinor"], 1500);
    assert_eq!(fake.refunds(), vec![(intent, 1500)], "given back whole, at once");
}
