//! Two records of one person merged (issue 22, item 7): the second's
//! bookings, reviews, waitlist entries and payments follow to the first,
//! its details fill the first's blanks, its calendar feeds stop and the
//! record is gone; audited; refused, changing nothing, where two records
//! cannot be one; only those who manage customers, in their own business.

use serde_json::{Value, json};
use tessera_e2e::TestApp;

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const MERGE: &str =
    "mutation($k: ID!, $m: ID!) { mergeCustomers(keepId: $k, mergeId: $m) { id name email phone notes } }";
const CUSTOMER: &str = "query($id: ID!) { customer(id: $id) { id } }";
const THEIR_BOOKINGS: &str =
    "query($c: ID!) { bookings(filter: {customerId: $c}) { edges { node { id customer { id } } } } }";

/// A second record of Ana: made at the front desk by phone, no email.
async fn second_ana(app: &TestApp, salon: &Salon) -> String {
    let made = "mutation { createCustomer(input: {name: \"Ana L.\", phone: \"+34611999888\", notes: \"Prefers mornings\"}) { id } }";
    app.ok(&salon.owner, made, json!({})).await["createCustomer"]["id"].as_str().unwrap().to_owned()
}

async fn book_for(app: &TestApp, salon: &Salon, customer: &str, at: &str) -> Value {
    let mut input = booking_input(salon, at);
    input["input"]["customerId"] = json!(customer);
    app.ok(&salon.owner, BOOK, input).await["createBooking"]["id"].clone()
}

