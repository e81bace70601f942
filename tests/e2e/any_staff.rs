//! "Any available staff" (issue 22, item 2): a booking that names no
//! provider goes to whoever offers the service and is free then, fairly by
//! the business's setting (the least booked that day, or in turn); parallel
//! requests for one start take each free provider once and no more; a
//! repeat with the same key answers the same booking; nobody outside the
//! business reaches its providers this way.

use serde_json::{Value, json};
use tessera_e2e::TestApp;

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const ANY: &str =
    "mutation($input: CreateBookingInput!) { createBooking(input: $input) { id provider { id } startsAt } }";
const SETTING: &str = "mutation($s: StaffAssignment!) { updateTenant(input: {settings: {staffAssignment: $s}}) { settings { staffAssignment } } }";

/// The salon with a second stylist, Luis, on Maria's hours, offering the haircut.
async fn two_stylists(app: &TestApp, slug: &str) -> (Salon, String) {
    let salon = salon(app, slug, 0).await;
    let made = "mutation { createProvider(input: {name: \"Luis\"}) { id } }";
    let luis = app.ok(&salon.owner, made, json!({})).await["createProvider"]["id"].as_str().unwrap().to_owned();
    let days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let intervals: Vec<Value> =
        days.iter().map(|d| json!({"weekday": d, "startTime": "09:00", "endTime": "18:00"})).collect();
    let hours =
        "mutation($p: ID!, $i: [WorkingIntervalInput!]!) { setWorkingHours(providerId: $p, intervals: $i) { id } }";
    app.ok(&salon.owner, hours, json!({"p": luis, "i": intervals})).await;
    let assign = "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }";
    app.ok(&salon.owner, assign, json!({"p": luis, "s": salon.service})).await;
    (salon, luis)
}

fn any(salon: &Salon, at: &str) -> Value {
    let mut input = booking_input(salon, at);
    input["input"].as_object_mut().unwrap().remove("providerId");
    input
}

async fn provider_of(app: &TestApp, salon: &Salon, at: &str) -> String {
    app.ok(&salon.owner, ANY, any(salon, at)).await["createBooking"]["provider"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_least_booked_stylist_takes_the_booking_or_each_in_turn() {
    let app = pinned_app().await;
    let (salon, luis) = two_stylists(&app, "any-fair").await;
    // Maria has two bookings on Wednesday: Luis takes the next one that day.
    for at in ["2026-03-04T08:00:00Z", "2026-03-04T10:00:00Z"] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, at)).await;
    }
    assert_eq!(provider_of(&app, &salon, "2026-03-04T13:00:00Z").await, luis);
    assert_eq!(provider_of(&app, &salon, "2026-03-04T14:00:00Z").await, luis, "Maria still has more");
    assert_eq!(provider_of(&app, &salon, "2026-03-04T15:00:00Z").await, salon.provider, "two each now");
    // Only Luis works over Maria's lunch (13:00 to 14:00 local).
    assert_eq!(provider_of(&app, &salon, "2026-03-04T12:00:00Z").await, luis);

    // In turn: the one whose last booking was made longest ago.
    let set = app.ok(&salon.owner, SETTING, json!({"s": "ROUND_ROBIN"})).await;
    assert_eq!(set["updateTenant"]["settings"]["staffAssignment"], "ROUND_ROBIN");
    let mut turns = Vec::new();
    for at in ["2026-03-05T08:00:00Z", "2026-03-05T10:00:00Z", "2026-03-05T13:00:00Z"] {
        // Bookings made a minute apart, as people make them.
        app.clock.advance(chrono::Duration::minutes(1));
        turns.push(provider_of(&app, &salon, at).await);
    }
    // Both were last booked at the same instant so far: the first in id order starts.
    assert_eq!(turns, [salon.provider.clone(), luis.clone(), salon.provider.clone()]);
}

#[tokio::test]
async fn parallel_requests_for_one_start_take_each_free_stylist_once() {
    let app = pinned_app().await;
    let (salon, luis) = two_stylists(&app, "any-rush").await;
    let attempts = (0..6).map(|_| app.post(&salon.owner, ANY, any(&salon, "2026-03-04T09:00:00Z")));
    let answers = futures_util::future::join_all(attempts).await;
    let mut taken: Vec<&str> =
        answers.iter().filter_map(|(_, b)| b["data"]["createBooking"]["provider"]["id"].as_str()).collect();
    taken.sort_unstable();
    let mut both = vec![salon.provider.as_str(), luis.as_str()];
    both.sort_unstable();
    assert_eq!(taken, both, "{answers:?}");
    let refused: Vec<&Value> = answers.iter().map(|(_, b)| b).filter(|b| b.get("errors").is_some()).collect();
    assert_eq!(refused.len(), 4);
    for body in refused {
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    }
    // The same key books once, whatever the provider it found.
    let mut keyed = any(&salon, "2026-03-04T11:00:00Z");
    keyed["input"]["idempotencyKey"] = json!("any-7c1");
    let first = app.ok(&salon.owner, ANY, keyed.clone()).await["createBooking"].clone();
    let again = app.ok(&salon.owner, ANY, keyed).await["createBooking"].clone();
    assert_eq!(first, again);
}

#[tokio::test]
async fn a_customer_books_any_stylist_for_themselves_and_outsiders_reach_none() {
    let app = pinned_app().await;
    let (salon, _) = two_stylists(&app, "any-home").await;
    let other = crate::scheduling::salon(&app, "any-away", 0).await;
    let luis = app.add_member(&salon.owner, "luis.c@example.com", &["customer"]).await;
    let mut own = any(&salon, "2026-03-04T09:00:00Z");
    own["input"].as_object_mut().unwrap().remove("customerId");
    assert!(app.ok(&luis, ANY, own).await["createBooking"]["provider"]["id"].is_string());
    let mut theirs = any(&salon, "2026-03-04T10:00:00Z");
    assert_eq!(app.error_code(&luis, ANY, theirs.clone()).await, "FORBIDDEN");
    theirs["input"]["customerId"] = json!(other.customer);
    assert_eq!(app.error_code(&other.owner, ANY, theirs.clone()).await, "NOT_FOUND");
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&reader, ANY, any(&salon, "2026-03-04T10:00:00Z")).await, "FORBIDDEN");
    let none = app.ok(&other.owner, "{ bookings { edges { node { id } } } }", json!({})).await;
    assert_eq!(none["bookings"]["edges"], json!([]));
}
