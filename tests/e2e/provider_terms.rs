//! Opening-hours exceptions say whether they replace or add to a day's hours, and
//! a provider may charge and take their own price and time for a service (issue 15,
//! item 9): availability, bookings and moves follow the provider's terms.

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, add_provider, booking_input, pinned_app, salon};

const EXCEPTION: &str =
    "mutation($input: ScheduleExceptionInput!) { addScheduleException(input: $input) { id kind openingMode } }";
const SLOTS: &str = "query($s: ID!, $p: ID, $a: [ID!], $d: NaiveDate!) { availability(serviceId: $s, providerId: $p, addonIds: $a, from: $d, to: $d, first: 200) { startsAt endsAt providerId price { amountMinor } } }";
const ASSIGN: &str = "mutation($p: ID!, $s: ID!, $terms: OfferingTermsInput) { assignService(providerId: $p, serviceId: $s, terms: $terms) { offerings { service { id } price { amountMinor currency } durationMinutes hasOwnPrice hasOwnDuration } } }";

async fn slots(app: &TestApp, salon: &Salon, provider: Option<&str>, date: &str) -> Vec<Value> {
    let data = app.ok(&salon.owner, SLOTS, json!({"s": salon.service, "p": provider, "d": date})).await;
    data["availability"].as_array().unwrap().clone()
}

fn local_starts(found: &[Value]) -> Vec<String> {
    found.iter().map(|s| s["startsAt"].as_str().unwrap()[11..16].to_owned()).collect()
}