#[tokio::test]
async fn the_second_records_history_follows_to_the_first_and_it_is_gone() {
    let app = pinned_app().await;
    let salon = salon(&app, "merge-home", 0).await;
    let owner = &salon.owner;
    let other = second_ana(&app, &salon).await;
    let hers = book_for(&app, &salon, &salon.customer, "2026-03-04T09:00:00Z").await;
    let theirs = book_for(&app, &salon, &other, "2026-03-05T09:00:00Z").await;
    let join = "mutation($s: ID!, $c: ID!) { joinWaitlist(input: {serviceId: $s, customerId: $c, earliestDate: \"2026-03-09\", latestDate: \"2026-03-09\"}) { id } }";
    let entry = app.ok(owner, join, json!({"s": salon.service, "c": other})).await["joinWaitlist"]["id"].clone();
    let feed = "mutation($c: ID!) { createCalendarFeed(customerId: $c) { feed { id } url } }";
    let url = app.ok(owner, feed, json!({"c": other})).await["createCalendarFeed"]["url"].as_str().unwrap().to_owned();

    let kept = app.ok(owner, MERGE, json!({"k": salon.customer, "m": other})).await["mergeCustomers"].clone();
    assert_eq!(kept["id"], salon.customer);
    assert_eq!(kept["name"], "Ana López", "the kept record's own details stay");
    assert_eq!(kept["email"], "ana@example.com");
    assert_eq!(kept["phone"], "+34611222333");
    assert_eq!(kept["notes"], "Prefers mornings", "blanks are filled from the other");
    assert_eq!(app.ok(owner, CUSTOMER, json!({"id": other})).await["customer"], Value::Null);
    let now_hers = app.ok(owner, THEIR_BOOKINGS, json!({"c": salon.customer})).await["bookings"]["edges"].clone();
    let ids: Vec<&Value> = now_hers.as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert!(ids.contains(&&hers) && ids.contains(&&theirs), "{now_hers}");
    let waiting = "query($id: ID!) { waitlistEntry(id: $id) { customerId } }";
    assert_eq!(app.ok(owner, waiting, json!({"id": entry})).await["waitlistEntry"]["customerId"], salon.customer);
    // The other record's feed address stops working.
    let path = &url[url.find("/calendar/").expect("a calendar URL")..];
    let answer = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let audit = app.rows("SELECT action FROM audit_records WHERE action = 'customer.merged'").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(app.error_code(owner, MERGE, json!({"k": salon.customer, "m": other})).await, "NOT_FOUND");
    assert_eq!(app.error_code(owner, MERGE, json!({"k": salon.customer, "m": salon.customer})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn records_that_cannot_be_one_are_refused_and_left_as_they_were() {
    let app = pinned_app().await;
    let salon = salon(&app, "merge-clash", 0).await;
    let owner = &salon.owner;
    let other = second_ana(&app, &salon).await;
    let booked = book_for(&app, &salon, &other, "2026-03-05T09:00:00Z").await;
    // Both wait for the haircut.
    let join = "mutation($s: ID!, $c: ID!) { joinWaitlist(input: {serviceId: $s, customerId: $c, earliestDate: \"2026-03-20\", latestDate: \"2026-03-20\"}) { id } }";
    for who in [&salon.customer, &other] {
        app.ok(owner, join, json!({"s": salon.service, "c": who})).await;
    }
    assert_eq!(app.error_code(owner, MERGE, json!({"k": salon.customer, "m": other})).await, "CONFLICT");
    let still = app.ok(owner, THEIR_BOOKINGS, json!({"c": other})).await["bookings"]["edges"].clone();
    assert_eq!(still[0]["node"]["id"], booked, "nothing moved");

    // Both linked to an account.
    let luis = app.add_member(owner, "luis.m@example.com", &["customer"]).await;
    let mut own = booking_input(&salon, "2026-03-06T09:00:00Z");
    own["input"].as_object_mut().unwrap().remove("customerId");
    app.ok(&luis, BOOK, own).await;
    let mine = app.ok(&luis, "{ customers { edges { node { id } } } }", json!({})).await;
    let luis_record = mine["customers"]["edges"][0]["node"]["id"].clone();
    let link = "mutation($id: ID!, $u: ID) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    let owner_user = owner.user_id.clone();
    app.ok(owner, link, json!({"id": salon.customer, "u": owner_user})).await;
    assert_eq!(app.error_code(owner, MERGE, json!({"k": salon.customer, "m": luis_record})).await, "CONFLICT");
}

#[tokio::test]
async fn only_those_who_manage_customers_merge_and_only_their_own() {
    let app = pinned_app().await;
    let salon = salon(&app, "merge-own", 0).await;
    let away = crate::scheduling::salon(&app, "merge-away", 0).await;
    let other = second_ana(&app, &salon).await;
    let pair = json!({"k": salon.customer, "m": other});
    assert_eq!(app.error_code(&away.owner, MERGE, pair.clone()).await, "NOT_FOUND");
    let across = json!({"k": away.customer, "m": other});
    assert_eq!(app.error_code(&away.owner, MERGE, across).await, "NOT_FOUND");
    let staff = app.add_member(&salon.owner, "desk.m@example.com", &["staff"]).await;
    let customer = app.add_member(&salon.owner, "client.m@example.com", &["customer"]).await;
    for who in [&staff, &customer] {
        assert_eq!(app.error_code(who, MERGE, pair.clone()).await, "FORBIDDEN");
    }
    let reader = client_token(&app, &salon.owner, &["customer:read"]).await;
    assert_eq!(app.error_code(&reader, MERGE, pair.clone()).await, "FORBIDDEN");
    let manager = client_token(&app, &salon.owner, &["customer:manage"]).await;
    assert_eq!(app.ok(&manager, MERGE, pair).await["mergeCustomers"]["id"], salon.customer);
    assert_eq!(app.ok(&away.owner, CUSTOMER, json!({"id": away.customer})).await["customer"]["id"], away.customer);
}

#[tokio::test]
async fn payments_follow_to_the_kept_record() {
    let (app, _fake) = crate::booking_payments::app_with_fake().await;
    let (salon, ana) = crate::booking_payments::deposit_salon(&app, "merge-paid").await;
    let other = second_ana(&app, &salon).await;
    // Ana's own booking, and one the front desk made for the other record: each asks a deposit.
    crate::booking_payments::book(&app, &salon, &ana, "2026-03-04T09:00:00Z").await;
    book_for(&app, &salon, &other, "2026-03-05T09:00:00Z").await;
    let paid = "query($c: ID!) { bookingPayments(filter: {customerId: $c}) { edges { node { id customerId } } } }";
    let count = |body: Value| body["bookingPayments"]["edges"].as_array().map_or(0, Vec::len);
    assert_eq!(count(app.ok(&salon.owner, paid, json!({"c": other})).await), 1);
    app.ok(&salon.owner, MERGE, json!({"k": salon.customer, "m": other})).await;
    assert_eq!(count(app.ok(&salon.owner, paid, json!({"c": other})).await), 0);
    let hers = app.ok(&salon.owner, paid, json!({"c": salon.customer})).await;
    assert_eq!(count(hers.clone()), 2, "{hers}");
    // The kept record is still hers: she sees both bookings as her own.
    let own = app.ok(&ana, "{ bookings { edges { node { id } } } }", json!({})).await;
    assert_eq!(own["bookings"]["edges"].as_array().unwrap().len(), 2);
}
