//! Who may see and pay a booking's payments, and who sets where the money
//! goes: another business, another customer, staff, an admin and partner
//! clients are refused or shown nothing; events from another account or the
//! platform's endpoint move nothing; parallel requests make one provider
//! payment and confirm a booking once; the database refuses amounts that do
//! not add up.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::billing_webhooks::deliver;
use crate::booking_payments::{CONNECT, CONNECT_SECRET, account_of, app_with_fake, connect_event, deposit_salon};
use crate::booking_payments::{PAY, book, booking, payment_ids, settled};
use crate::live_rights::client_token;
use crate::scheduling::Salon;

const ACCOUNT: &str = "{ paymentAccount { accountId enabled terms { mode depositPercent holdMinutes } } }";
const SET_ACCOUNT: &str = "mutation($a: String!) { setPaymentAccount(accountId: $a) { accountId } }";
const SET_TERMS: &str = "mutation($t: PaymentTermsInput!) { setPaymentTerms(terms: $t) { terms { mode } } }";
const PAYMENTS: &str = "query($id: ID!) { booking(id: $id) { payments { id status } } }";

fn terms(hold: i32) -> Value {
    json!({"t": {"mode": "PREPAYMENT", "depositMinor": 0, "depositPercent": 20, "holdMinutes": hold}})
}

/// A second customer of the salon, Bea, signed in with her own record.
async fn bea(app: &TestApp, salon: &Salon, slug: &str) -> Auth {
    let bea = app.add_member(&salon.owner, &format!("bea@{slug}.test"), &["customer"]).await;
    let record = app.ok(&salon.owner, "mutation { createCustomer(input: {name: \"Bea\"}) { id } }", json!({})).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": record["createCustomer"]["id"], "u": bea.user_id})).await;
    bea
}

#[tokio::test]
async fn only_the_bookings_customer_and_the_business_see_and_pay_it_and_only_owners_set_where_money_goes() {
    let (app, fake) = app_with_fake().await;
    let slug = "guarded-salon";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();

    // Another business: sees nothing, pays nothing, cannot take the account.
    let (stranger, _) = app.owner_of("other-salon").await;
    assert_eq!(app.ok(&stranger, PAYMENTS, json!({"id": id})).await["booking"], Value::Null);
    assert_eq!(app.error_code(&stranger, PAY, json!({"b": id})).await, "NOT_FOUND");
    assert_eq!(app.ok(&stranger, ACCOUNT, json!({})).await["paymentAccount"], Value::Null);
    let taken = app.error_code(&stranger, SET_ACCOUNT, json!({"a": account_of(slug)})).await;
    assert_eq!(taken, "CONFLICT", "one business's account is never another's");

    // Another customer of the same business, and staff not taking part.
    let bea = bea(&app, &salon, slug).await;
    assert_eq!(app.ok(&bea, PAYMENTS, json!({"id": id})).await["booking"], Value::Null);
    assert_eq!(app.error_code(&bea, PAY, json!({"b": id})).await, "NOT_FOUND");
    let staff = app.add_member(&salon.owner, &format!("staff@{slug}.test"), &["staff"]).await;
    assert_eq!(app.error_code(&staff, PAY, json!({"b": id})).await, "NOT_FOUND");
    for auth in [&staff, &bea, &ana] {
        assert_eq!(app.error_code(auth, ACCOUNT, json!({})).await, "FORBIDDEN");
        assert_eq!(app.error_code(auth, SET_TERMS, terms(15)).await, "FORBIDDEN");
    }
    // An admin runs the business day to day but does not say where its
    // customers' money goes.
    let admin = app.add_member(&salon.owner, &format!("admin@{slug}.test"), &["admin"]).await;
    assert_eq!(app.ok(&admin, ACCOUNT, json!({})).await["paymentAccount"]["accountId"], account_of(slug));
    assert_eq!(app.error_code(&admin, SET_ACCOUNT, json!({"a": "acct_admins"})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&admin, SET_TERMS, terms(15)).await, "FORBIDDEN");

    // A partner client reading bookings sees the payments, and pays or sets
    // nothing.
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    let seen = app.ok(&reader, PAYMENTS, json!({"id": id})).await;
    assert_eq!(seen["booking"]["payments"][0]["status"], "PENDING");
    assert_eq!(app.error_code(&reader, PAY, json!({"b": id})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&reader, SET_TERMS, terms(15)).await, "FORBIDDEN");
    assert_eq!(app.error_code(&reader, ACCOUNT, json!({})).await, "FORBIDDEN");

    // The booking's customer and the owner see it; the customer pays it.
    assert_eq!(app.ok(&ana, PAYMENTS, json!({"id": id})).await["booking"]["payments"][0]["status"], "PENDING");
    assert!(app.ok(&ana, PAY, json!({"b": id})).await["payBooking"]["clientSecret"].is_string());

    // The provider says it is paid; an event from another business's
    // account, or from the platform's endpoint, naming this payment moves
    // nothing; the one from its own account does.
    let (tenant, payment, intent) = payment_ids(&app, &id).await;
    fake.pay(&intent, false);
    let ids = (tenant.as_str(), id.as_str(), payment.as_str());
    let now = app.now();
    let forged = connect_event("evt_forged", "payment_intent.succeeded", "acct_othersalon", &intent, ids);
    assert_eq!(deliver(&app, CONNECT, &forged, Some((CONNECT_SECRET, now))).await.0, 200);
    app.run_billing().await;
    assert_eq!(booking(&app, &ana, &id).await["payments"][0]["status"], "PENDING");
    let unsigned_account = serde_json::to_string(&{
        let mut body: Value = serde_json::from_str(&forged).unwrap();
        body.as_object_mut().unwrap().remove("account");
        body
    })
    .unwrap();
    let refused = deliver(&app, CONNECT, &unsigned_account, Some((CONNECT_SECRET, now))).await.0;
    assert_eq!(refused, 400, "a Connect event names its account");
    let own = connect_event("evt_own", "payment_intent.succeeded", &account_of(slug), &intent, ids);
    assert_eq!(deliver(&app, CONNECT, &own, Some((CONNECT_SECRET, now))).await.0, 200);
    assert_eq!(settled(&app, &ana, &id, "CONFIRMED").await["payments"][0]["status"], "SUCCEEDED");
}

