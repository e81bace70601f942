//! Customers paying a business for their bookings, over HTTP: a deposit holds
//! the slot until paid and the provider's event confirms the booking; a hold
//! that runs out, or a declined card, frees the slot; the provider's payment
//! is made once, on the business's own account, however often it is asked
//! for; the same against localstripe with Stripe's client; and nobody but the
//! booking's customer and the business sees or pays it.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use tessera_billing::PaymentProvider;
use tessera_e2e::fake_gateway::FakeGateway;
use tessera_e2e::{Auth, TestApp};

use crate::billing_webhooks::{deliver, event};
use crate::scheduling::{NOW, Salon, salon, utc};

pub(crate) const CONNECT_SECRET: &str = "whsec_tessera_connect";
pub(crate) const CONNECT: &str = "/webhooks/payments/stripe/connect";
const SET_ACCOUNT: &str =
    "mutation($a: String!) { setPaymentAccount(accountId: $a) { accountId enabled provider terms { mode } } }";
const SET_TERMS: &str = "mutation($t: PaymentTermsInput!) { setPaymentTerms(terms: $t) { terms { mode depositMinor depositPercent holdMinutes } } }";
const BOOK_MYSELF: &str = "mutation($s: ID!, $p: ID!, $at: DateTime!) { createBooking(input: {serviceId: $s, providerId: $p, startsAt: $at}) { id status awaitingPayment paymentDueBy payments { id kind status amount { amountMinor currency } } } }";
pub(crate) const PAY: &str =
    "mutation($b: ID!) { payBooking(bookingId: $b) { clientSecret payment { id status amount { amountMinor } } } }";
const BOOKING: &str = "query($id: ID!) { booking(id: $id) { status awaitingPayment paymentDueBy cancellation { reason } payments { id status failureCode captured { amountMinor } settledAt } } }";

/// A gateway on a pinned clock whose Stripe is the in-process fake, with the
/// Connect webhook endpoint open.
pub(crate) async fn app_with_fake() -> (TestApp, Arc<FakeGateway>) {
    let fake = Arc::new(FakeGateway::new(PaymentProvider::Stripe, Arc::new(tessera_kernel::SystemClock)));
    let gateway = fake.clone();
    let database = tessera_e2e::TestDatabase::create().await;
    let app = TestApp::spawn_with_options(
        Arc::new(database),
        |args| {
            args.stripe_connect_webhook_secret = Some(CONNECT_SECRET.into());
            args.trusted_proxies = "127.0.0.1".parse().ok();
        },
        move |options| options.payment_gateways = vec![gateway],
    )
    .await;
    app.clock.set(utc(NOW));
    (app, fake)
}

/// The Stripe connected account a salon's slug names.
pub(crate) fn account_of(slug: &str) -> String {
    format!("acct_{}", slug.replace('-', ""))
}

/// A salon taking payments under `terms` (a `setPaymentTerms` input), with
/// Ana, a customer member linked to its customer record.
pub(crate) async fn salon_with_terms(app: &TestApp, slug: &str, terms: Value) -> (Salon, Auth) {
    let salon = salon(app, slug, 0).await;
    app.ok(&salon.owner, SET_ACCOUNT, json!({"a": account_of(slug)})).await;
    app.ok(&salon.owner, SET_TERMS, json!({"t": terms})).await;
    let ana = app.add_member(&salon.owner, &format!("ana@{slug}.test"), &["customer"]).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": salon.customer, "u": ana.user_id})).await;
    (salon, ana)
}

/// A salon asking a 20 % deposit (15 minutes to pay), with Ana.
pub(crate) async fn deposit_salon(app: &TestApp, slug: &str) -> (Salon, Auth) {
    let terms = json!({"mode": "DEPOSIT", "depositMinor": 0, "depositPercent": 20, "holdMinutes": 15});
    salon_with_terms(app, slug, terms).await
}

