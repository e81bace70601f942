//! Resources booked with a person (issue 22, item 2): rooms, basins,
//! chairs are providers with a type and their own hours and exceptions; a
//! service needing a type holds one for all or part of its time;
//! availability offers a start only when the person and a resource are
//! both free; the database refuses two holds of one resource that overlap,
//! so twenty parallel requests for one room book it once, on both
//! databases; nobody outside the business sees or touches its rooms.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::live_rights::client_token;
use crate::scheduling::{Salon, pinned_app, salon};

const BOOK: &str = "mutation($input: CreateBookingInput!) { createBooking(input: $input) { id startsAt resources { id name resourceType } } }";
const FREE: &str = "query($s: ID!, $p: ID, $d: NaiveDate!) { availability(serviceId: $s, providerId: $p, from: $d, to: $d, first: 100) { startsAt } }";
const HOURS: &str =
    "mutation($p: ID!, $i: [WorkingIntervalInput!]!) { setWorkingHours(providerId: $p, intervals: $i) { id } }";
const ASSIGN: &str = "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id) { id status } }";

/// A provider (a person, or a resource of `kind`) working 09:00–18:00 on
/// weekdays, in Madrid.
async fn provider(app: &TestApp, owner: &Auth, name: &str, kind: Option<&str>) -> String {
    let made =
        "mutation($n: String!, $k: String) { createProvider(input: {name: $n, resourceType: $k}) { id resourceType } }";
    let made = app.ok(owner, made, json!({"n": name, "k": kind})).await["createProvider"].clone();
    assert_eq!(made["resourceType"].as_str(), kind.map(str::to_lowercase).as_deref(), "types are lowercased");
    let id = made["id"].as_str().unwrap().to_owned();
    let days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let intervals: Vec<Value> =
        days.iter().map(|d| json!({"weekday": d, "startTime": "09:00", "endTime": "18:00"})).collect();
    app.ok(owner, HOURS, json!({"p": id, "i": intervals})).await;
    id
}

/// A service of `minutes` needing `need`, offered by `by`.
async fn service(app: &TestApp, owner: &Auth, name: &str, minutes: i32, need: Value, by: &[&str]) -> String {
    let made = "mutation($n: String!, $m: Int!, $r: ResourceNeedInput) { createService(input: {name: $n, priceMinor: 6000, durationMinutes: $m, resourceNeed: $r}) { id resourceNeed { resourceType offsetMinutes minutes } } }";
    let made = app.ok(owner, made, json!({"n": name, "m": minutes, "r": need})).await["createService"].clone();
    let id = made["id"].as_str().unwrap().to_owned();
    for provider in by {
        app.ok(owner, ASSIGN, json!({"p": provider, "s": id})).await;
    }
    id
}

fn book(salon: &Salon, service: &str, provider: &str, at: &str) -> Value {
    json!({"input": {"serviceId": service, "providerId": provider, "customerId": salon.customer, "startsAt": at}})
}