#[tokio::test]
async fn payment_settings_are_checked_whole_and_terms_need_the_account() {
    let (app, _fake) = app_with_fake().await;
    let (owner, _) = app.owner_of("careful-salon").await;
    let needs_account = app.post(&owner, SET_TERMS, terms(15)).await.1;
    assert_eq!(needs_account["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{needs_account}");
    for bad in ["acct_", "acct_has space", "cus_123", ""] {
        assert_eq!(app.error_code(&owner, SET_ACCOUNT, json!({"a": bad})).await, "BAD_USER_INPUT", "{bad}");
    }
    let at_conekta = "mutation { setPaymentAccount(provider: CONEKTA, accountId: \"acct_careful\") { accountId } }";
    let conekta = app.error_code(&owner, at_conekta, json!({})).await;
    assert_eq!(conekta, "BAD_USER_INPUT", "booking payments go through Stripe");
    app.ok(&owner, SET_ACCOUNT, json!({"a": "acct_careful"})).await;
    for bad in [
        terms(2),
        terms(2000),
        json!({"t": {"mode": "DEPOSIT", "depositMinor": -5, "depositPercent": 20, "holdMinutes": 15}}),
        json!({"t": {"mode": "DEPOSIT", "depositMinor": 0, "depositPercent": 0, "holdMinutes": 15}}),
    ] {
        assert_eq!(app.error_code(&owner, SET_TERMS, bad.clone()).await, "BAD_USER_INPUT", "{bad}");
    }
    app.ok(&owner, SET_TERMS, terms(30)).await;
    let account = app.ok(&owner, ACCOUNT, json!({})).await;
    assert_eq!(
        account["paymentAccount"]["terms"],
        json!({"mode": "PREPAYMENT", "depositPercent": 20, "holdMinutes": 30})
    );
    let audited =
        app.rows("SELECT action FROM audit_records WHERE action IN ('payment_account.set', 'payment_terms.set')").await;
    assert_eq!(audited.len(), 2);
}

#[tokio::test]
async fn parallel_payments_make_one_provider_payment_and_parallel_settlements_confirm_once() {
    let (app, fake) = app_with_fake().await;
    let slug = "busy-deposits";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    // The booking's own checkout was lost at the provider: ten payBooking
    // calls at once make one payment there, keyed by the row.
    app.execute("UPDATE booking_payments SET provider_payment_id = NULL").await;
    let pays = (0..10).map(|_| app.post(&ana, PAY, json!({"b": id})));
    let answers = futures_util::future::join_all(pays).await;
    let secrets: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(_, body)| body["data"]["payBooking"]["clientSecret"].as_str().expect("paid").to_owned())
        .collect();
    assert_eq!(secrets.len(), 1, "{answers:?}");
    let (tenant, payment, intent) = payment_ids(&app, &id).await;

    // Paid; the event delivered five times and the payment job, all at once.
    fake.pay(&intent, false);
    let ids = (tenant.as_str(), id.as_str(), payment.as_str());
    let now = app.now();
    let body = connect_event("evt_once", "payment_intent.succeeded", &account_of(slug), &intent, ids);
    let deliveries = (0..5).map(|_| deliver(&app, CONNECT, &body, Some((CONNECT_SECRET, now))));
    let (answers, _) = tokio::join!(futures_util::future::join_all(deliveries), async {
        app.state.services.billing.run_due(now + chrono::Duration::minutes(6)).await.unwrap()
    });
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert_eq!(settled(&app, &ana, &id, "CONFIRMED").await["status"], "CONFIRMED");
    app.run_billing().await;
    let confirmed = app.rows("SELECT seq FROM audit_records WHERE action = 'booking.status_changed'").await;
    assert_eq!(confirmed.len(), 1, "confirmed once");
    let changed = app.rows("SELECT seq FROM audit_records WHERE action = 'booking_payment.changed'").await;
    assert_eq!(changed.len(), 1, "the payment moved once");
}

