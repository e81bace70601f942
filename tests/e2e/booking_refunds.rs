//! Giving customers' money back, over HTTP: cancelling a paid booking refunds
//! what the business's policy says at each notice tier, through the
//! provider, once; someone with `payment:refund` gives back part or all by
//! hand with a reason, never more than was paid, even at once; a refund that
//! fails makes its amount refundable again; the database refuses a refund
//! beyond the payment whatever writes it; a payment that comes after its
//! booking stopped waiting is given back whole.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::fake_gateway::FakeGateway;
use tessera_e2e::{Auth, TestApp};

use crate::billing_webhooks::deliver;
use crate::booking_payments::{CONNECT, CONNECT_SECRET, PAY, account_of, app_with_fake, book, booking};
use crate::booking_payments::{connect_event, deposit_salon, payment_ids};
use crate::scheduling::Salon;

const REFUND: &str = "mutation($p: ID!, $a: Int!, $r: String!) { refundBookingPayment(paymentId: $p, amountMinor: $a, reason: $r) { id kind status amount { amountMinor } reason } }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id, reason: \"Sick\") { status cancellation { refund { amountMinor } } } }";
const REFUNDS: &str = "query($id: ID!) { booking(id: $id) { status payments { refunded { amountMinor } refunds { kind status amount { amountMinor } reason } } } }";

/// Ana books `at` and pays its deposit (1,500); answers the booking and its
/// payment.
async fn paid_booking(app: &TestApp, fake: &FakeGateway, salon: &Salon, ana: &Auth, at: &str) -> (String, String) {
    let id = book(app, salon, ana, at).await["id"].as_str().unwrap().to_owned();
    let (_, payment, intent) = payment_ids(app, &id).await;
    fake.pay(&intent, false);
    // Her browser's page asks again; Stripe says paid.
    let paid = app.ok(ana, PAY, json!({"b": id})).await;
    assert_eq!(paid["payBooking"]["payment"]["status"], "SUCCEEDED", "{paid}");
    assert_eq!(booking(app, ana, &id).await["status"], "CONFIRMED");
    (id, payment)
}

async fn refunds(app: &TestApp, auth: &Auth, id: &str) -> Value {
    app.ok(auth, REFUNDS, json!({"id": id})).await["booking"]["payments"][0].clone()
}

#[tokio::test]
async fn cancelling_a_paid_booking_refunds_what_the_policy_gives_at_each_notice_tier() {
    let (app, fake) = app_with_fake().await;
    let slug = "policy-refunds";
    let (salon, _) = deposit_salon(&app, slug).await;
    // 49 hours before: the whole deposit; 6 hours before: half; 2 hours
    // before: nothing.
    for (start, advance_hours, refund) in
        [("2026-03-04T09:00:00Z", 0, 1500), ("2026-03-04T10:00:00Z", 43, 750), ("2026-03-04T08:00:00Z", 3, 0)]
    {
        let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
        let ana = app.login(&format!("ana@{slug}.test")).await.in_tenant(slug);
        let (id, _) = paid_booking(&app, &fake, &salon, &ana, start).await;
        app.clock.advance(Duration::hours(advance_hours));
        let owner =
            if advance_hours > 0 { app.login(&format!("owner@{slug}.test")).await.in_tenant(slug) } else { owner };
        let cancelled = app.ok(&owner, CANCEL, json!({"id": id})).await;
        assert_eq!(cancelled["cancelBooking"]["cancellation"]["refund"]["amountMinor"], refund, "{start}");
        let payment = refunds(&app, &owner, &id).await;
        assert_eq!(payment["refunded"]["amountMinor"], refund, "{start}: {payment}");
        if refund > 0 {
            assert_eq!(payment["refunds"][0]["kind"], "POLICY");
            assert_eq!(payment["refunds"][0]["status"], "SUCCEEDED", "given back through the provider at once");
            assert!(payment["refunds"][0]["reason"].as_str().unwrap().contains("cancellation policy"));
        } else {
            assert_eq!(payment["refunds"], json!([]));
        }
    }
    let mut amounts: Vec<i64> = fake.refunds().iter().map(|(_, amount)| *amount).collect();
    amounts.sort_unstable();
    assert_eq!(amounts, [750, 1500]);
    let keys: Vec<_> = fake.calls().into_iter().filter(|(op, _, _)| *op == "refund").collect();
    assert_eq!(keys.len(), 2, "asked once each: {keys:?}");
    assert!(keys.iter().all(|(_, key, account)| key.as_deref().is_some_and(|k| k.starts_with("booking-refund-"))
        && account.as_deref() == Some(account_of(slug).as_str())));
    // The customer was told what comes back, and only when something does.
    app.deliver().await;
    let told: Vec<String> =
        app.email.sent().iter().filter(|m| m.subject.contains("cancelled")).map(|m| m.text.clone()).collect();
    assert_eq!(told.iter().filter(|t| t.contains("A refund of 15.00 USD")).count(), 1, "{told:?}");
    assert_eq!(told.iter().filter(|t| t.contains("A refund of 7.50 USD")).count(), 1, "{told:?}");
    // A repeat of the payment job asks nothing more.
    app.run_billing().await;
    assert_eq!(fake.calls().into_iter().filter(|(op, _, _)| *op == "refund").count(), 2);
}

