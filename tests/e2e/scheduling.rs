//! Scheduling end to end: the catalogue, availability, bookings that never overlap,
//! the status machine, cancellation, reviews, idempotency, isolation and live events.
//!
//! The clock stands at Monday 2 March 2026, 08:00 UTC, so every expected slot is
//! exact. The salon is in Madrid (UTC+1 in winter, UTC+2 from 29 March).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, WsEvent};

pub(crate) const NOW: &str = "2026-03-02T08:00:00Z";

pub(crate) fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

/// A salon with one provider (Mon–Fri 09–13 and 14–18), one service and add-on, one
/// customer.
pub(crate) struct Salon {
    pub(crate) owner: Auth,
    pub(crate) provider: String,
    pub(crate) service: String,
    pub(crate) addon: String,
    pub(crate) customer: String,
}

pub(crate) async fn salon(app: &TestApp, slug: &str, buffer_after: i32) -> Salon {
    let (owner, _) = app.owner_of(slug).await;
    let provider = app
        .ok(&owner, "mutation { createProvider(input: {name: \"Maria\", title: \"Senior Stylist\", phone: \"+34600111222\"}) { id } }", json!({}))
        .await["createProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let intervals: Vec<Value> = weekdays
        .iter()
        .flat_map(|d| {
            [
                json!({"weekday": d, "startTime": "09:00", "endTime": "13:00"}),
                json!({"weekday": d, "startTime": "14:00", "endTime": "18:00"}),
            ]
        })
        .collect();
    app.ok(
        &owner,
        "mutation($p: ID!, $i: [WorkingIntervalInput!]!) { setWorkingHours(providerId: $p, intervals: $i) { workingHours { weekday } } }",
        json!({"p": provider, "i": intervals}),
    )
    .await;
    let service = app
        .ok(
            &owner,
            "mutation($b: Int!) { createService(input: {name: \"Women's Haircut\", priceMinor: 7500, durationMinutes: 60, bufferAfterMinutes: $b}) { id price { currency } } }",
            json!({"b": buffer_after}),
        )
        .await["createService"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let addon = app
        .ok(
            &owner,
            "mutation($s: ID!) { createAddon(serviceId: $s, input: {name: \"Olaplex Treatment\", priceMinor: 4000, durationMinutes: 20}) { id } }",
            json!({"s": service}),
        )
        .await["createAddon"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &owner,
        "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }",
        json!({"p": provider, "s": service}),
    )
    .await;
    let customer = app
        .ok(&owner, "mutation { createCustomer(input: {name: \"Ana López\", email: \"ana@example.com\", phone: \"+34611222333\"}) { id } }", json!({}))
        .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Salon { owner, provider, service, addon, customer }
}

pub(crate) async fn pinned_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.clock.set(utc(NOW));
    app
}

const AVAILABILITY: &str = "query($s: ID!, $p: ID, $a: [ID!], $from: NaiveDate!, $to: NaiveDate!, $first: Int) { availability(serviceId: $s, providerId: $p, addonIds: $a, from: $from, to: $to, first: $first) { startsAt endsAt providerId } }";
pub(crate) const BOOK: &str = "mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status startsAt endsAt durationMinutes serviceName price { amountMinor currency } addons { name priceMinor durationMinutes } } }";

async fn starts(app: &TestApp, salon: &Salon, from: &str, to: &str) -> Vec<String> {
    let data = app.ok(&salon.owner, AVAILABILITY, json!({"s": salon.service, "from": from, "to": to})).await;
    data["availability"].as_array().unwrap().iter().map(|s| s["startsAt"].as_str().unwrap().to_owned()).collect()
}

pub(crate) fn booking_input(salon: &Salon, starts_at: &str) -> Value {
    json!({"input": {"serviceId": salon.service, "providerId": salon.provider, "customerId": salon.customer, "startsAt": starts_at}})
}

#[tokio::test]
async fn availability_follows_split_shifts_exceptions_buffers_and_bookings() {
    let app = pinned_app().await;
    let salon = salon(&app, "split-shift", 15).await;
    // Wednesday 4 March: 60 min + 15 min clean-up, every 15 min, 09–13 and 14–18.
    let wednesday = starts(&app, &salon, "2026-03-04", "2026-03-04").await;
    assert_eq!(wednesday.len(), 24, "{wednesday:?}");
    assert_eq!(wednesday.first().map(String::as_str), Some("2026-03-04T08:00:00+00:00"), "09:00 in Madrid");
    assert_eq!(
        wednesday.last().map(String::as_str),
        Some("2026-03-04T15:45:00+00:00"),
        "16:45 ends with clean-up at 18:00"
    );

    // Weekends are closed; a holiday closes Thursday; time off closes Wednesday 10–12.
    assert!(starts(&app, &salon, "2026-03-07", "2026-03-08").await.is_empty());
    let exception = "mutation($input: ScheduleExceptionInput!) { addScheduleException(input: $input) { id kind startTime endTime } }";
    app.ok(&salon.owner, exception, json!({"input": {"date": "2026-03-05", "kind": "CLOSED", "reason": "Holiday"}}))
        .await;
    app.ok(&salon.owner, exception, json!({"input": {"providerId": salon.provider, "date": "2026-03-04", "kind": "CLOSED", "startTime": "10:00", "endTime": "12:00"}})).await;
    assert!(starts(&app, &salon, "2026-03-05", "2026-03-05").await.is_empty());
    let wednesday = starts(&app, &salon, "2026-03-04", "2026-03-04").await;
    assert!(
        !wednesday.iter().any(|s| s.as_str() > "2026-03-04T08:00:00+00:00" && s.as_str() < "2026-03-04T11:00:00+00:00"),
        "{wednesday:?}"
    );
    // Special opening hours on Saturday.
    app.ok(
        &salon.owner,
        exception,
        json!({"input": {"date": "2026-03-07", "kind": "OPEN", "startTime": "10:00", "endTime": "12:00"}}),
    )
    .await;
    assert_eq!(starts(&app, &salon, "2026-03-07", "2026-03-07").await.len(), 4, "10:00, 10:15, 10:30, 10:45");

    // A booking at 14:00 with its clean-up takes 14:00–15:15 away.
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T13:00:00Z")).await;
    let wednesday = starts(&app, &salon, "2026-03-04", "2026-03-04").await;
    assert!(!wednesday.contains(&"2026-03-04T13:00:00+00:00".to_owned()));
    assert!(
        !wednesday.contains(&"2026-03-04T12:00:00+00:00".to_owned()),
        "13:00 local would overlap… it is outside hours anyway"
    );
    assert!(!wednesday.contains(&"2026-03-04T14:00:00+00:00".to_owned()), "15:00 overlaps the clean-up");
    assert!(wednesday.contains(&"2026-03-04T14:15:00+00:00".to_owned()), "15:15 is free again");
}

#[tokio::test]
async fn availability_keeps_local_hours_across_the_daylight_saving_change() {
    let app = pinned_app().await;
    let salon = salon(&app, "dst-salon", 0).await;
    let friday = starts(&app, &salon, "2026-03-27", "2026-03-27").await;
    let monday = starts(&app, &salon, "2026-03-30", "2026-03-30").await;
    assert_eq!(friday.first().map(String::as_str), Some("2026-03-27T08:00:00+00:00"), "09:00 CET");
    assert_eq!(monday.first().map(String::as_str), Some("2026-03-30T07:00:00+00:00"), "09:00 CEST");
    assert_eq!(friday.len(), monday.len());
}

#[tokio::test]
async fn the_minimum_notice_and_horizon_bound_what_is_offered_and_booked() {
    let app = pinned_app().await;
    let salon = salon(&app, "notice", 0).await;
    // 08:00Z is 09:00 in Madrid; the default notice is 60 minutes.
    let today = starts(&app, &salon, "2026-03-02", "2026-03-02").await;
    assert_eq!(today.first().map(String::as_str), Some("2026-03-02T09:00:00+00:00"));
    let code = app.error_code(&salon.owner, BOOK, booking_input(&salon, "2026-03-02T08:15:00Z")).await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (_, body) = app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-01T09:00:00Z")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "startsAt");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("past"));
    let code = app.error_code(&salon.owner, BOOK, booking_input(&salon, "2026-09-01T08:00:00Z")).await;
    assert_eq!(code, "BAD_USER_INPUT", "beyond the 90-day horizon");
    let (_, body) = app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T20:00:00Z")).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("does not work then"), "{body}");
}

#[tokio::test]
async fn twenty_concurrent_bookings_of_one_slot_make_exactly_one() {
    let app = pinned_app().await;
    let salon = salon(&app, "rush-hour", 0).await;
    let attempts = (0..20).map(|_| app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")));
    let answers = futures_util::future::join_all(attempts).await;
    let booked = answers.iter().filter(|(_, body)| body["data"]["createBooking"]["id"].is_string()).count();
    let conflicts: Vec<_> =
        answers.iter().filter(|(_, body)| body["errors"][0]["extensions"]["code"] == "CONFLICT").collect();
    assert_eq!(booked, 1, "{answers:?}");
    assert_eq!(conflicts.len(), 19, "{answers:?}");
    let message = conflicts[0].1["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("already booked") && !message.contains("exclusion") && !message.contains("trigger"),
        "{message}"
    );

    // Back-to-back neighbours both fit.
    let (before, after) = tokio::join!(
        app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T08:00:00Z")),
        app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T10:00:00Z")),
    );
    assert!(before.1["data"]["createBooking"]["id"].is_string(), "{before:?}");
    assert!(after.1["data"]["createBooking"]["id"].is_string(), "{after:?}");

    // Moving one into a taken slot is refused the same way.
    let moved = after.1["data"]["createBooking"]["id"].as_str().unwrap();
    let code = app
        .error_code(
            &salon.owner,
            "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-04T09:30:00Z\") { id } }",
            json!({"id": moved}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
}

#[tokio::test]
async fn price_and_duration_are_computed_by_the_server_and_kept_as_booked() {
    let app = pinned_app().await;
    let salon = salon(&app, "snapshot", 0).await;
    let mut input = booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["addonIds"] = json!([salon.addon]);
    let booked = app.ok(&salon.owner, BOOK, input).await["createBooking"].clone();
    assert_eq!(booked["durationMinutes"], 80);
    assert_eq!(booked["endsAt"], "2026-03-04T10:20:00+00:00");
    assert_eq!(booked["price"], json!({"amountMinor": 11500, "currency": "USD"}));
    assert_eq!(booked["addons"], json!([{"name": "Olaplex Treatment", "priceMinor": 4000, "durationMinutes": 20}]));

    app.ok(
        &salon.owner,
        "mutation($id: ID!) { updateService(id: $id, input: {name: \"Cut\", priceMinor: 9900, durationMinutes: 45}) { id } }",
        json!({"id": salon.service}),
    )
    .await;
    app.ok(&salon.owner, "mutation($id: ID!) { updateAddon(id: $id, input: {name: \"Olaplex\", priceMinor: 1, durationMinutes: 5}) { id } }", json!({"id": salon.addon})).await;
    let data = app.ok(&salon.owner, "query($id: ID!) { booking(id: $id) { serviceName price { amountMinor } durationMinutes addons { name priceMinor } service { name } } }", json!({"id": booked["id"]})).await;
    assert_eq!(data["booking"]["serviceName"], "Women's Haircut");
    assert_eq!(data["booking"]["price"]["amountMinor"], 11500);
    assert_eq!(data["booking"]["durationMinutes"], 80);
    assert_eq!(data["booking"]["addons"][0], json!({"name": "Olaplex Treatment", "priceMinor": 4000}));
    assert_eq!(data["booking"]["service"]["name"], "Cut", "the service itself is current");
}

#[tokio::test]
async fn a_booking_moves_through_its_states_and_is_reviewed_once() {
    let app = pinned_app().await;
    let salon = salon(&app, "states", 0).await;
    let id =
        app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await["createBooking"]["id"].clone();
    // Ten minutes before the appointment (it may start from half an hour before).
    app.clock.set(utc("2026-03-04T08:50:00Z"));
    let owner = &app.login("owner@states.test").await.in_tenant("states");
    let step = |mutation: &'static str| {
        let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ status }} }}");
        let (app, id) = (&app, id.clone());
        async move { app.post(owner, &query, json!({"id": id})).await }
    };
    let (_, body) = step("completeBooking").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "a booking must start first: {body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("SCHEDULED booking cannot become COMPLETED"));
    for (mutation, status) in
        [("confirmBooking", "CONFIRMED"), ("startBooking", "IN_PROGRESS"), ("completeBooking", "COMPLETED")]
    {
        let (_, body) = step(mutation).await;
        assert_eq!(body["data"][mutation]["status"], status, "{body}");
    }
    let (_, body) = step("cancelBooking").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "a completed booking cannot be cancelled");

    let review = "mutation($id: ID!, $r: Int!) { reviewBooking(id: $id, rating: $r, comment: \"Lovely\") { review { rating comment } provider { averageRating reviewCount } } }";
    let data = app.ok(owner, review, json!({"id": id, "r": 4})).await;
    assert_eq!(data["reviewBooking"]["review"], json!({"rating": 4, "comment": "Lovely"}));
    assert_eq!(data["reviewBooking"]["provider"], json!({"averageRating": 4.0, "reviewCount": 1}));
    assert_eq!(app.error_code(owner, review, json!({"id": id, "r": 5})).await, "CONFLICT");
    assert_eq!(app.error_code(owner, review, json!({"id": id, "r": 6})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn cancellation_records_who_when_why_and_refunds_nothing_that_was_not_paid_here() {
    let app = pinned_app().await;
    let salon = salon(&app, "refunds", 0).await;
    let cancel = "mutation($id: ID!) { cancelBooking(id: $id, reason: \"Sick\") { status cancellation { cancelledAt reason refund { amountMinor } cancelledBy { email } } } }";
    // Whatever the notice, nothing was paid through the business's payment
    // account, so nothing is promised back (the policy's tiers are in
    // `booking_payments.rs`, with payments).
    for (start, advance_hours, refund) in
        [("2026-03-04T09:00:00Z", 0, 0), ("2026-03-04T10:00:00Z", 43, 0), ("2026-03-04T08:00:00Z", 3, 0)]
    {
        // Sessions expire as the clock moves on; sign in afresh each time.
        let owner = app.login("owner@refunds.test").await.in_tenant("refunds");
        let id = app.ok(&owner, BOOK, booking_input(&salon, start)).await["createBooking"]["id"].clone();
        app.clock.advance(Duration::hours(advance_hours));
        let owner = app.login("owner@refunds.test").await.in_tenant("refunds");
        let data = app.ok(&owner, cancel, json!({"id": id})).await;
        let cancellation = &data["cancelBooking"]["cancellation"];
        assert_eq!(data["cancelBooking"]["status"], "CANCELLED");
        assert_eq!(cancellation["refund"]["amountMinor"], refund, "{start}: {data}");
        assert_eq!(cancellation["reason"], "Sick");
        assert_eq!(cancellation["cancelledBy"]["email"], "owner@refunds.test");
    }
}

#[tokio::test]
async fn an_idempotency_key_books_once_even_when_sent_concurrently() {
    let app = pinned_app().await;
    let salon = salon(&app, "retries", 0).await;
    let mut input = booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["idempotencyKey"] = json!("booking-7f3a");
    let attempts = (0..6).map(|_| app.post(&salon.owner, BOOK, input.clone()));
    let answers = futures_util::future::join_all(attempts).await;
    let ids: Vec<_> = answers.iter().map(|(_, body)| body["data"]["createBooking"]["id"].clone()).collect();
    assert!(ids.iter().all(|id| id.is_string() && *id == ids[0]), "one booking, the same answer: {answers:?}");
    let data = app.ok(&salon.owner, "{ bookings { edges { node { id } } } }", json!({})).await;
    assert_eq!(data["bookings"]["edges"].as_array().unwrap().len(), 1);

    let mut different = booking_input(&salon, "2026-03-04T11:00:00Z");
    different["input"]["idempotencyKey"] = json!("booking-7f3a");
    assert_eq!(app.error_code(&salon.owner, BOOK, different).await, "CONFLICT");
}

#[tokio::test]
async fn bookings_are_listed_by_start_with_filters() {
    let app = pinned_app().await;
    let salon = salon(&app, "lists", 0).await;
    for start in ["2026-03-05T10:00:00Z", "2026-03-04T09:00:00Z", "2026-03-06T09:00:00Z"] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, start)).await;
    }
    let list = "query($from: DateTime, $to: DateTime, $c: ID, $s: [BookingStatus!], $after: String) { bookings(first: 2, after: $after, filter: {from: $from, to: $to, customerId: $c, status: $s}) { pageInfo { hasNextPage endCursor } edges { node { startsAt } } } }";
    let page = app.ok(&salon.owner, list, json!({})).await;
    let starts: Vec<_> =
        page["bookings"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["startsAt"].clone()).collect();
    assert_eq!(starts, vec![json!("2026-03-04T09:00:00+00:00"), json!("2026-03-05T10:00:00+00:00")]);
    let next = app.ok(&salon.owner, list, json!({"after": page["bookings"]["pageInfo"]["endCursor"]})).await;
    assert_eq!(next["bookings"]["edges"][0]["node"]["startsAt"], "2026-03-06T09:00:00+00:00");
    let ranged =
        app.ok(&salon.owner, list, json!({"from": "2026-03-05T00:00:00Z", "to": "2026-03-06T00:00:00Z"})).await;
    assert_eq!(ranged["bookings"]["edges"].as_array().unwrap().len(), 1);
    let none = app.ok(&salon.owner, list, json!({"s": ["CANCELLED"]})).await;
    assert_eq!(none["bookings"]["edges"], json!([]));
    let data = app
        .ok(
            &salon.owner,
            "query($id: ID!) { customer(id: $id) { bookings { edges { node { id } } } } }",
            json!({"id": salon.customer}),
        )
        .await;
    assert_eq!(data["customer"]["bookings"]["edges"].as_array().unwrap().len(), 3, "a customer's history in one place");
}