async fn starts(app: &TestApp, auth: &Auth, service: &str, provider: &str, day: &str) -> Vec<String> {
    let found = app.ok(auth, FREE, json!({"s": service, "p": provider, "d": day})).await;
    found["availability"].as_array().unwrap().iter().map(|s| s["startsAt"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_massage_holds_a_room_and_is_offered_only_when_a_room_is_free() {
    let app = pinned_app().await;
    let salon = salon(&app, "spa-room", 0).await;
    let owner = &salon.owner;
    let luis = provider(&app, owner, "Luis", None).await;
    let room = provider(&app, owner, "Room 1", Some("Room")).await;
    let massage = service(&app, owner, "Massage", 60, json!({"resourceType": "room"}), &[&salon.provider, &luis]).await;

    let maria = app.ok(owner, BOOK, book(&salon, &massage, &salon.provider, "2026-03-04T09:00:00Z")).await;
    assert_eq!(maria["createBooking"]["resources"], json!([{"id": room, "name": "Room 1", "resourceType": "room"}]));
    // Luis is free at 10:00 (Madrid), the room is not.
    let his = starts(&app, owner, &massage, &luis, "2026-03-04").await;
    assert!(!his.contains(&"2026-03-04T09:00:00+00:00".to_owned()), "{his:?}");
    assert!(!his.contains(&"2026-03-04T08:15:00+00:00".to_owned()), "it would run into the held hour");
    assert!(his.contains(&"2026-03-04T10:00:00+00:00".to_owned()), "{his:?}");
    for at in ["2026-03-04T09:00:00Z", "2026-03-04T09:30:00Z"] {
        let (_, body) = app.post(owner, BOOK, book(&salon, &massage, &luis, at)).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("no room is free"), "{body}");
    }
    // A second room: Luis takes it.
    let second = provider(&app, owner, "Room 2", Some("room")).await;
    let his = app.ok(owner, BOOK, book(&salon, &massage, &luis, "2026-03-04T09:00:00Z")).await;
    assert_eq!(his["createBooking"]["resources"][0]["id"], second);
    // Cancelled, Maria's booking lets the room go.
    app.ok(owner, CANCEL, json!({"id": maria["createBooking"]["id"]})).await;
    let again = app.ok(owner, BOOK, book(&salon, &massage, &salon.provider, "2026-03-04T09:00:00Z")).await;
    assert_eq!(again["createBooking"]["resources"][0]["id"], room);

    // Both rooms closed on Thursday: no massage that day, whoever is free.
    let closed = "mutation($p: ID!) { addScheduleException(input: {providerId: $p, date: \"2026-03-05\", kind: CLOSED}) { id } }";
    for id in [&room, &second] {
        app.ok(owner, closed, json!({"p": id})).await;
    }
    assert_eq!(starts(&app, owner, &massage, &luis, "2026-03-05").await, Vec::<String>::new());
    let code = app.error_code(owner, BOOK, book(&salon, &massage, &luis, "2026-03-05T09:00:00Z")).await;
    assert_eq!(code, "CONFLICT");

    // Rooms are listed apart from people, take no service and no booking of their own.
    let people = app.ok(owner, "{ providers { edges { node { id } } } }", json!({})).await;
    assert_eq!(people["providers"]["edges"].as_array().unwrap().len(), 2);
    let rooms = app.ok(owner, "{ providers(resources: true) { edges { node { name } } } }", json!({})).await;
    assert_eq!(rooms["providers"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(app.error_code(owner, ASSIGN, json!({"p": room, "s": massage})).await, "BAD_USER_INPUT");
    let code = app.error_code(owner, BOOK, book(&salon, &massage, &room, "2026-03-06T09:00:00Z")).await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_colour_needs_a_basin_for_its_first_half_hour_only() {
    let app = pinned_app().await;
    let salon = salon(&app, "spa-basin", 0).await;
    let owner = &salon.owner;
    let luis = provider(&app, owner, "Luis", None).await;
    provider(&app, owner, "Basin", Some("basin")).await;
    let need = json!({"resourceType": "basin", "minutes": 30});
    let colour = service(&app, owner, "Full Color", 90, need, &[&salon.provider, &luis]).await;
    let maria = app.ok(owner, BOOK, book(&salon, &colour, &salon.provider, "2026-03-04T09:00:00Z")).await;
    let code = app.error_code(owner, BOOK, book(&salon, &colour, &luis, "2026-03-04T09:15:00Z")).await;
    assert_eq!(code, "CONFLICT", "the basin is held until 10:30");
    app.ok(owner, BOOK, book(&salon, &colour, &luis, "2026-03-04T09:30:00Z")).await;
    // Moved, Maria's colour takes the basin at its new time and frees the old.
    let moved =
        "mutation($id: ID!, $at: DateTime!) { rescheduleBooking(id: $id, startsAt: $at) { id resources { name } } }";
    let id = maria["createBooking"]["id"].clone();
    let moved = app.ok(owner, moved, json!({"id": id, "at": "2026-03-04T13:00:00Z"})).await;
    assert_eq!(moved["rescheduleBooking"]["resources"][0]["name"], "Basin");
    let mut early = book(&salon, &colour, &luis, "2026-03-04T08:00:00Z");
    early["input"]["notes"] = json!("the 09:00 basin is free again");
    app.ok(owner, BOOK, early).await;
    // A need that does not fit the service is refused.
    let bad = json!({"resourceType": "basin", "offsetMinutes": 80, "minutes": 30});
    let made = "mutation($r: ResourceNeedInput) { createService(input: {name: \"Odd\", priceMinor: 100, durationMinutes: 90, resourceNeed: $r}) { id } }";
    assert_eq!(app.error_code(owner, made, json!({"r": bad})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn twenty_parallel_requests_for_one_room_book_it_once() {
    let app = pinned_app().await;
    let salon = salon(&app, "spa-rush", 0).await;
    let owner = &salon.owner;
    let mut therapists = vec![salon.provider.clone()];
    for name in ["Luis", "Nora", "Omar"] {
        therapists.push(provider(&app, owner, name, None).await);
    }
    provider(&app, owner, "Room 1", Some("room")).await;
    let by: Vec<&str> = therapists.iter().map(String::as_str).collect();
    let massage = service(&app, owner, "Massage", 60, json!({"resourceType": "room"}), &by).await;
    let rush = |at: &'static str| {
        let requests = (0..20).map(|i| app.post(owner, BOOK, book(&salon, &massage, &therapists[i % 4], at)));
        futures_util::future::join_all(requests)
    };
    let booked = |answers: &[(u16, Value)]| -> Vec<String> {
        for (_, body) in answers.iter().filter(|(_, b)| b.get("errors").is_some()) {
            assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
        }
        answers
            .iter()
            .filter_map(|(_, b)| b["data"]["createBooking"]["resources"][0]["id"].as_str().map(str::to_owned))
            .collect()
    };
    let one = booked(&rush("2026-03-04T09:00:00Z").await);
    assert_eq!(one.len(), 1, "one room, one booking");
    provider(&app, owner, "Room 2", Some("room")).await;
    let mut two = booked(&rush("2026-03-04T14:00:00Z").await);
    two.sort();
    two.dedup();
    assert_eq!(two.len(), 2, "two rooms, two bookings, each in its own room");
    let holds = app.rows("SELECT resource_id FROM booking_resources WHERE active").await;
    assert_eq!(holds.len(), 3);
}

#[tokio::test]
async fn a_business_s_rooms_are_its_own() {
    let app = pinned_app().await;
    let salon = salon(&app, "spa-home", 0).await;
    let other = crate::scheduling::salon(&app, "spa-away", 0).await;
    let owner = &salon.owner;
    let room = provider(&app, owner, "Room 1", Some("room")).await;
    let massage = service(&app, owner, "Massage", 60, json!({"resourceType": "room"}), &[&salon.provider]).await;
    let booked = app.ok(owner, BOOK, book(&salon, &massage, &salon.provider, "2026-03-04T09:00:00Z")).await;

    let rooms = "{ providers(resources: true) { edges { node { id } } } }";
    assert_eq!(app.ok(&other.owner, rooms, json!({})).await["providers"]["edges"], json!([]));
    let one = "query($id: ID!) { provider(id: $id) { id } }";
    assert_eq!(app.ok(&other.owner, one, json!({"id": room})).await["provider"], Value::Null);
    let intervals = json!([{"weekday": "MONDAY", "startTime": "09:00", "endTime": "10:00"}]);
    assert_eq!(app.error_code(&other.owner, HOURS, json!({"p": room, "i": intervals})).await, "NOT_FOUND");
    // Another business's service cannot borrow this one's rooms.
    let theirs = service(&app, &other.owner, "Massage", 60, json!({"resourceType": "room"}), &[&other.provider]).await;
    let code = app.error_code(&other.owner, BOOK, book(&other, &theirs, &other.provider, "2026-03-04T09:00:00Z")).await;
    assert_eq!(code, "CONFLICT", "it has no room of its own");

    // Customers and staff book with a room; only managers make rooms.
    let make = "mutation { createProvider(input: {name: \"Room 9\", resourceType: \"room\"}) { id } }";
    let customer = app.add_member(owner, "client@spa.test", &["customer"]).await;
    let staff = app.add_member(owner, "desk@spa.test", &["staff"]).await;
    for who in [&customer, &staff] {
        assert_eq!(app.error_code(who, make, json!({})).await, "FORBIDDEN");
    }
    assert_eq!(app.error_code(&staff, HOURS, json!({"p": room, "i": intervals})).await, "FORBIDDEN");
    let mut own = book(&salon, &massage, &salon.provider, "2026-03-04T10:00:00Z");
    own["input"].as_object_mut().unwrap().remove("customerId");
    let mine = app.ok(&customer, BOOK, own).await;
    assert_eq!(mine["createBooking"]["resources"][0]["id"], room);
    let seen = "query($id: ID!) { booking(id: $id) { resources { id } } }";
    let theirs = app.ok(&customer, seen, json!({"id": booked["createBooking"]["id"]})).await;
    assert_eq!(theirs["booking"], Value::Null, "another customer's booking");
    let partner = client_token(&app, owner, &["booking:create", "booking:read", "provider:read"]).await;
    let made = app.ok(&partner, BOOK, book(&salon, &massage, &salon.provider, "2026-03-04T11:00:00Z")).await;
    assert_eq!(made["createBooking"]["resources"][0]["id"], room);
    let reader = client_token(&app, owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&reader, make, json!({})).await, "FORBIDDEN");
}