/// Ana books Wednesday's `at` for herself.
pub(crate) async fn book(app: &TestApp, salon: &Salon, ana: &Auth, at: &str) -> Value {
    let vars = json!({"s": salon.service, "p": salon.provider, "at": at});
    app.ok(ana, BOOK_MYSELF, vars).await["createBooking"].clone()
}

pub(crate) async fn booking(app: &TestApp, auth: &Auth, id: &str) -> Value {
    app.ok(auth, BOOKING, json!({"id": id})).await["booking"].clone()
}

/// The booking once background work settled it to `status`.
pub(crate) async fn settled(app: &TestApp, auth: &Auth, id: &str, status: &str) -> Value {
    for _ in 0..50 {
        let found = booking(app, auth, id).await;
        if found["status"] == status {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    booking(app, auth, id).await
}

/// The ids Tessera and the provider know the booking's one payment by:
/// (tenant, payment, provider payment).
pub(crate) async fn payment_ids(app: &TestApp, booking: &str) -> (String, String, String) {
    let rows = app.rows("SELECT tenant_id, id, booking_id, provider_payment_id FROM booking_payments").await;
    let id = |row: &sea_orm::QueryResult, column: &str| row.try_get::<uuid::Uuid>("", column).unwrap().to_string();
    let found: Vec<_> = rows.iter().filter(|row| id(row, "booking_id") == booking).collect();
    assert_eq!(found.len(), 1, "one payment for the booking");
    let theirs: Option<String> = found[0].try_get("", "provider_payment_id").unwrap();
    (id(found[0], "tenant_id"), id(found[0], "id"), theirs.unwrap_or_default())
}

/// A Connect event with Tessera's ids in its object's metadata, as Stripe
/// sends them back.
pub(crate) fn connect_event(id: &str, kind: &str, account: &str, intent: &str, ids: (&str, &str, &str)) -> String {
    let (tenant, booking, payment) = ids;
    let object = json!({"id": intent, "object": "payment_intent", "metadata": {
        "tessera_tenant": tenant, "tessera_booking": booking, "tessera_payment": payment,
    }});
    let mut body: Value = serde_json::from_str(&event(id, kind, &object)).unwrap();
    body["account"] = json!(account);
    body.to_string()
}

#[tokio::test]
async fn a_deposit_holds_the_slot_until_paid_and_the_providers_event_confirms_the_booking() {
    let (app, fake) = app_with_fake().await;
    let slug = "deposit-salon";
    let (salon, ana) = deposit_salon(&app, slug).await;

    let made = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await;
    assert_eq!(made["status"], "SCHEDULED");
    assert_eq!(made["awaitingPayment"], true);
    assert_eq!(made["paymentDueBy"], "2026-03-02T08:15:00+00:00", "fifteen minutes to pay");
    assert_eq!(made["payments"][0]["kind"], "DEPOSIT");
    assert_eq!(made["payments"][0]["amount"], json!({"amountMinor": 1500, "currency": "USD"}), "20 % of 75.00");
    let id = made["id"].as_str().unwrap().to_owned();

    // The slot is held: nobody else books it meanwhile.
    let mut other = crate::scheduling::booking_input(&salon, "2026-03-04T09:00:00Z");
    other["input"]["customerId"] = json!(salon.customer);
    assert_eq!(app.error_code(&salon.owner, crate::scheduling::BOOK, other).await, "CONFLICT");

    // The provider's payment was made after the booking committed, on the
    // business's account, keyed by the payment's id; paying finds it there.
    let (tenant, payment, intent) = payment_ids(&app, &id).await;
    let pay = app.ok(&ana, PAY, json!({"b": id})).await["payBooking"].clone();
    assert_eq!(pay["clientSecret"], format!("{intent}_secret_fake"));
    assert_eq!(pay["payment"]["id"], payment);
    assert_eq!(pay["payment"]["status"], "PENDING");
    let calls = fake.calls();
    let creates: Vec<_> = calls.iter().filter(|(op, _, _)| *op == "create_payment").collect();
    assert_eq!(creates.len(), 1, "{calls:?}");
    assert_eq!(creates[0].1.as_deref(), Some(format!("booking-payment-{payment}").as_str()));
    for (op, _, account) in calls.iter().filter(|(op, _, _)| op.ends_with("_payment")) {
        assert_eq!(account.as_deref(), Some(account_of(slug).as_str()), "{op} on the business's account");
    }
    assert_eq!(payment_ids(&app, &id).await.2, intent, "one payment at the provider");

    // The customer pays in her browser; Stripe tells the Connect endpoint.
    fake.pay(&intent, false);
    let body =
        connect_event("evt_paid", "payment_intent.succeeded", &account_of(slug), &intent, (&tenant, &id, &payment));
    let now = app.now();
    assert_eq!(deliver(&app, CONNECT, &body, Some((CONNECT_SECRET, now))).await.0, 200);
    let paid = settled(&app, &ana, &id, "CONFIRMED").await;
    assert_eq!(paid["awaitingPayment"], false);
    assert_eq!(paid["paymentDueBy"], Value::Null);
    assert_eq!(paid["payments"][0]["status"], "SUCCEEDED");
    assert_eq!(paid["payments"][0]["captured"]["amountMinor"], 1500);
    // Delivered again: kept once; nothing moves.
    let again = deliver(&app, CONNECT, &body, Some((CONNECT_SECRET, now))).await;
    assert_eq!(again, (200, json!({"message": "received already"})));
    // Counted once as the business's payment volume.
    let meters = "{ usage { meters { limit { metric } used } } }";
    let usage = app.ok(&salon.owner, meters, json!({})).await;
    let volume =
        usage["usage"]["meters"].as_array().unwrap().iter().find(|m| m["limit"]["metric"] == "BOOKING_PAYMENTS");
    assert_eq!(volume.map(|m| m["used"].clone()), Some(json!(1)), "{usage}");
    // Paying a paid booking answers the payment, with nothing left to pay.
    let pay = app.ok(&ana, PAY, json!({"b": id})).await["payBooking"].clone();
    assert_eq!(pay["clientSecret"], Value::Null);
    assert_eq!(pay["payment"]["status"], "SUCCEEDED");

    // The payment's change and the booking's confirmation are in the audit
    // chain, as the system's; the customer hears "confirmed", not "received".
    let audit = app
        .rows("SELECT action FROM audit_records WHERE action IN ('booking_payment.changed', 'booking.status_changed')")
        .await;
    assert_eq!(audit.len(), 2);
    let topics = app.rows(&format!("SELECT topic FROM notifications WHERE subject_id = '{id}'")).await;
    let topics: Vec<String> = topics.iter().map(|r| r.try_get("", "topic").unwrap()).collect();
    assert!(topics.contains(&"booking.confirmed".to_owned()), "{topics:?}");
    assert!(!topics.contains(&"booking.received".to_owned()), "{topics:?}");
}

const AVAILABLE: &str = "query($s: ID!, $d: NaiveDate!) { availability(serviceId: $s, from: $d, to: $d) { startsAt } }";

async fn available(app: &TestApp, auth: &Auth, salon: &Salon, at: &str) -> bool {
    let found = app.ok(auth, AVAILABLE, json!({"s": salon.service, "d": &at[..10]})).await;
    let at = at.replace('Z', "+00:00");
    found["availability"].as_array().unwrap().iter().any(|slot| slot["startsAt"] == at.as_str())
}

/// Signs `slug`'s owner and Ana in again (the clock moved past their tokens).
pub(crate) async fn again(app: &TestApp, slug: &str) -> (Auth, Auth) {
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    (owner, app.login(&format!("ana@{slug}.test")).await.in_tenant(slug))
}

#[tokio::test]
async fn a_hold_that_runs_out_frees_the_slot_and_its_payment_is_given_up() {
    let (app, fake) = app_with_fake().await;
    let slug = "lapsing-salon";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let nine = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let eleven = book(&app, &salon, &ana, "2026-03-04T11:00:00Z").await["id"].as_str().unwrap().to_owned();
    assert!(!available(&app, &salon.owner, &salon, "2026-03-04T09:00:00Z").await, "held");

    // Sixteen minutes later, unpaid: the slot is offered again at once, and
    // the next booking wanting it frees it in its own transaction.
    app.clock.advance(Duration::minutes(16));
    let (owner, ana) = again(&app, slug).await;
    assert!(available(&app, &owner, &salon, "2026-03-04T09:00:00Z").await, "the hold ran out");
    let bea = app.ok(&owner, "mutation { createCustomer(input: {name: \"Bea\"}) { id } }", json!({})).await;
    let mut input = crate::scheduling::booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["customerId"] = bea["createCustomer"]["id"].clone();
    let taken = app.ok(&owner, crate::scheduling::BOOK, input).await;
    assert_eq!(taken["createBooking"]["status"], "SCHEDULED");
    let lapsed = booking(&app, &ana, &nine).await;
    assert_eq!(lapsed["status"], "CANCELLED");
    assert_eq!(lapsed["awaitingPayment"], false);
    assert!(lapsed["cancellation"]["reason"].as_str().unwrap().contains("not made in time"), "{lapsed}");

    // The payment job frees the other hold and gives both payments up at
    // the provider.
    let report = app.run_billing().await;
    assert_eq!(report.holds_released, 1, "{report:?}");
    assert_eq!(booking(&app, &ana, &eleven).await["status"], "CANCELLED");
    for id in [&nine, &eleven] {
        assert_eq!(booking(&app, &ana, id).await["payments"][0]["status"], "CANCELED");
    }
    let cancels = fake.calls().into_iter().filter(|(op, _, _)| *op == "cancel_payment").count();
    assert_eq!(cancels, 2);
    assert_eq!(app.error_code(&ana, PAY, json!({"b": nine})).await, "BAD_USER_INPUT");
    // Released once: a second run finds nothing.
    assert_eq!(app.run_billing().await.holds_released, 0);
}

#[tokio::test]
async fn a_declined_card_frees_the_slot_and_a_late_event_never_moves_the_payment_back() {
    let (app, fake) = app_with_fake().await;
    let slug = "declined-salon";
    let account = account_of(slug);
    let (salon, ana) = deposit_salon(&app, slug).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let (tenant, payment, intent) = payment_ids(&app, &id).await;
    let ids = (tenant.as_str(), id.as_str(), payment.as_str());

    fake.pay(&intent, true);
    let now = app.now();
    let failed = connect_event("evt_failed", "payment_intent.payment_failed", &account, &intent, ids);
    assert_eq!(deliver(&app, CONNECT, &failed, Some((CONNECT_SECRET, now))).await.0, 200);
    let released = settled(&app, &ana, &id, "CANCELLED").await;
    assert_eq!(released["payments"][0]["status"], "FAILED");
    assert_eq!(released["payments"][0]["failureCode"], "card_declined");
    assert!(released["cancellation"]["reason"].as_str().unwrap().contains("did not go through"), "{released}");
    assert!(available(&app, &salon.owner, &salon, "2026-03-04T09:00:00Z").await);

    // An older "processing" event arriving now: the provider is asked, and
    // a settled payment never moves.
    let late = connect_event("evt_late", "payment_intent.processing", &account, &intent, ids);
    assert_eq!(deliver(&app, CONNECT, &late, Some((CONNECT_SECRET, now))).await.0, 200);
    app.run_billing().await;
    assert_eq!(booking(&app, &ana, &id).await["payments"][0]["status"], "FAILED");
    // The event is applied by the background work after the answer (or by
    // the job above, whichever claims it first): wait for it.
    let processed = "SELECT processed_at FROM provider_events WHERE processed_at IS NOT NULL";
    let mut kept = app.rows(processed).await;
    for _ in 0..50 {
        if kept.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        kept = app.rows(processed).await;
    }
    assert_eq!(kept.len(), 2, "both applied, the late one changing nothing");
    assert_eq!(booking(&app, &ana, &id).await["payments"][0]["status"], "FAILED");
}

/// A gateway on a pinned clock whose Stripe is localstripe at `base`.
pub(crate) async fn app_with_localstripe(base: &str) -> TestApp {
    let api = base.to_owned();
    let app = TestApp::spawn_with(move |args| {
        args.stripe_secret_key = Some("sk_test_tessera".into());
        args.stripe_api_base = Some(api);
    })
    .await;
    app.clock.set(utc(NOW));
    app
}

#[tokio::test]
async fn a_deposit_is_paid_at_localstripe_through_stripes_client_and_the_payment_job_confirms_it() {
    let Some(base) = tessera_e2e::localstripe() else { return };
    let app = app_with_localstripe(&base).await;
    let slug = "stripe-deposits";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let pay = app.ok(&ana, PAY, json!({"b": id})).await["payBooking"].clone();
    let secret = pay["clientSecret"].as_str().unwrap().to_owned();
    let intent = secret.split("_secret_").next().unwrap().to_owned();
    assert!(intent.starts_with("pi_"), "{secret}");
    assert_eq!(payment_ids(&app, &id).await.2, intent);

    // What Stripe.js does with the client secret in the customer's browser.
    let browser = reqwest::Client::new();
    for (path, form) in [
        (format!("/v1/payment_intents/{intent}"), vec![("payment_method", "pm_card_visa")]),
        (format!("/v1/payment_intents/{intent}/confirm"), vec![]),
    ] {
        let answer =
            browser.post(format!("{base}{path}")).bearer_auth("sk_test_browser").form(&form).send().await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
    }

    // No webhook reaches this machine: the payment job asks Stripe.
    app.clock.advance(Duration::minutes(6));
    let report = app.run_billing().await;
    assert_eq!(report.booking_payments, 1, "{report:?}");
    let (_, ana) = again(&app, slug).await;
    let paid = booking(&app, &ana, &id).await;
    assert_eq!(paid["status"], "CONFIRMED", "{paid}");
    assert_eq!(paid["payments"][0]["status"], "SUCCEEDED");
    assert_eq!(paid["payments"][0]["captured"]["amountMinor"], 1500);
}

#[tokio::test]
async fn a_customer_cancelling_a_booking_that_waits_for_its_payment_gives_the_payment_up_at_once() {
    let (app, fake) = app_with_fake().await;
    let (salon, ana) = deposit_salon(&app, "changed-mind").await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let cancel = "mutation($id: ID!) { cancelBooking(id: $id) { status cancellation { refund { amountMinor } } } }";
    let cancelled = app.ok(&ana, cancel, json!({"id": id})).await["cancelBooking"].clone();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancellation"]["refund"]["amountMinor"], 0, "nothing was paid");
    // Given up at the provider now, not at the next run of the payment job:
    // her open page cannot pay it any more.
    assert_eq!(booking(&app, &ana, &id).await["payments"][0]["status"], "CANCELED");
    assert_eq!(fake.calls().into_iter().filter(|(op, _, _)| *op == "cancel_payment").count(), 1);
    assert_eq!(app.error_code(&ana, PAY, json!({"b": id})).await, "BAD_USER_INPUT");
    let retry = "mutation($b: ID!) { retryBookingPayment(bookingId: $b) { clientSecret } }";
    assert_eq!(app.error_code(&ana, retry, json!({"b": id})).await, "BAD_USER_INPUT", "she cancelled it herself");
}
