//! A booking lifecycle that respects the clock and the customer (issue 15, item
//! 6): status changes follow time rules, customers move their own bookings under
//! the tenant's notice, messages say "received" until a booking is confirmed, and
//! a buffer conflict says what is in the way.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const NO_SHOW: &str = "mutation($id: ID!) { markBookingNoShow(id: $id) { status } }";
const START: &str = "mutation($id: ID!) { startBooking(id: $id) { status } }";
const COMPLETE: &str = "mutation($id: ID!) { completeBooking(id: $id) { status } }";
const CONFIRM: &str = "mutation($id: ID!) { confirmBooking(id: $id) { status } }";
const RESCHEDULE: &str =
    "mutation($id: ID!, $at: DateTime!) { rescheduleBooking(id: $id, startsAt: $at) { status startsAt } }";
const INBOX: &str = "{ myNotifications(first: 20) { edges { node { topic title } } } }";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn book(app: &TestApp, salon: &Salon, starts_at: &str) -> String {
    app.ok(&salon.owner, BOOK, booking_input(salon, starts_at)).await["createBooking"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The error code and message `query` answers for `id`.
async fn refused(app: &TestApp, auth: &Auth, query: &str, variables: Value) -> (String, String) {
    let (_, body): (u16, Value) = app.post(auth, query, variables).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    (error_code_of(&body).to_owned(), message)
}

#[tokio::test]
async fn a_booking_cannot_be_started_missed_or_completed_days_before_it_begins() {
    let app = pinned_app().await;
    let salon = salon(&app, "clocked", 0).await;
    // Monday 09:00 in Madrid; the booking is on Wednesday at 10:00.
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let id = json!({"id": booking});
    let (code, message) = refused(&app, &salon.owner, NO_SHOW, id.clone()).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("2026-03-04 10:00 (Europe/Madrid)"), "{message}");
    let (code, message) = refused(&app, &salon.owner, START, id.clone()).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("at most 30 minutes before"), "{message}");
    assert_eq!(refused(&app, &salon.owner, COMPLETE, id.clone()).await.0, "BAD_USER_INPUT", "not started yet");

    let later = book(&app, &salon, "2026-03-04T11:00:00Z").await;

    // A customer who arrives 20 minutes early is seen at once (two days on, the
    // owner signs in again).
    app.clock.set(at("2026-03-04T08:40:00Z"));
    let owner = app.login("owner@clocked.test").await.in_tenant("clocked");
    assert_eq!(app.ok(&owner, START, id.clone()).await["startBooking"]["status"], "IN_PROGRESS");
    assert_eq!(app.ok(&owner, COMPLETE, id).await["completeBooking"]["status"], "COMPLETED");

    // A no-show is recorded once the start has passed, not before.
    assert_eq!(refused(&app, &owner, NO_SHOW, json!({"id": later})).await.0, "BAD_USER_INPUT");
    app.clock.set(at("2026-03-04T11:10:00Z"));
    let owner = app.login("owner@clocked.test").await.in_tenant("clocked");
    assert_eq!(app.ok(&owner, NO_SHOW, json!({"id": later})).await["markBookingNoShow"]["status"], "NO_SHOW");
}

/// Ana, a member with the customer role linked to the salon's customer record.
async fn ana(app: &TestApp, salon: &Salon, email: &str) -> Auth {
    let ana = app.add_member(&salon.owner, email, &["customer"]).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": salon.customer, "u": ana.user_id})).await;
    ana
}

#[tokio::test]
async fn a_customer_moves_her_own_booking_until_the_tenants_notice_and_nobody_elses() {
    let app = pinned_app().await;
    let salon = salon(&app, "moving", 0).await;
    let ana = ana(&app, &salon, "ana@moving.test").await;
    let hers = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let other_customer = app
        .ok(&salon.owner, "mutation { createCustomer(input: {name: \"Bea\"}) { id } }", json!({}))
        .await["createCustomer"]["id"]
        .clone();
    let mut input = booking_input(&salon, "2026-03-04T11:00:00Z");
    input["input"]["customerId"] = other_customer;
    let not_hers = app.ok(&salon.owner, BOOK, input).await["createBooking"]["id"].as_str().unwrap().to_owned();

    let moved = app.ok(&ana, RESCHEDULE, json!({"id": hers, "at": "2026-03-05T09:00:00Z"})).await;
    assert_eq!(moved["rescheduleBooking"]["startsAt"], "2026-03-05T09:00:00+00:00");
    assert_eq!(moved["rescheduleBooking"]["status"], "SCHEDULED");
    let other = json!({"id": not_hers, "at": "2026-03-05T13:00:00Z"});
    assert_eq!(refused(&app, &ana, RESCHEDULE, other).await.0, "NOT_FOUND", "another customer's booking");

    // Within the tenant's notice (24 hours by default) only the business moves it.
    app.clock.set(at("2026-03-04T10:00:00Z"));
    let ana = app.login("ana@moving.test").await.in_tenant("moving");
    let owner = app.login("owner@moving.test").await.in_tenant("moving");
    let late = json!({"id": hers, "at": "2026-03-06T09:00:00Z"});
    let (code, message) = refused(&app, &ana, RESCHEDULE, late.clone()).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("24 hours"), "{message}");
    app.ok(&owner, RESCHEDULE, late).await;

    // Another business's owner cannot see or move it.
    let (stranger, _) = app.owner_of("moving-other").await;
    let foreign = json!({"id": hers, "at": "2026-03-09T09:00:00Z"});
    assert_eq!(refused(&app, &stranger, RESCHEDULE, foreign).await.0, "NOT_FOUND");
    let staff = app.add_member(&owner, "staff@moving.test", &["staff"]).await;
    let by_staff = json!({"id": hers, "at": "2026-03-09T09:00:00Z"});
    assert_eq!(refused(&app, &staff, RESCHEDULE, by_staff).await.0, "FORBIDDEN", "staff do not move bookings");
}

