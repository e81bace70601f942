//! Object-level rules end to end: customers reach only their own bookings and
//! profile; staff only their own calendar (the provider linked to them) unless a
//! role gives them more, tenant-wide or on one provider; the live feed follows the
//! same rules.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, WsEvent};

use crate::scheduling::{BOOK, Salon, add_provider, booking_input, pinned_app, salon};

fn id(data: &Value, field: &str) -> String {
    data[field]["id"].as_str().unwrap_or_else(|| panic!("{field} id in {data}")).to_owned()
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect()
}

/// Books `starts_at` with `provider` for the caller themselves (no customer named).
fn for_myself(salon: &Salon, provider: &str, starts_at: &str, key: &str) -> Value {
    json!({"input": {"serviceId": salon.service, "providerId": provider, "startsAt": starts_at, "idempotencyKey": key}})
}

/// Books `starts_at` with `provider` for the salon's customer.
fn for_customer(salon: &Salon, provider: &str, starts_at: &str) -> Value {
    json!({"input": {"serviceId": salon.service, "providerId": provider, "customerId": salon.customer, "startsAt": starts_at}})
}

async fn booked(app: &TestApp, auth: &Auth, input: Value) -> String {
    id(&app.ok(auth, BOOK, input).await, "createBooking")
}

const MINE: &str =
    "{ bookings { edges { node { id customer { name userId } } } } customers { edges { node { id userId notes } } } }";
const BOOKING: &str = "query($id: ID!) { booking(id: $id) { id } }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id) { id status } }";
const REVIEW: &str = "mutation($id: ID!) { reviewBooking(id: $id, rating: 5) { review { rating } } }";