#[tokio::test]
async fn a_refund_by_hand_has_a_reason_and_never_exceeds_what_was_paid_even_at_once() {
    let (app, fake) = app_with_fake().await;
    let slug = "hand-refunds";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let (id, payment) = paid_booking(&app, &fake, &salon, &ana, "2026-03-04T09:00:00Z").await;
    let refund = |amount: i64, reason: &str| json!({"p": payment, "a": amount, "r": reason});

    // Who may: an admin (or owner); not staff, the customer, a partner
    // client reading bookings, or another business.
    let staff = app.add_member(&salon.owner, &format!("staff@{slug}.test"), &["staff"]).await;
    let reader = crate::live_rights::client_token(&app, &salon.owner, &["booking:read"]).await;
    for auth in [&staff, &ana, &reader] {
        assert_eq!(app.error_code(auth, REFUND, refund(100, "Sorry")).await, "FORBIDDEN");
    }
    let (stranger, _) = app.owner_of("refund-stranger").await;
    assert_eq!(app.error_code(&stranger, REFUND, refund(100, "Mine now")).await, "NOT_FOUND");
    let admin = app.add_member(&salon.owner, &format!("admin@{slug}.test"), &["admin"]).await;
    assert_eq!(app.error_code(&admin, REFUND, refund(100, "  ")).await, "BAD_USER_INPUT", "a reason");

    let first = app.ok(&admin, REFUND, refund(500, "Started late")).await["refundBookingPayment"].clone();
    assert_eq!(first["status"], "SUCCEEDED");
    assert_eq!(first["kind"], "MANUAL");
    assert_eq!(first["reason"], "Started late");
    assert_eq!(app.error_code(&admin, REFUND, refund(1001, "Too much")).await, "BAD_USER_INPUT", "1,000 left");

    // Two refunds of 600 at once, with 1,000 left: one goes through.
    let both = [refund(600, "Twice"), refund(600, "Twice")].map(|vars| app.post(&admin, REFUND, vars));
    let answers = futures_util::future::join_all(both).await;
    let given = answers.iter().filter(|(_, body)| body["data"]["refundBookingPayment"]["status"] == "SUCCEEDED");
    assert_eq!(given.count(), 1, "{answers:?}");
    assert_eq!(refunds(&app, &admin, &id).await["refunded"]["amountMinor"], 1100);

    // A refund the bank fails makes its amount refundable again.
    fake.fail_next_refund();
    let failed = app.ok(&admin, REFUND, refund(400, "Goodwill")).await["refundBookingPayment"].clone();
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(refunds(&app, &admin, &id).await["refunded"]["amountMinor"], 1100);
    let again = app.ok(&admin, REFUND, refund(400, "Goodwill")).await["refundBookingPayment"].clone();
    assert_eq!(again["status"], "SUCCEEDED");
    assert_eq!(refunds(&app, &ana, &id).await["refunded"]["amountMinor"], 1500, "the customer sees it too");
    assert_eq!(fake.refunds().iter().map(|(_, a)| *a).sum::<i64>(), 1500 + 400, "the failed one gave nothing");

    // Nothing left; and the database refuses more whatever writes it.
    assert_eq!(app.error_code(&admin, REFUND, refund(1, "More")).await, "BAD_USER_INPUT");
    let copy = if app.database.is_postgres() { "gen_random_uuid()" } else { "randomblob(16)" };
    let extra = format!(
        "INSERT INTO booking_refunds SELECT tenant_id, {copy}, payment_id, booking_id, 'manual', 1, currency, \
         'pending', 'by hand', NULL, NULL, NULL, created_at, updated_at, NULL FROM booking_refunds LIMIT 1"
    );
    assert!(app.try_execute(&extra).await.is_err(), "a refund beyond the payment");
    let grown = "UPDATE booking_refunds SET amount_minor = amount_minor + 1 WHERE status = 'succeeded'";
    assert!(app.try_execute(grown).await.is_err(), "a refund grown beyond the payment");
    let audited = app.rows("SELECT actor_user_id FROM audit_records WHERE action = 'booking_refund.opened'").await;
    assert_eq!(audited.len(), 4, "every refund asked, by its person");
}

#[tokio::test]
async fn a_payment_that_comes_after_its_hold_ran_out_is_given_back_whole() {
    let (app, fake) = app_with_fake().await;
    let slug = "late-payer";
    let (salon, ana) = deposit_salon(&app, slug).await;
    let id = book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await["id"].as_str().unwrap().to_owned();
    let (tenant, payment, intent) = payment_ids(&app, &id).await;
    // The hold runs out and someone else takes the slot.
    app.clock.advance(Duration::minutes(16));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    let mut input = crate::scheduling::booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["customerId"] = json!(salon.customer);
    app.ok(&owner, crate::scheduling::BOOK, input).await;
    // Then her bank pays.
    fake.pay(&intent, false);
    let body =
        connect_event("evt_late_pay", "payment_intent.succeeded", &account_of(slug), &intent, (&tenant, &id, &payment));
    assert_eq!(deliver(&app, CONNECT, &body, Some((CONNECT_SECRET, app.now()))).await.0, 200);
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = refunds(&app, &owner, &id).await;
        if seen["refunds"][0]["status"] == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen["refunds"][0]["kind"], "UNWANTED_PAYMENT", "{seen}");
    assert_eq!(seen["refunds"][0]["amount"]["amountMinor"], 1500);
    assert_eq!(seen["refunded"]["amountMinor"], 1500);
    assert_eq!(booking(&app, &owner, &id).await["status"], "CANCELLED", "the slot stays the other booking's");
    assert_eq!(fake.refunds(), [(intent, 1500)]);
}