#[tokio::test]
async fn the_customer_hears_received_then_confirmed_or_confirmed_at_once_when_the_tenant_says_so() {
    let app = pinned_app().await;
    let salon = salon(&app, "worded", 0).await;
    let ana = ana(&app, &salon, "ana@worded.test").await;
    let topics = |inbox: &Value| -> Vec<(String, String)> {
        let edges = inbox["myNotifications"]["edges"].as_array().unwrap();
        let mut all: Vec<(String, String)> = edges
            .iter()
            .map(|e| (e["node"]["topic"].as_str().unwrap().to_owned(), e["node"]["title"].as_str().unwrap().to_owned()))
            .collect();
        all.sort();
        all
    };
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    assert_eq!(
        topics(&app.ok(&ana, INBOX, json!({})).await),
        [("booking.received".to_owned(), "We have received your booking at Tenant worded".to_owned())]
    );
    app.ok(&salon.owner, CONFIRM, json!({"id": booking})).await;
    assert_eq!(
        topics(&app.ok(&ana, INBOX, json!({})).await),
        [
            ("booking.confirmed".to_owned(), "Your booking at Tenant worded is confirmed".to_owned()),
            ("booking.received".to_owned(), "We have received your booking at Tenant worded".to_owned()),
        ]
    );

    let settings = "mutation { updateTenant(input: {settings: {confirmBookingsAutomatically: true}}) { settings { confirmBookingsAutomatically } } }";
    app.ok(&salon.owner, settings, json!({})).await;
    let made = app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T11:00:00Z")).await;
    assert_eq!(made["createBooking"]["status"], "CONFIRMED");
    let confirmed = topics(&app.ok(&ana, INBOX, json!({})).await);
    assert_eq!(confirmed.iter().filter(|(topic, _)| topic == "booking.confirmed").count(), 2, "{confirmed:?}");
    assert_eq!(confirmed.iter().filter(|(topic, _)| topic == "booking.received").count(), 1, "{confirmed:?}");
}

#[tokio::test]
async fn a_buffer_conflict_says_until_when_the_provider_is_busy_and_why() {
    let app = pinned_app().await;
    let salon = salon(&app, "buffered", 10).await;
    // 10:00–11:00 in Madrid, then 10 minutes of clean-up.
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let (code, message) = refused(&app, &salon.owner, BOOK, booking_input(&salon, "2026-03-04T10:00:00Z")).await;
    assert_eq!(code, "CONFLICT");
    assert!(
        message.contains("already booked from 2026-03-04 10:00 until 2026-03-04 11:10 (Europe/Madrid)"),
        "{message}"
    );
    assert!(message.contains("10-minute buffer after"), "{message}");
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T10:15:00Z")).await;
}

#[tokio::test]
async fn a_partner_client_moves_bookings_of_its_business_only_and_only_with_the_scope() {
    let app = pinned_app().await;
    let salon = salon(&app, "partner-moves", 0).await;
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let mover = crate::live_rights::client_token(&app, &salon.owner, &["booking:manage"]).await;
    let reader = crate::live_rights::client_token(&app, &salon.owner, &["booking:read"]).await;
    let moved = app.ok(&mover, RESCHEDULE, json!({"id": booking, "at": "2026-03-05T09:00:00Z"})).await;
    assert_eq!(moved["rescheduleBooking"]["startsAt"], "2026-03-05T09:00:00+00:00", "{moved}");
    let later = json!({"id": booking, "at": "2026-03-06T09:00:00Z"});
    assert_eq!(app.error_code(&reader, RESCHEDULE, later.clone()).await, "FORBIDDEN", "reading is not moving");

    // Another business's client cannot find it, let alone move it.
    let (other, _) = app.owner_of("partner-moves-other").await;
    let stranger = crate::live_rights::client_token(&app, &other, &["booking:manage"]).await;
    assert_eq!(app.error_code(&stranger, RESCHEDULE, later).await, "NOT_FOUND");
    let kept = app
        .ok(&salon.owner, "query($id: ID!) { node(id: $id) { ... on Booking { startsAt } } }", json!({"id": booking}))
        .await;
    assert_eq!(kept["node"]["startsAt"], "2026-03-05T09:00:00+00:00", "{kept}");
}