#[tokio::test]
async fn inputs_are_validated_with_the_field_named() {
    let app = pinned_app().await;
    let salon = salon(&app, "validation", 0).await;
    for (mutation, variables, field) in [
        (
            "mutation($v: String) { createCustomer(input: {name: \"X\", phone: $v}) { id } }",
            json!({"v": "555-1234"}),
            "phone",
        ),
        (
            "mutation($v: String) { createCustomer(input: {name: \"X\", email: $v}) { id } }",
            json!({"v": "not-an-email"}),
            "email",
        ),
        (
            "mutation($v: Int!) { createService(input: {name: \"X\", priceMinor: $v, durationMinutes: 30}) { id } }",
            json!({"v": -1}),
            "priceMinor",
        ),
        (
            "mutation($v: String!) { createService(input: {name: \"X\", priceMinor: 1, durationMinutes: 30, currency: $v}) { id } }",
            json!({"v": "euro"}),
            "currency",
        ),
        (
            "mutation($p: ID!) { setWorkingHours(providerId: $p, intervals: [{weekday: MONDAY, startTime: \"10:00\", endTime: \"09:00\"}]) { id } }",
            json!({"p": salon.provider}),
            "intervals",
        ),
        (
            "mutation($p: ID!) { setWorkingHours(providerId: $p, intervals: [{weekday: MONDAY, startTime: \"9am\", endTime: \"17:00\"}]) { id } }",
            json!({"p": salon.provider}),
            "startTime",
        ),
    ] {
        let (_, body) = app.post(&salon.owner, mutation, variables).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{mutation}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{mutation}: {body}");
    }
    let other = app.ok(&salon.owner, "mutation { createProvider(input: {name: \"Leo\"}) { id } }", json!({})).await["createProvider"]["id"].clone();
    let mut input = booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["providerId"] = other;
    let (_, body) = app.post(&salon.owner, BOOK, input).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "providerId", "{body}");
}

