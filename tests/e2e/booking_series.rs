//! Recurring appointments end to end (issue 22, item 4): a series is
//! booked in one request, each occurrence an ordinary booking in the
//! business's local time (across daylight-saving changes), with a report of
//! the occurrences whose time was taken; one, this and the following, or
//! all of them are then cancelled or moved; two series asked at once for
//! the same times never share one; another business, another customer,
//! staff and a partner client reach only what is theirs.

use serde_json::{Value, json};
use tessera_e2e::TestApp;

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const SERIES: &str = "mutation($input: CreateBookingSeriesInput!) { createBookingSeries(input: $input) { series { id rule firstDate startTime customerId } booked { id startsAt status seriesId } conflicts { startsAt reason } } }";
const CANCEL: &str =
    "mutation($b: ID!, $s: SeriesScope!) { cancelBookingSeries(bookingId: $b, scope: $s) { id status } }";
const MOVE: &str = "mutation($b: ID!, $s: SeriesScope!, $at: DateTime!) { rescheduleBookingSeries(bookingId: $b, scope: $s, startsAt: $at) { moved { id startsAt } conflicts { startsAt reason } } }";
const OCCURRENCES: &str =
    "query($s: ID!) { bookings(filter: {seriesId: $s}) { edges { node { id startsAt status } } } }";

/// Wednesdays at 10:00 in Madrid from 4 March, `count` of them, for Ana.
fn weekly(salon: &Salon, count: i32) -> Value {
    json!({"input": {"serviceId": salon.service, "providerId": salon.provider, "customerId": salon.customer, "startsAt": "2026-03-04T09:00:00Z", "count": count}})
}

fn starts(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|b| b["startsAt"].as_str().unwrap()).collect()
}