#[tokio::test]
async fn the_database_refuses_amounts_that_do_not_add_up_and_a_second_open_payment() {
    let (app, fake) = app_with_fake().await;
    let (salon, ana) = deposit_salon(&app, "strict-ledger").await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let (_, _, intent) = payment_ids(&app, &id).await;
    fake.pay(&intent, false);
    app.execute("UPDATE booking_payments SET status = 'succeeded', captured_minor = amount_minor").await;
    for refused in [
        "UPDATE booking_payments SET refunded_minor = captured_minor + 1",
        "UPDATE booking_payments SET captured_minor = amount_minor + 1",
        "UPDATE booking_payments SET refunded_minor = -1",
        "UPDATE booking_payments SET amount_minor = 0",
    ] {
        assert!(app.try_execute(refused).await.is_err(), "{refused}");
    }
    let copy = if app.database.is_postgres() { "gen_random_uuid()" } else { "randomblob(16)" };
    let second = format!(
        "INSERT INTO booking_payments SELECT tenant_id, {copy}, booking_id, customer_id, kind, provider, account_id, \
         amount_minor, currency, 'pending', NULL, NULL, 0, 0, created_at, updated_at, NULL FROM booking_payments"
    );
    assert!(app.try_execute(&second).await.is_err(), "one open payment of a kind per booking");
    app.execute("UPDATE booking_payments SET status = 'failed'").await;
    assert!(app.try_execute(&second).await.is_ok(), "a new try after a failure");
}

const RETRY: &str = "mutation($b: ID!) { retryBookingPayment(bookingId: $b) { clientSecret payment { id status amount { amountMinor } } } }";
const SERVICE_TERMS: &str = "mutation($s: ID!, $t: PaymentTermsInput) { setServicePaymentTerms(serviceId: $s, terms: $t) { mode holdMinutes } }";