#[tokio::test]
async fn an_open_exception_says_whether_it_replaces_or_adds_to_the_days_hours() {
    let app = pinned_app().await;
    let salon = salon(&app, "opening-modes", 0).await;
    let provider = Some(salon.provider.as_str());
    // Wednesday: 09–13 and 14–18 in Madrid, an hour per appointment, every 15 minutes.
    assert_eq!(slots(&app, &salon, provider, "2026-03-04").await.len(), 26);

    // Opening over lunch adds to the day: 09:00 to 18:00 without a gap.
    let added = app
        .ok(
            &salon.owner,
            EXCEPTION,
            json!({"input": {"providerId": salon.provider, "date": "2026-03-04", "kind": "OPEN", "openingMode": "ADD_TO_WEEKLY_HOURS", "startTime": "13:00", "endTime": "14:00"}}),
        )
        .await;
    assert_eq!(added["addScheduleException"]["openingMode"], "ADD_TO_WEEKLY_HOURS", "{added}");
    let wednesday = local_starts(&slots(&app, &salon, provider, "2026-03-04").await);
    assert_eq!(wednesday.len(), 33, "09:00 to 17:00 local: {wednesday:?}");
    assert!(wednesday.contains(&"11:15".to_owned()), "12:15 in Madrid runs over the old lunch break");

    // Without a mode an opening replaces the day's hours, and says so.
    let replaced = app
        .ok(
            &salon.owner,
            EXCEPTION,
            json!({"input": {"date": "2026-03-05", "kind": "OPEN", "startTime": "10:00", "endTime": "12:00"}}),
        )
        .await;
    assert_eq!(replaced["addScheduleException"]["openingMode"], "REPLACE_WEEKLY_HOURS", "{replaced}");
    let thursday = local_starts(&slots(&app, &salon, provider, "2026-03-05").await);
    assert_eq!(thursday, ["09:00", "09:15", "09:30", "09:45", "10:00"], "10:00 to 11:00 in Madrid only");

    // Added hours on a day without weekly hours open it; a closed day stays closed.
    app.ok(
        &salon.owner,
        EXCEPTION,
        json!({"input": {"date": "2026-03-07", "kind": "OPEN", "openingMode": "ADD_TO_WEEKLY_HOURS", "startTime": "10:00", "endTime": "12:00"}}),
    )
    .await;
    assert_eq!(slots(&app, &salon, provider, "2026-03-07").await.len(), 5);
    for input in [
        json!({"date": "2026-03-06", "kind": "OPEN", "openingMode": "ADD_TO_WEEKLY_HOURS", "startTime": "18:00", "endTime": "20:00"}),
        json!({"date": "2026-03-06", "kind": "CLOSED", "reason": "Inventory"}),
    ] {
        app.ok(&salon.owner, EXCEPTION, json!({ "input": input })).await;
    }
    assert!(slots(&app, &salon, provider, "2026-03-06").await.is_empty(), "closing wins over added hours");

    // A mode means nothing for a closure: refused, naming the field, and nothing is kept.
    let (_, body): (u16, Value) = app
        .post(
            &salon.owner,
            EXCEPTION,
            json!({"input": {"date": "2026-03-09", "kind": "CLOSED", "openingMode": "REPLACE_WEEKLY_HOURS"}}),
        )
        .await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "openingMode", "{body}");
    let listed = app
        .ok(
            &salon.owner,
            "{ scheduleExceptions(from: \"2026-03-04\", to: \"2026-03-09\") { date kind openingMode } }",
            json!({}),
        )
        .await;
    let modes: Vec<(&str, &Value)> = listed["scheduleExceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["date"].as_str().unwrap(), &e["openingMode"]))
        .collect();
    assert_eq!(modes.len(), 5, "{listed}");
    assert!(modes.iter().all(|(date, _)| *date != "2026-03-09"), "{listed}");
    assert!(
        listed["scheduleExceptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| (e["kind"] == "CLOSED") == e["openingMode"].is_null()),
        "a closure has no opening mode: {listed}"
    );
}

#[tokio::test]
async fn a_provider_charges_and_takes_their_own_price_and_time_for_a_service() {
    let app = pinned_app().await;
    let salon = salon(&app, "stylist-prices", 0).await;
    let junior = add_provider(&app, &salon, "Luis", "09:00", "18:00").await;
    let senior = app
        .ok(
            &salon.owner,
            ASSIGN,
            json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": 9500, "durationMinutes": 75}}),
        )
        .await;
    assert_eq!(
        senior["assignService"]["offerings"],
        json!([{"service": {"id": salon.service}, "price": {"amountMinor": 9500, "currency": "USD"}, "durationMinutes": 75, "hasOwnPrice": true, "hasOwnDuration": true}])
    );

    // Availability quotes each provider's own price and length.
    let found = slots(&app, &salon, None, "2026-03-04").await;
    let first_of = |who: &str| found.iter().find(|s| s["providerId"] == who).cloned().unwrap();
    let (maria, luis) = (first_of(&salon.provider), first_of(&junior));
    assert_eq!(
        (&maria["startsAt"], &maria["endsAt"]),
        (&json!("2026-03-04T08:00:00+00:00"), &json!("2026-03-04T09:15:00+00:00"))
    );
    assert_eq!(maria["price"]["amountMinor"], 9500);
    assert_eq!(
        (&luis["startsAt"], &luis["endsAt"]),
        (&json!("2026-03-04T08:00:00+00:00"), &json!("2026-03-04T09:00:00+00:00"))
    );
    assert_eq!(luis["price"]["amountMinor"], 7500);
    // 75 minutes fit 09:00–13:00 from 09:00 to 11:45 only.
    let morning: Vec<_> = local_starts(&slots(&app, &salon, Some(&salon.provider), "2026-03-04").await);
    assert!(morning.contains(&"10:45".to_owned()) && !morning.contains(&"11:00".to_owned()), "{morning:?}");

    // A booking takes the provider's terms, add-ons on top.
    let mut input = booking_input(&salon, "2026-03-04T08:00:00Z");
    input["input"]["addonIds"] = json!([salon.addon]);
    let booked = app.ok(&salon.owner, BOOK, input).await["createBooking"].clone();
    assert_eq!(booked["price"]["amountMinor"], 13500, "{booked}");
    assert_eq!(booked["durationMinutes"], 95);
    assert_eq!(booked["endsAt"], "2026-03-04T09:35:00+00:00");
    let mut standard = booking_input(&salon, "2026-03-04T10:00:00Z");
    standard["input"]["providerId"] = json!(junior);
    let junior_booking = app.ok(&salon.owner, BOOK, standard).await["createBooking"].clone();
    assert_eq!(
        (junior_booking["price"]["amountMinor"].as_i64(), junior_booking["durationMinutes"].as_i64()),
        (Some(7500), Some(60))
    );

    // Moving to another provider takes their time; the agreed price stays.
    let moved = app
        .ok(
            &salon.owner,
            "mutation($id: ID!, $p: ID) { rescheduleBooking(id: $id, startsAt: \"2026-03-05T08:00:00Z\", providerId: $p) { durationMinutes endsAt price { amountMinor } } }",
            json!({"id": booked["id"], "p": junior}),
        )
        .await;
    assert_eq!(
        moved["rescheduleBooking"],
        json!({"durationMinutes": 80, "endsAt": "2026-03-05T09:20:00+00:00", "price": {"amountMinor": 13500}})
    );

    // Assigning again without terms keeps them; null goes back to the service's.
    let again = app.ok(&salon.owner, ASSIGN, json!({"p": salon.provider, "s": salon.service})).await;
    assert_eq!(again["assignService"]["offerings"][0]["price"]["amountMinor"], 9500, "{again}");
    let reset = app
        .ok(&salon.owner, ASSIGN, json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": null}}))
        .await;
    let offering = &reset["assignService"]["offerings"][0];
    assert_eq!((&offering["price"]["amountMinor"], &offering["hasOwnPrice"]), (&json!(7500), &json!(false)), "{reset}");
    assert_eq!((&offering["durationMinutes"], &offering["hasOwnDuration"]), (&json!(75), &json!(true)), "{reset}");

    // Bad terms are refused naming the argument, and the terms in place stay.
    for (terms, field) in [
        (json!({"priceMinor": -1}), "priceMinor"),
        (json!({"durationMinutes": 2}), "durationMinutes"),
        (json!({"durationMinutes": 24 * 60 + 1}), "durationMinutes"),
    ] {
        let variables = json!({"p": salon.provider, "s": salon.service, "terms": terms});
        let (_, body): (u16, Value) = app.post(&salon.owner, ASSIGN, variables).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let kept = app.ok(&salon.owner, ASSIGN, json!({"p": salon.provider, "s": salon.service})).await;
    assert_eq!(kept["assignService"]["offerings"][0]["durationMinutes"], 75);
}

#[tokio::test]
async fn parallel_assignments_of_one_service_all_succeed_and_keep_one_offering() {
    let app = pinned_app().await;
    let salon = salon(&app, "parallel-terms", 0).await;
    let calls = (0..8).map(|i| {
        app.post(
            &salon.owner,
            ASSIGN,
            json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": 8000 + i * 100}}),
        )
    });
    for (_, body) in futures_util::future::join_all(calls).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let rows = app.rows("SELECT price_minor FROM provider_services").await;
    assert_eq!(rows.len(), 1);
    let price: i64 = rows[0].try_get_by_index(0).unwrap();
    assert!((8000..8800).contains(&price), "one of the prices asked for: {price}");
}

#[tokio::test]
async fn provider_terms_are_seen_by_whoever_books_and_set_only_by_the_business() {
    let app = pinned_app().await;
    let salon = salon(&app, "terms-home", 0).await;
    app.ok(&salon.owner, ASSIGN, json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": 9900}})).await;
    let offerings = "{ providers(first: 10) { edges { node { id offerings { price { amountMinor } } } } } }";
    let price_seen_by =
        |data: Value| data["providers"]["edges"][0]["node"]["offerings"][0]["price"]["amountMinor"].clone();

    let customer = app.add_member(&salon.owner, "client@terms-home.test", &["customer"]).await;
    let staff = app.add_member(&salon.owner, "stylist@terms-home.test", &["staff"]).await;
    let partner = client_token(&app, &salon.owner, &["provider:read", "service:read"]).await;
    for (who, auth) in [("customer", &customer), ("staff", &staff), ("partner", &partner)] {
        assert_eq!(
            price_seen_by(app.ok(auth, offerings, json!({})).await),
            9900,
            "{who} sees the price they would pay"
        );
        let code = app
            .error_code(auth, ASSIGN, json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": 1}}))
            .await;
        assert_eq!(code, "FORBIDDEN", "{who} cannot set prices");
    }
    let quoted = app.ok(&customer, SLOTS, json!({"s": salon.service, "d": "2026-03-04"})).await;
    assert_eq!(quoted["availability"][0]["price"]["amountMinor"], 9900, "{quoted}");

    // Another business sees none of it and changes none of it.
    let (other, _) = app.owner_of("terms-away").await;
    let code = app
        .error_code(&other, ASSIGN, json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": 1}}))
        .await;
    assert_eq!(code, "NOT_FOUND");
    let theirs = app.ok(&other, offerings, json!({})).await;
    assert_eq!(theirs["providers"]["edges"], json!([]), "{theirs}");
    let node = app
        .ok(
            &other,
            "query($id: ID!) { node(id: $id) { ... on Provider { offerings { durationMinutes } } } }",
            json!({"id": salon.provider}),
        )
        .await;
    assert_eq!(node["node"], Value::Null, "{node}");
    let after = app.ok(&salon.owner, offerings, json!({})).await;
    assert_eq!(price_seen_by(after), 9900, "nothing was changed from outside");
}

#[tokio::test]
async fn a_provider_whose_total_would_exceed_what_a_booking_carries_is_not_offered() {
    let app = pinned_app().await;
    let salon = salon(&app, "priciest", 0).await;
    let junior = add_provider(&app, &salon, "Luis", "09:00", "18:00").await;
    let most = i64::from(i32::MAX);
    app.ok(&salon.owner, ASSIGN, json!({"p": salon.provider, "s": salon.service, "terms": {"priceMinor": most}})).await;
    // With the add-on Maria's total passes the largest amount a booking carries:
    // her starts are not offered (booking them is refused), Luis's are.
    let variables = json!({"s": salon.service, "a": [salon.addon], "d": "2026-03-04"});
    let (_, body): (u16, Value) = app.post(&salon.owner, SLOTS, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    let found = body["data"]["availability"].as_array().unwrap();
    assert!(!found.is_empty() && found.iter().all(|s| s["providerId"] == junior), "{body}");
    let mut input = booking_input(&salon, "2026-03-04T08:00:00Z");
    input["input"]["addonIds"] = json!([salon.addon]);
    assert_eq!(app.error_code(&salon.owner, BOOK, input).await, "BAD_USER_INPUT");
}