async fn occurrences(app: &TestApp, salon: &Salon, series: &Value) -> Vec<(String, String)> {
    let data = app.ok(&salon.owner, OCCURRENCES, json!({"s": series})).await;
    let edges = data["bookings"]["edges"].as_array().unwrap().clone();
    edges
        .iter()
        .map(|e| (e["node"]["startsAt"].as_str().unwrap().to_owned(), e["node"]["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_series_books_each_week_in_local_time_and_reports_what_was_taken() {
    let app = pinned_app().await;
    let salon = salon(&app, "series-weekly", 0).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-18T09:00:00Z")).await;

    let made = app.ok(&salon.owner, SERIES, weekly(&salon, 6)).await["createBookingSeries"].clone();
    assert_eq!(made["series"]["rule"], "FREQ=WEEKLY;COUNT=6;BYHOUR=10;BYMINUTE=0;BYSECOND=0;BYDAY=WE", "{made}");
    assert_eq!(
        (made["series"]["startTime"].clone(), made["series"]["customerId"].clone()),
        (json!("10:00"), json!(salon.customer))
    );
    // 10:00 in Madrid: 09:00 UTC in winter, 08:00 from 29 March.
    assert_eq!(
        starts(&made["booked"]),
        [
            "2026-03-04T09:00:00+00:00",
            "2026-03-11T09:00:00+00:00",
            "2026-03-25T09:00:00+00:00",
            "2026-04-01T08:00:00+00:00",
            "2026-04-08T08:00:00+00:00",
        ]
    );
    assert!(made["booked"].as_array().unwrap().iter().all(|b| b["seriesId"] == made["series"]["id"]));
    assert_eq!(starts(&made["conflicts"]), ["2026-03-18T09:00:00+00:00"]);
    assert!(made["conflicts"][0]["reason"].as_str().unwrap().contains("already booked"), "{made}");

    // Every other week on Mondays and Thursdays until a date.
    let mut input = weekly(&salon, 0);
    input["input"]["count"] = Value::Null;
    input["input"]["startsAt"] = json!("2026-03-02T10:00:00Z");
    input["input"]["weekdays"] = json!(["MONDAY", "THURSDAY"]);
    input["input"]["everyWeeks"] = json!(2);
    input["input"]["lastDate"] = json!("2026-03-19");
    let other = app.ok(&salon.owner, SERIES, input).await["createBookingSeries"].clone();
    assert_eq!(
        starts(&other["booked"]),
        [
            "2026-03-02T10:00:00+00:00",
            "2026-03-05T10:00:00+00:00",
            "2026-03-16T10:00:00+00:00",
            "2026-03-19T10:00:00+00:00"
        ]
    );

    // A series ends, and is bounded.
    let mut open = weekly(&salon, 0);
    open["input"]["count"] = Value::Null;
    assert_eq!(app.error_code(&salon.owner, SERIES, open).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(&salon.owner, SERIES, weekly(&salon, 53)).await, "BAD_USER_INPUT");
    // Each occurrence is an ordinary booking: audited, told, announced.
    let audit = app.rows("SELECT action FROM audit_records WHERE action = 'booking_series.created'").await;
    assert_eq!(audit.len(), 2);
    let events = app.rows("SELECT payload FROM outbox WHERE kind = 'booking.created'").await;
    let with_series = events
        .iter()
        .filter(|e| e.try_get::<String>("", "payload").unwrap().contains(made["series"]["id"].as_str().unwrap()))
        .count();
    assert_eq!(with_series, 5);
}

#[tokio::test]
async fn one_this_and_following_or_all_occurrences_are_cancelled_or_moved() {
    let app = pinned_app().await;
    let salon = salon(&app, "series-scopes", 0).await;
    let made = app.ok(&salon.owner, SERIES, weekly(&salon, 5)).await["createBookingSeries"].clone();
    let series = made["series"]["id"].clone();
    let ids: Vec<Value> = made["booked"].as_array().unwrap().iter().map(|b| b["id"].clone()).collect();

    // One.
    let one = app.ok(&salon.owner, CANCEL, json!({"b": ids[1], "s": "THIS"})).await["cancelBookingSeries"].clone();
    assert_eq!(one.as_array().unwrap().len(), 1);
    // Move the third and following an hour later, where the fifth's new hour is taken.
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-04-01T09:00:00Z")).await;
    let moved =
        app.ok(&salon.owner, MOVE, json!({"b": ids[2], "s": "THIS_AND_FOLLOWING", "at": "2026-03-18T10:00:00Z"})).await;
    let moved = &moved["rescheduleBookingSeries"];
    assert_eq!(starts(&moved["moved"]), ["2026-03-18T10:00:00+00:00", "2026-03-25T10:00:00+00:00"]);
    assert_eq!(starts(&moved["conflicts"]), ["2026-04-01T09:00:00+00:00"], "11:00 in Madrid after the change");
    // Then all that are left, one day later at the same local times.
    let all = app.ok(&salon.owner, MOVE, json!({"b": ids[0], "s": "ALL", "at": "2026-03-05T09:00:00Z"})).await;
    assert_eq!(
        starts(&all["rescheduleBookingSeries"]["moved"]),
        [
            "2026-03-05T09:00:00+00:00",
            "2026-03-19T09:00:00+00:00",
            "2026-03-26T09:00:00+00:00",
            "2026-04-02T08:00:00+00:00"
        ]
    );
    // A booking outside a series is refused; cancel the rest.
    let single =
        app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-06T09:00:00Z")).await["createBooking"]["id"].clone();
    assert_eq!(app.error_code(&salon.owner, CANCEL, json!({"b": single, "s": "ALL"})).await, "BAD_USER_INPUT");
    let rest = app.ok(&salon.owner, CANCEL, json!({"b": ids[3], "s": "ALL"})).await["cancelBookingSeries"].clone();
    assert_eq!(rest.as_array().unwrap().len(), 4);
    let left = occurrences(&app, &salon, &series).await;
    assert!(left.iter().all(|(_, status)| status == "CANCELLED"), "{left:?}");
    let closed =
        app.ok(&salon.owner, "query($id: ID!) { bookingSeries(id: $id) { cancelledAt } }", json!({"id": series})).await;
    assert!(closed["bookingSeries"]["cancelledAt"].is_string());
}

#[tokio::test]
async fn two_series_asked_at_once_for_the_same_times_never_share_one() {
    let app = pinned_app().await;
    let salon = salon(&app, "series-race", 0).await;
    let (a, b) = tokio::join!(
        app.post(&salon.owner, SERIES, weekly(&salon, 4)),
        app.post(&salon.owner, SERIES, weekly(&salon, 4)),
    );
    let booked = |body: &Value| body["data"]["createBookingSeries"]["booked"].as_array().unwrap().len();
    let conflicted = |body: &Value| body["data"]["createBookingSeries"]["conflicts"].as_array().unwrap().len();
    assert_eq!(booked(&a.1) + booked(&b.1), 4, "{a:?} {b:?}");
    assert_eq!(conflicted(&a.1) + conflicted(&b.1), 4, "{a:?} {b:?}");
}

#[tokio::test]
async fn another_business_a_customer_staff_and_a_partner_reach_only_their_own() {
    let app = pinned_app().await;
    let salon = salon(&app, "series-home", 0).await;
    let other = crate::scheduling::salon(&app, "series-away", 0).await;
    let made = app.ok(&salon.owner, SERIES, weekly(&salon, 3)).await["createBookingSeries"].clone();
    let (series, first) = (made["series"]["id"].clone(), made["booked"][0]["id"].clone());
    let read = "query($id: ID!) { bookingSeries(id: $id) { id } }";

    assert!(app.ok(&other.owner, read, json!({"id": series})).await["bookingSeries"].is_null());
    assert_eq!(app.error_code(&other.owner, CANCEL, json!({"b": first, "s": "ALL"})).await, "NOT_FOUND");
    let moving = json!({"b": first, "s": "ALL", "at": "2026-03-05T09:00:00Z"});
    assert_eq!(app.error_code(&other.owner, MOVE, moving.clone()).await, "NOT_FOUND");
    let mut theirs = weekly(&salon, 2);
    theirs["input"]["providerId"] = json!(salon.provider);
    assert_eq!(app.error_code(&other.owner, SERIES, theirs.clone()).await, "NOT_FOUND");

    // A customer books their own series and changes it; another's is not theirs.
    let luis = app.add_member(&salon.owner, "luis@example.com", &["customer"]).await;
    let mut own = weekly(&salon, 2);
    own["input"]["customerId"] = Value::Null;
    own["input"]["startsAt"] = json!("2026-03-05T09:00:00Z");
    let mine = app.ok(&luis, SERIES, own).await["createBookingSeries"].clone();
    assert_eq!(mine["booked"].as_array().unwrap().len(), 2);
    assert!(app.ok(&luis, read, json!({"id": series})).await["bookingSeries"].is_null());
    assert_eq!(app.error_code(&luis, CANCEL, json!({"b": first, "s": "ALL"})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&luis, SERIES, theirs.clone()).await, "FORBIDDEN");
    let cancelled = app.ok(&luis, CANCEL, json!({"b": mine["booked"][0]["id"], "s": "ALL"})).await;
    assert_eq!(cancelled["cancelBookingSeries"].as_array().unwrap().len(), 2);

    // Staff book series for customers but change none; a partner client with read scope neither.
    let desk = app.add_member(&salon.owner, "desk@example.com", &["staff"]).await;
    let mut staffs = weekly(&salon, 1);
    staffs["input"]["startsAt"] = json!("2026-03-06T09:00:00Z");
    assert_eq!(app.ok(&desk, SERIES, staffs).await["createBookingSeries"]["booked"].as_array().unwrap().len(), 1);
    assert_eq!(app.error_code(&desk, CANCEL, json!({"b": first, "s": "ALL"})).await, "FORBIDDEN");
    let partner = client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.ok(&partner, read, json!({"id": series})).await["bookingSeries"]["id"], series);
    assert_eq!(app.error_code(&partner, SERIES, theirs).await, "FORBIDDEN");
    assert_eq!(app.error_code(&partner, MOVE, moving).await, "FORBIDDEN");
    let left = occurrences(&app, &salon, &series).await;
    assert!(left.iter().all(|(_, status)| status == "SCHEDULED" || status == "CONFIRMED"), "{left:?}");
}

#[tokio::test]
async fn a_repeated_key_answers_the_series_made_first_even_at_once() {
    let app = pinned_app().await;
    let salon = salon(&app, "series-keyed", 0).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-11T09:00:00Z")).await;
    let mut keyed = weekly(&salon, 3);
    keyed["input"]["idempotencyKey"] = json!("series-51f0");
    let first = app.ok(&salon.owner, SERIES, keyed.clone()).await["createBookingSeries"].clone();
    assert_eq!(starts(&first["booked"]).len(), 2);
    // Repeats, two at once: the same series, its bookings and what was taken.
    let repeats = futures_util::future::join_all((0..2).map(|_| app.post(&salon.owner, SERIES, keyed.clone()))).await;
    for (_, body) in &repeats {
        let made = &body["data"]["createBookingSeries"];
        assert_eq!(made["series"]["id"], first["series"]["id"], "{body}");
        assert_eq!(starts(&made["booked"]), starts(&first["booked"]));
        assert_eq!(starts(&made["conflicts"]), ["2026-03-11T09:00:00+00:00"]);
    }
    assert_eq!(occurrences(&app, &salon, &first["series"]["id"]).await.len(), 2);
    // New requests racing with one key make one series between them.
    let mut racing = weekly(&salon, 2);
    racing["input"]["startsAt"] = json!("2026-03-05T09:00:00Z");
    racing["input"]["idempotencyKey"] = json!("series-race-9a");
    let raced = futures_util::future::join_all((0..3).map(|_| app.post(&salon.owner, SERIES, racing.clone()))).await;
    let ids: Vec<&Value> = raced.iter().map(|(_, b)| &b["data"]["createBookingSeries"]["series"]["id"]).collect();
    assert!(ids.iter().all(|id| id.is_string() && *id == ids[0]), "{raced:?}");
    assert_eq!(app.rows("SELECT id FROM booking_series").await.len(), 2);
    // The same key for another request is refused.
    keyed["input"]["count"] = json!(4);
    assert_eq!(app.error_code(&salon.owner, SERIES, keyed).await, "CONFLICT");
}
