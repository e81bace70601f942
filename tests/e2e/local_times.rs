//! Times a frontend can show (issue 15, item 5): slots and bookings carry the
//! tenant's wall time, offset and zone beside the UTC instant, `availability`
//! defaults to this week in the tenant's timezone, and the bookings filter takes
//! local dates.

use serde_json::{Value, json};
use tessera_e2e::error_code_of;

use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const LOCAL: &str = "{ dateTime date time offset timezone }";

#[tokio::test]
async fn slots_and_bookings_show_the_tenants_wall_time_across_a_clock_change() {
    let app = pinned_app().await;
    let salon = salon(&app, "local-times", 0).await;
    // Monday 2 March, 09:00 in Madrid: with an hour's notice the first start is 10:00.
    let slots = format!(
        "query($s: ID!) {{ availability(serviceId: $s, first: 1) {{ startsAt startsAtLocal {LOCAL} endsAtLocal {{ time }} }} }}"
    );
    let first = app.ok(&salon.owner, &slots, json!({"s": salon.service})).await["availability"][0].clone();
    assert_eq!(first["startsAt"], "2026-03-02T09:00:00+00:00");
    assert_eq!(
        first["startsAtLocal"],
        json!({"dateTime": "2026-03-02T10:00:00+01:00", "date": "2026-03-02", "time": "10:00", "offset": "+01:00", "timezone": "Europe/Madrid"})
    );
    assert_eq!(first["endsAtLocal"]["time"], "11:00");

    // Summer time starts on 29 March: 10:00 in Madrid is then 08:00 UTC.
    let query =
        format!("mutation($input: CreateBookingInput!) {{ createBooking(input: $input) {{ startsAtLocal {LOCAL} }} }}");
    let booked = app.ok(&salon.owner, &query, booking_input(&salon, "2026-03-30T08:00:00Z")).await;
    assert_eq!(booked["createBooking"]["startsAtLocal"]["dateTime"], "2026-03-30T10:00:00+02:00");
    assert_eq!(booked["createBooking"]["startsAtLocal"]["offset"], "+02:00");
}

#[tokio::test]
async fn bookings_are_filtered_by_local_dates() {
    let app = pinned_app().await;
    let salon = salon(&app, "local-filter", 0).await;
    for start in ["2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z", "2026-03-06T16:00:00Z"] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, start)).await;
    }
    let list = "query($f: BookingFilterInput) { bookings(filter: $f) { edges { node { startsAtLocal { date } } } } }";
    let dates = |data: Value| -> Vec<String> {
        let edges = data["bookings"]["edges"].as_array().unwrap().clone();
        edges.iter().map(|e| e["node"]["startsAtLocal"]["date"].as_str().unwrap().to_owned()).collect()
    };
    let thursday = json!({"f": {"fromDate": "2026-03-05", "toDate": "2026-03-05"}});
    assert_eq!(dates(app.ok(&salon.owner, list, thursday).await), ["2026-03-05"]);
    let from_thursday = json!({"f": {"fromDate": "2026-03-05"}});
    assert_eq!(dates(app.ok(&salon.owner, list, from_thursday).await), ["2026-03-05", "2026-03-06"]);
    let both = json!({"f": {"fromDate": "2026-03-05", "from": "2026-03-05T00:00:00Z"}});
    let (_, body): (u16, Value) = app.post(&salon.owner, list, both).await;
    assert_eq!(
        (error_code_of(&body), &body["errors"][0]["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("fromDate"))
    );
}