#[tokio::test]
async fn a_service_asks_its_own_terms_and_a_declined_customer_tries_again_while_the_slot_is_free() {
    let (app, fake) = app_with_fake().await;
    let slug = "retry-salon";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let prepay = json!({"s": salon.service, "t": {"mode": "PREPAYMENT", "depositMinor": 0, "depositPercent": 20, "holdMinutes": 30}});
    let staff = app.add_member(&salon.owner, &format!("staff@{slug}.test"), &["staff"]).await;
    assert_eq!(app.error_code(&staff, SERVICE_TERMS, prepay.clone()).await, "FORBIDDEN");
    app.ok(&salon.owner, SERVICE_TERMS, prepay).await;
    let shown = app
        .ok(
            &ana,
            "query($s: ID!) { service(id: $s) { paymentTerms { mode holdMinutes } } }",
            json!({"s": salon.service}),
        )
        .await;
    assert_eq!(shown["service"]["paymentTerms"], json!({"mode": "PREPAYMENT", "holdMinutes": 30}));

    let made = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await;
    assert_eq!(made["payments"][0]["kind"], "PREPAYMENT");
    assert_eq!(made["payments"][0]["amount"]["amountMinor"], 7500, "the whole price");
    assert_eq!(made["paymentDueBy"], "2026-03-02T08:30:00+00:00", "the service's hold");
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(app.error_code(&ana, RETRY, json!({"b": id})).await, "BAD_USER_INPUT", "still waiting");

    // Declined: the slot is freed, and someone else takes it.
    let (tenant, payment, intent) = payment_ids(&app, &id).await;
    fake.pay(&intent, true);
    let failed = connect_event(
        "evt_declined",
        "payment_intent.payment_failed",
        &account_of(slug),
        &intent,
        (&tenant, &id, &payment),
    );
    assert_eq!(deliver(&app, CONNECT, &failed, Some((CONNECT_SECRET, app.now()))).await.0, 200);
    assert_eq!(settled(&app, &ana, &id, "CANCELLED").await["status"], "CANCELLED");
    let mut other = crate::scheduling::booking_input(&salon, "2026-03-04T09:00:00Z");
    other["input"]["customerId"] = json!(salon.customer);
    let taken = app.ok(&salon.owner, crate::scheduling::BOOK, other).await["createBooking"]["id"].clone();
    assert_eq!(app.error_code(&ana, RETRY, json!({"b": id})).await, "CONFLICT");
    app.ok(&salon.owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": taken})).await;

    // Nobody else tries again for her.
    let (stranger, _) = app.owner_of("retry-stranger").await;
    assert_eq!(app.error_code(&stranger, RETRY, json!({"b": id})).await, "NOT_FOUND");
    let bea = bea(&app, &salon, slug).await;
    assert_eq!(app.error_code(&bea, RETRY, json!({"b": id})).await, "NOT_FOUND");

    // She tries again: the slot is hers once more, with a new payment of
    // the same amount, and paying it confirms the booking.
    let retry = app.ok(&ana, RETRY, json!({"b": id})).await["retryBookingPayment"].clone();
    assert_eq!(retry["payment"]["amount"]["amountMinor"], 7500);
    assert_ne!(retry["payment"]["id"], payment.as_str());
    let again = booking(&app, &ana, &id).await;
    assert_eq!(again["status"], "SCHEDULED");
    assert_eq!(again["awaitingPayment"], true);
    let statuses: Vec<&Value> = again["payments"].as_array().unwrap().iter().map(|p| &p["status"]).collect();
    assert_eq!(statuses, [&json!("FAILED"), &json!("PENDING")]);
    let secret = retry["clientSecret"].as_str().unwrap();
    let new_intent = secret.split("_secret_").next().unwrap();
    assert_ne!(new_intent, intent);
    fake.pay(new_intent, false);
    let new_payment = retry["payment"]["id"].as_str().unwrap();
    let paid = connect_event(
        "evt_retried",
        "payment_intent.succeeded",
        &account_of(slug),
        new_intent,
        (&tenant, &id, new_payment),
    );
    assert_eq!(deliver(&app, CONNECT, &paid, Some((CONNECT_SECRET, app.now()))).await.0, 200);
    assert_eq!(settled(&app, &ana, &id, "CONFIRMED").await["payments"][1]["status"], "SUCCEEDED");
    assert_eq!(app.error_code(&ana, RETRY, json!({"b": id})).await, "BAD_USER_INPUT", "paid");

    // Back to the business's terms.
    let cleared = app.ok(&salon.owner, SERVICE_TERMS, json!({"s": salon.service, "t": null})).await;
    assert_eq!(cleared["setServicePaymentTerms"], Value::Null);
}

#[tokio::test]
async fn two_businesses_naming_one_account_at_once_get_it_once() {
    let (app, _fake) = app_with_fake().await;
    let mut owners = Vec::new();
    for slug in ["claim-one", "claim-two", "claim-three"] {
        owners.push(app.owner_of(slug).await.0);
    }
    let claims = owners.iter().map(|owner| app.post(owner, SET_ACCOUNT, json!({"a": "acct_contested"})));
    let answers = futures_util::future::join_all(claims).await;
    let won = answers.iter().filter(|(_, body)| body["data"]["setPaymentAccount"]["accountId"] == "acct_contested");
    assert_eq!(won.count(), 1, "{answers:?}");
    let lost = answers.iter().filter(|(_, body)| body["errors"][0]["extensions"]["code"] == "CONFLICT").count();
    assert_eq!(lost, 2, "{answers:?}");
    // The winner moving to another account frees the first for others.
    let winner = answers.iter().position(|(_, body)| body["data"]["setPaymentAccount"].is_object()).unwrap();
    app.ok(&owners[winner], SET_ACCOUNT, json!({"a": "acct_another"})).await;
    let other = &owners[(winner + 1) % owners.len()];
    assert_eq!(
        app.ok(other, SET_ACCOUNT, json!({"a": "acct_contested"})).await["setPaymentAccount"]["accountId"],
        "acct_contested"
    );
}