#[tokio::test]
async fn another_tenants_scheduling_data_is_invisible_and_untouchable() {
    let app = pinned_app().await;
    let alice = salon(&app, "alice-hair", 0).await;
    let bob = salon(&app, "bob-nails", 0).await;
    let booking =
        app.ok(&alice.owner, BOOK, booking_input(&alice, "2026-03-04T09:00:00Z")).await["createBooking"]["id"].clone();

    let reads = "query($p: ID!, $s: ID!, $c: ID!, $b: ID!) { provider(id: $p) { id } service(id: $s) { id } customer(id: $c) { id } booking(id: $b) { id } }";
    let data = app
        .ok(&bob.owner, reads, json!({"p": alice.provider, "s": alice.service, "c": alice.customer, "b": booking}))
        .await;
    assert_eq!(data, json!({"provider": null, "service": null, "customer": null, "booking": null}));
    let lists = app.ok(&bob.owner, "{ bookings { edges { node { id } } } customers { edges { node { name } } } providers { edges { node { id } } } }", json!({})).await;
    assert_eq!(lists["bookings"]["edges"], json!([]));
    assert_eq!(lists["customers"]["edges"].as_array().unwrap().len(), 1, "only Bob's own customer");
    assert_eq!(lists["providers"]["edges"][0]["node"]["id"], bob.provider.as_str());

    let (_, body) =
        app.post(&bob.owner, AVAILABILITY, json!({"s": alice.service, "from": "2026-03-04", "to": "2026-03-04"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    for (mutation, variables) in [
        ("mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": booking})),
        ("mutation($id: ID!) { confirmBooking(id: $id) { id } }", json!({"id": booking})),
        (
            "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-04T10:00:00Z\") { id } }",
            json!({"id": booking}),
        ),
        (
            "mutation($id: ID!) { updateProvider(id: $id, input: {name: \"Hijacked\"}) { id } }",
            json!({"id": alice.provider}),
        ),
        ("mutation($id: ID!) { deleteService(id: $id) { id } }", json!({"id": alice.service})),
        (
            "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Hijacked\"}) { id } }",
            json!({"id": alice.customer}),
        ),
        (
            "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }",
            json!({"p": bob.provider, "s": alice.service}),
        ),
    ] {
        let (_, body) = app.post(&bob.owner, mutation, variables).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{mutation}: {body}");
    }
    let exception = app
        .ok(&alice.owner, "mutation($p: ID!) { addScheduleException(input: {providerId: $p, date: \"2026-03-06\", kind: CLOSED}) { id } }", json!({"p": alice.provider}))
        .await["addScheduleException"]["id"]
        .clone();
    for (mutation, variables) in [
        (
            "mutation($id: ID!) { setWorkingHours(providerId: $id, intervals: []) { id } }",
            json!({"id": alice.provider}),
        ),
        (
            "mutation($id: ID!) { addScheduleException(input: {providerId: $id, date: \"2026-03-06\", kind: CLOSED}) { id } }",
            json!({"id": alice.provider}),
        ),
        ("mutation($id: ID!) { removeScheduleException(id: $id) }", json!({"id": exception})),
        (
            "mutation($p: ID!, $s: ID!) { unassignService(providerId: $p, serviceId: $s) { id } }",
            json!({"p": alice.provider, "s": alice.service}),
        ),
        (
            "mutation($id: ID!) { updateService(id: $id, input: {name: \"X\", priceMinor: 1, durationMinutes: 30}) { id } }",
            json!({"id": alice.service}),
        ),
        (
            "mutation($id: ID!) { createAddon(serviceId: $id, input: {name: \"X\", priceMinor: 1, durationMinutes: 5}) { id } }",
            json!({"id": alice.service}),
        ),
        (
            "mutation($id: ID!) { updateAddon(id: $id, input: {name: \"X\", priceMinor: 1, durationMinutes: 5}) { id } }",
            json!({"id": alice.addon}),
        ),
        ("mutation($id: ID!) { startBooking(id: $id) { id } }", json!({"id": booking})),
        ("mutation($id: ID!) { completeBooking(id: $id) { id } }", json!({"id": booking})),
        ("mutation($id: ID!) { markBookingNoShow(id: $id) { id } }", json!({"id": booking})),
        ("mutation($id: ID!) { reviewBooking(id: $id, rating: 5) { id } }", json!({"id": booking})),
    ] {
        let (_, body) = app.post(&bob.owner, mutation, variables).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{mutation}: {body}");
    }
    let data = app
        .ok(
            &bob.owner,
            "query($p: ID!) { scheduleExceptions(providerId: $p, from: \"2026-03-01\", to: \"2026-03-31\") { id } }",
            json!({"p": alice.provider}),
        )
        .await;
    assert_eq!(data["scheduleExceptions"], json!([]), "Alice's time off is not Bob's to see");
    let data = app
        .ok(&alice.owner, "query($p: ID!) { provider(id: $p) { workingHours { weekday } services { id } exceptions(from: \"2026-03-01\", to: \"2026-03-31\") { id } } }", json!({"p": alice.provider}))
        .await;
    assert_eq!(data["provider"]["workingHours"].as_array().map(Vec::len), Some(10), "hours untouched");
    assert_eq!(data["provider"]["services"].as_array().map(Vec::len), Some(1), "service still assigned");
    assert_eq!(data["provider"]["exceptions"].as_array().map(Vec::len), Some(1), "exception still there");

    // Booking Alice's provider, service or customer from Bob's tenant fails too.
    let mut input = booking_input(&bob, "2026-03-04T09:00:00Z");
    input["input"]["customerId"] = json!(alice.customer);
    assert_eq!(app.error_code(&bob.owner, BOOK, input).await, "NOT_FOUND");
    let data = app
        .ok(
            &alice.owner,
            "query($id: ID!) { booking(id: $id) { status provider { name } customer { name } } }",
            json!({"id": booking}),
        )
        .await;
    assert_eq!(data["booking"]["status"], "SCHEDULED", "untouched");
}

#[tokio::test]
async fn booking_events_reach_subscribers_of_the_tenant_only() {
    let app = pinned_app().await;
    let alice = salon(&app, "alice-live", 0).await;
    let bob = salon(&app, "bob-live", 0).await;
    let mut feed = app.websocket("graphql-transport-ws", None).await.unwrap();
    feed.init(&alice.owner).await;
    let subscription = "subscription($p: ID) { bookingEvents(providerId: $p) { eventId kind booking { status startsAt provider { name } } } }";
    feed.send(
        json!({"id": "b", "type": "subscribe", "payload": {"query": subscription, "variables": {"p": alice.provider}}}),
    )
    .await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    app.ok(&bob.owner, BOOK, booking_input(&bob, "2026-03-04T09:00:00Z")).await;
    let id =
        app.ok(&alice.owner, BOOK, booking_input(&alice, "2026-03-04T09:00:00Z")).await["createBooking"]["id"].clone();
    app.ok(&alice.owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": id})).await;

    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let Some(WsEvent::Json(message)) = feed.next(StdDuration::from_secs(10)).await else {
            panic!("expected events, got {kinds:?}")
        };
        let event = &message["payload"]["data"]["bookingEvents"];
        assert_eq!(event["booking"]["startsAt"], "2026-03-04T09:00:00+00:00");
        assert_eq!(event["booking"]["provider"]["name"], "Maria");
        kinds.push(event["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, vec!["CREATED", "CANCELLED"], "Bob's booking is not in Alice's feed");
    assert_eq!(feed.next(StdDuration::from_millis(800)).await, None);
}

/// Adds a provider who works weekdays from `start` to `end` and offers the salon's
/// service; returns their id.
pub(crate) async fn add_provider(app: &TestApp, salon: &Salon, name: &str, start: &str, end: &str) -> String {
    let id = app
        .ok(&salon.owner, "mutation($n: String!) { createProvider(input: {name: $n}) { id } }", json!({"n": name}))
        .await["createProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let intervals: Vec<Value> = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
        .iter()
        .map(|d| json!({"weekday": d, "startTime": start, "endTime": end}))
        .collect();
    app.ok(
        &salon.owner,
        "mutation($p: ID!, $i: [WorkingIntervalInput!]!) { setWorkingHours(providerId: $p, intervals: $i) { id } }",
        json!({"p": id, "i": intervals}),
    )
    .await;
    app.ok(
        &salon.owner,
        "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }",
        json!({"p": id, "s": salon.service}),
    )
    .await;
    id
}

/// Waits until the server has run no statement for a while (background work, such
/// as relaying the events of earlier writes, is done).
pub(crate) async fn settle(app: &TestApp) {
    let mut last = app.state.db.statements_executed();
    loop {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        let now = app.state.db.statements_executed();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Statements the server runs for one request, the fewest of three runs.
async fn statements_for(app: &TestApp, auth: &Auth, query: &str, variables: Value) -> u64 {
    cost_of(app, auth, query, variables).await.0
}

/// Statements and transactions of one request (each transaction's `BEGIN`
/// and `COMMIT` counted as statements), the fewest of three runs.
pub(crate) async fn cost_of(app: &TestApp, auth: &Auth, query: &str, variables: Value) -> (u64, u64) {
    settle(app).await;
    let db = &app.state.db;
    let mut fewest = (u64::MAX, u64::MAX);
    for _ in 0..3 {
        let before = (db.statements_executed(), db.transactions_begun());
        app.ok(auth, query, variables.clone()).await;
        fewest = fewest.min((db.statements_executed() - before.0, db.transactions_begun() - before.1));
    }
    fewest
}

#[tokio::test]
async fn a_nested_page_costs_the_same_statements_for_1_10_and_100_bookings() {
    // The relay runs only when a write wakes it, so nothing in the background adds
    // statements to the ones counted.
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app =
        TestApp::spawn_with_options(database, |_| {}, |o| o.relay_poll_interval = StdDuration::from_secs(3600)).await;
    app.clock.set(utc(NOW));
    let salon = salon(&app, "no-n-plus-one", 0).await;
    // Four more providers, two services and ten customers, so the nested fields
    // point at many different rows.
    let mut providers = vec![salon.provider.clone()];
    for name in ["Leo", "Mia", "Noah", "Zoe"] {
        providers.push(add_provider(&app, &salon, name, "08:00", "20:00").await);
    }
    let mut customers = vec![salon.customer.clone()];
    for i in 0..9 {
        customers.push(
            app.ok(
                &salon.owner,
                "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }",
                json!({"n": format!("Customer {i}")}),
            )
            .await["createCustomer"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // 100 bookings: 5 providers × 20 hourly slots over four days (Maria's split
    // shift has 8 hourly slots a day).
    let mut made = 0;
    'days: for day in ["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10"] {
        for hour in [8, 9, 10, 11, 13, 14, 15, 16] {
            for (p, provider) in providers.iter().enumerate() {
                let mut input = booking_input(&salon, &format!("{day}T{hour:02}:00:00Z"));
                input["input"]["providerId"] = json!(provider);
                input["input"]["customerId"] = json!(customers[(made + p) % customers.len()]);
                if made % 3 == 0 {
                    input["input"]["addonIds"] = json!([salon.addon]);
                    if hour == 11 || hour == 16 {
                        continue; // 80 minutes would run past the shift
                    }
                }
                let (_, body) = app.post(&salon.owner, BOOK, input).await;
                if body["data"]["createBooking"]["id"].is_string() {
                    made += 1;
                }
                if made == 100 {
                    break 'days;
                }
            }
        }
    }
    assert_eq!(made, 100);
    let nested = "query($n: Int!) { bookings(first: $n) { edges { node { id addons { name } review { rating } provider { name workingHours { weekday } services { name } } service { name addons { name } } customer { name } } } } }";
    let one = statements_for(&app, &salon.owner, nested, json!({"n": 1})).await;
    let ten = statements_for(&app, &salon.owner, nested, json!({"n": 10})).await;
    let hundred = statements_for(&app, &salon.owner, nested, json!({"n": 100})).await;
    assert_eq!((one, ten), (ten, hundred), "statements for 1, 10, 100 bookings: {one}, {ten}, {hundred}");
    let data = app.ok(&salon.owner, nested, json!({"n": 100})).await;
    assert_eq!(data["bookings"]["edges"].as_array().unwrap().len(), 100);

    // Providers with their hours, services and next bookings: one page of one
    // provider costs what a page of five does.
    let staff = "query($n: Int!) { providers(first: $n) { edges { node { name workingHours { weekday } services { name } upcomingBookings(first: 3) { startsAt status } } } } }";
    let one = statements_for(&app, &salon.owner, staff, json!({"n": 1})).await;
    let five = statements_for(&app, &salon.owner, staff, json!({"n": 5})).await;
    assert_eq!(one, five, "statements for 1 and 5 providers");
    let data = app.ok(&salon.owner, staff, json!({"n": 5})).await;
    let first = &data["providers"]["edges"][0]["node"];
    assert_eq!(first["upcomingBookings"].as_array().unwrap().len(), 3);
    assert_eq!(first["upcomingBookings"][0]["startsAt"], "2026-03-04T08:00:00+00:00", "the soonest first");
}

#[tokio::test]
async fn availability_costs_a_fixed_number_of_statements_whatever_the_providers_and_days() {
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app =
        TestApp::spawn_with_options(database, |_| {}, |o| o.relay_poll_interval = StdDuration::from_secs(3600)).await;
    app.clock.set(utc(NOW));
    let salon = salon(&app, "bounded", 0).await;
    let query = json!({"s": salon.service, "from": "2026-03-03", "to": "2026-03-03"});
    let one_provider_one_day = statements_for(&app, &salon.owner, AVAILABILITY, query).await;
    // Ten providers: more than a calendar's reads name one by one.
    for name in ["Leo", "Mia", "Noah", "Zoe", "Ivy", "Sam", "Eva", "Max", "Ada"] {
        add_provider(&app, &salon, name, "09:00", "17:00").await;
    }
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-10T09:00:00Z")).await;
    let query = json!({"s": salon.service, "from": "2026-03-03", "to": "2026-04-01", "first": 500});
    let many_providers_thirty_days = statements_for(&app, &salon.owner, AVAILABILITY, query.clone()).await;
    assert_eq!(one_provider_one_day, many_providers_thirty_days);
    let slots = app.ok(&salon.owner, AVAILABILITY, query).await["availability"].as_array().unwrap().len();
    assert_eq!(slots, 500, "ten providers over a month fill the largest page");
}

#[tokio::test]
async fn availability_across_many_providers_keeps_each_ones_hours_and_bookings_their_own() {
    let app = pinned_app().await;
    let salon = salon(&app, "many-calendars", 0).await;
    // Ten providers (more than a calendar's reads name one by one): the salon's
    // own (09–13, 14–18 Madrid), eight working 09–17, and one working 12–14.
    let mut providers = vec![salon.provider.clone()];
    for name in ["Leo", "Mia", "Noah", "Zoe", "Ivy", "Sam", "Eva", "Max"] {
        providers.push(add_provider(&app, &salon, name, "09:00", "17:00").await);
    }
    let short = add_provider(&app, &salon, "Ada", "12:00", "14:00").await;
    providers.push(short.clone());
    // Tuesday 10 March (Madrid is UTC+1): each provider booked at a different hour.
    let booked_at = |i: usize| format!("2026-03-10T{:02}:00:00+00:00", 8 + i % 5);
    for (i, provider) in providers.iter().enumerate().take(5) {
        let input = json!({"input": {"serviceId": salon.service, "providerId": provider, "customerId": salon.customer, "startsAt": booked_at(i)}});
        app.ok(&salon.owner, BOOK, input).await;
    }
    let data = app
        .ok(
            &salon.owner,
            AVAILABILITY,
            json!({"s": salon.service, "from": "2026-03-10", "to": "2026-03-10", "first": 500}),
        )
        .await;
    let offered = |provider: &str| -> Vec<String> {
        data["availability"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|slot| slot["providerId"] == provider)
            .map(|slot| slot["startsAt"].as_str().unwrap().to_owned())
            .collect()
    };
    for (i, provider) in providers.iter().enumerate().take(5) {
        let starts = offered(provider);
        assert!(!starts.contains(&booked_at(i)), "provider {i} is booked at {}: {starts:?}", booked_at(i));
        assert!(starts.contains(&booked_at(i + 1)), "provider {i} is free at {}: {starts:?}", booked_at(i + 1));
    }
    assert_eq!(offered(&providers[5]).len(), 29, "09:00 … 16:00 every quarter hour, nobody booked");
    assert_eq!(
        offered(&short),
        [
            "2026-03-10T11:00:00+00:00",
            "2026-03-10T11:15:00+00:00",
            "2026-03-10T11:30:00+00:00",
            "2026-03-10T11:45:00+00:00",
            "2026-03-10T12:00:00+00:00"
        ],
        "12:00–14:00 local, an hour's service"
    );
}