#[tokio::test]
async fn customers_see_book_cancel_and_review_only_their_own_bookings() {
    let app = pinned_app().await;
    let salon = salon(&app, "own-customers", 0).await;
    let owner = &salon.owner;
    let someone_elses = booked(&app, owner, booking_input(&salon, "2026-03-04T08:00:00Z")).await;
    let ana = app.add_member(owner, "ana@own-customers.test", &[]).await;
    let bob = app.add_member(owner, "bob@own-customers.test", &["customer"]).await;

    let before = app.ok(&ana, MINE, json!({})).await;
    assert_eq!(ids(&before["bookings"]), Vec::<String>::new(), "nothing of anyone else's");
    assert_eq!(ids(&before["customers"]), Vec::<String>::new());
    assert_eq!(app.ok(&ana, BOOKING, json!({"id": someone_elses})).await["booking"], Value::Null);
    let customer = "query($id: ID!) { customer(id: $id) { id } }";
    assert_eq!(app.ok(&ana, customer, json!({"id": salon.customer})).await["customer"], Value::Null);

    // She books for herself only; her customer profile comes from her account.
    assert_eq!(
        app.error_code(&ana, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await,
        "FORBIDDEN",
        "not for another customer"
    );
    let first = booked(&app, &ana, for_myself(&salon, &salon.provider, "2026-03-04T09:00:00Z", "ana-1")).await;
    let second = booked(&app, &ana, for_myself(&salon, &salon.provider, "2026-03-04T10:00:00Z", "ana-2")).await;
    let after = app.ok(&ana, MINE, json!({})).await;
    assert_eq!(ids(&after["bookings"]), vec![first.clone(), second.clone()]);
    assert_eq!(after["bookings"]["edges"][0]["node"]["customer"]["userId"], json!(ana.user_id));
    let profiles = after["customers"]["edges"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "one profile for both bookings: {after}");
    let profile = profiles[0]["node"]["id"].as_str().unwrap().to_owned();

    // Staff notes stay with the staff.
    let note = "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Ana\", notes: \"prefers mornings\"}) { userId notes } }";
    let updated = app.ok(owner, note, json!({"id": profile})).await;
    assert_eq!(updated["updateCustomer"], json!({"userId": ana.user_id, "notes": "prefers mornings"}), "link kept");
    assert_eq!(app.ok(&ana, MINE, json!({})).await["customers"]["edges"][0]["node"]["notes"], Value::Null);

    // Another customer sees and touches none of it, even with her idempotency key.
    assert_eq!(app.ok(&bob, BOOKING, json!({"id": first})).await["booking"], Value::Null);
    assert_eq!(ids(&app.ok(&bob, MINE, json!({})).await["bookings"]), Vec::<String>::new());
    assert_eq!(app.error_code(&bob, CANCEL, json!({"id": first})).await, "NOT_FOUND");
    assert_eq!(
        app.error_code(&bob, BOOK, for_myself(&salon, &salon.provider, "2026-03-04T09:00:00Z", "ana-1")).await,
        "CONFLICT",
        "a key is the requester's: Ana's booking is not answered to Bob"
    );

    // She cancels her own bookings, not others', and manages nothing.
    assert_eq!(app.error_code(&ana, CANCEL, json!({"id": someone_elses})).await, "NOT_FOUND");
    let confirm = "mutation($id: ID!) { confirmBooking(id: $id) { id } }";
    assert_eq!(app.error_code(&ana, confirm, json!({"id": first})).await, "FORBIDDEN");
    assert_eq!(app.ok(&ana, CANCEL, json!({"id": first})).await["cancelBooking"]["status"], "CANCELLED");

    // On the day, the appointments start and end; she reviews her own, and only hers.
    app.clock.set("2026-03-04T09:45:00Z".parse().unwrap());
    let owner = &app.login("owner@own-customers.test").await.in_tenant("own-customers");
    let ana = app.login("ana@own-customers.test").await.in_tenant("own-customers");
    let bob = app.login("bob@own-customers.test").await.in_tenant("own-customers");
    for booking in [&second, &someone_elses] {
        for step in ["confirmBooking", "startBooking", "completeBooking"] {
            app.ok(owner, &format!("mutation($id: ID!) {{ {step}(id: $id) {{ id }} }}"), json!({"id": booking})).await;
        }
    }
    assert_eq!(app.error_code(&bob, REVIEW, json!({"id": second})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&ana, REVIEW, json!({"id": someone_elses})).await, "NOT_FOUND");
    assert_eq!(app.ok(&ana, REVIEW, json!({"id": second})).await["reviewBooking"]["review"]["rating"], 5);

    // Whoever may book may see where.
    let slots = app
        .ok(
            &ana,
            "query($s: ID!) { availability(serviceId: $s, from: \"2026-03-05\", to: \"2026-03-05\") { startsAt } }",
            json!({"s": salon.service}),
        )
        .await;
    assert!(!slots["availability"].as_array().unwrap().is_empty(), "{slots}");
}

const LINK: &str =
    "mutation($p: ID!, $u: ID) { updateProvider(id: $p, input: {name: \"Linked\", userId: $u}) { id userId } }";
const HOURS: &str = "mutation($p: ID!) { setWorkingHours(providerId: $p, intervals: [{weekday: MONDAY, startTime: \"09:00\", endTime: \"17:00\"}]) { id } }";
const TIME_OFF: &str =
    "mutation($p: ID) { addScheduleException(input: {providerId: $p, date: \"2026-03-10\", kind: CLOSED}) { id } }";

#[tokio::test]
async fn staff_see_and_keep_only_their_own_calendar_unless_a_role_gives_more() {
    let app = pinned_app().await;
    let salon = salon(&app, "own-staff", 0).await;
    let owner = &salon.owner;
    let marco = app.add_member(owner, "marco@own-staff.test", &["staff"]).await;
    let outsider = app.sign_up("outsider@own-staff.test").await;
    let his = add_provider(&app, &salon, "Marco", "09:00", "17:00").await;

    // Linking: members only, one provider each, decided by whoever manages providers.
    assert_eq!(app.error_code(owner, LINK, json!({"p": his, "u": outsider.user_id})).await, "BAD_USER_INPUT");
    let linked = app.ok(owner, LINK, json!({"p": his, "u": marco.user_id})).await;
    assert_eq!(linked["updateProvider"]["userId"], json!(marco.user_id));
    assert_eq!(app.error_code(owner, LINK, json!({"p": salon.provider, "u": marco.user_id})).await, "CONFLICT");
    assert_eq!(app.error_code(&marco, LINK, json!({"p": salon.provider, "u": marco.user_id})).await, "FORBIDDEN");

    let on_his = booked(&app, owner, for_customer(&salon, &his, "2026-03-04T08:00:00Z")).await;
    let on_marias = booked(&app, owner, for_customer(&salon, &salon.provider, "2026-03-04T08:00:00Z")).await;

    // He sees his own bookings, wherever he looks.
    let list = "{ bookings { edges { node { id } } } }";
    assert_eq!(ids(&app.ok(&marco, list, json!({})).await["bookings"]), vec![on_his.clone()]);
    assert_eq!(app.ok(&marco, BOOKING, json!({"id": on_marias})).await["booking"], Value::Null);
    let nested = "{ providers { edges { node { id upcomingBookings { id } bookings { edges { node { id } } } } } } }";
    let providers = app.ok(&marco, nested, json!({})).await;
    for edge in providers["providers"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        let expected: Vec<String> = if node["id"] == json!(his) { vec![on_his.clone()] } else { Vec::new() };
        let upcoming: Vec<String> =
            node["upcomingBookings"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(upcoming, expected, "{providers}");
        assert_eq!(ids(&node["bookings"]), expected, "{providers}");
    }

    // He keeps his own hours and time off, not Maria's, and manages no booking.
    app.ok(&marco, HOURS, json!({"p": his})).await;
    assert_eq!(app.error_code(&marco, HOURS, json!({"p": salon.provider})).await, "FORBIDDEN");
    let own = id(&app.ok(&marco, TIME_OFF, json!({"p": his})).await, "addScheduleException");
    assert_eq!(app.error_code(&marco, TIME_OFF, json!({"p": salon.provider})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&marco, TIME_OFF, json!({"p": null})).await, "FORBIDDEN", "not a tenant holiday");
    app.ok(&marco, "mutation($id: ID!) { removeScheduleException(id: $id) }", json!({"id": own})).await;
    assert_eq!(app.error_code(&marco, CANCEL, json!({"id": on_his})).await, "FORBIDDEN");

    // A role on Maria's provider alone adds her calendar; booking:read tenant-wide, all.
    let sofia = app.add_member(owner, "sofia@own-staff.test", &["staff"]).await;
    let cover = id(
        &app.ok(
            owner,
            "mutation { createRole(input: {name: \"Cover\", permissions: [\"booking:read\"]}) { id } }",
            json!({}),
        )
        .await,
        "createRole",
    );
    let assign =
        "mutation($r: ID!, $u: ID!, $p: ID) { assignRole(input: {roleId: $r, userId: $u, providerId: $p}) { id } }";
    app.ok(owner, assign, json!({"r": cover, "u": sofia.user_id, "p": salon.provider})).await;
    assert_eq!(ids(&app.ok(&sofia, list, json!({})).await["bookings"]), vec![on_marias.clone()]);
    app.ok(owner, assign, json!({"r": cover, "u": marco.user_id, "p": null})).await;
    let mut all = ids(&app.ok(&marco, list, json!({})).await["bookings"]);
    all.sort();
    let mut expected = vec![on_his, on_marias];
    expected.sort();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn a_stylists_live_feed_carries_only_their_own_bookings() {
    let app = pinned_app().await;
    let salon = salon(&app, "own-feed", 0).await;
    let owner = &salon.owner;
    let marco = app.add_member(owner, "marco@own-feed.test", &["staff"]).await;
    let his = add_provider(&app, &salon, "Marco", "09:00", "17:00").await;
    app.ok(owner, LINK, json!({"p": his, "u": marco.user_id})).await;

    let mut feed = app.websocket("graphql-transport-ws", None).await.unwrap();
    feed.init(&marco).await;
    let subscription = "subscription { bookingEvents { kind booking { id provider { id } } } }";
    feed.send(json!({"id": "m", "type": "subscribe", "payload": {"query": subscription}})).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    booked(&app, owner, for_customer(&salon, &salon.provider, "2026-03-04T08:00:00Z")).await;
    let on_his = booked(&app, owner, for_customer(&salon, &his, "2026-03-04T08:00:00Z")).await;
    let Some(WsEvent::Json(message)) = feed.next(StdDuration::from_secs(10)).await else { panic!("an event") };
    let event = &message["payload"]["data"]["bookingEvents"];
    assert_eq!(event["booking"]["id"], json!(on_his), "Maria's booking is not in Marco's feed: {message}");
    assert_eq!(event["booking"]["provider"]["id"], json!(his));
    assert_eq!(feed.next(StdDuration::from_millis(800)).await, None);
}
