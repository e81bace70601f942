//! The front desk's view of what customers paid, over HTTP: the business's
//! booking payments filtered and paged, and the day's takings per provider
//! and in total; shown to `payment:read` (owners, admins, a partner client
//! granted it), never to staff, customers or another business.

use serde_json::{Value, json};

use crate::booking_payments::{PAY, app_with_fake, book, deposit_salon, payment_ids};
use crate::live_rights::client_token;

const LIST: &str = "query($f: BookingPaymentFilterInput, $first: Int, $after: String) { bookingPayments(first: $first, after: $after, filter: $f) { edges { cursor node { id status kind amount { amountMinor } bookingId } } pageInfo { hasNextPage } } }";
const TAKINGS: &str = "query($from: NaiveDate!, $to: NaiveDate!) { takings(from: $from, to: $to) { days { date lines { provider paid { amountMinor currency } fees { amountMinor } refunded { amountMinor } net { amountMinor } } } total { provider net { amountMinor } } } }";
const REFUND: &str =
    "mutation($p: ID!) { refundBookingPayment(paymentId: $p, amountMinor: 500, reason: \"Started late\") { status } }";

fn nodes(list: &Value) -> Vec<Value> {
    list["bookingPayments"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

#[tokio::test]
async fn the_front_desk_lists_payments_and_the_days_takings_and_nobody_else_sees_them() {
    let (app, fake) = app_with_fake().await;
    let slug = "front-desk";
    let (salon, ana) = deposit_salon(&app, slug).await;
    // Two deposits paid, one declined; one paid deposit partly refunded.
    let mut paid = Vec::new();
    for (at, declines) in
        [("2026-03-04T09:00:00Z", false), ("2026-03-04T11:00:00Z", false), ("2026-03-04T14:00:00Z", true)]
    {
        let id = book(&app, &salon, &ana, at).await["id"].as_str().unwrap().to_owned();
        let (_, payment, intent) = payment_ids(&app, &id).await;
        fake.pay(&intent, declines);
        app.ok(&ana, PAY, json!({"b": id})).await;
        if !declines {
            paid.push((id, payment));
        }
    }
    app.ok(&salon.owner, REFUND, json!({"p": paid[0].1})).await;

    let all = nodes(&app.ok(&salon.owner, LIST, json!({})).await);
    assert_eq!(all.len(), 3);
    let statuses: Vec<&Value> = all.iter().map(|p| &p["status"]).collect();
    assert_eq!(statuses, [&json!("SUCCEEDED"), &json!("SUCCEEDED"), &json!("FAILED")]);
    let succeeded = nodes(&app.ok(&salon.owner, LIST, json!({"f": {"status": ["SUCCEEDED"]}})).await);
    assert_eq!(succeeded.len(), 2);
    let one = nodes(&app.ok(&salon.owner, LIST, json!({"f": {"bookingId": paid[1].0}})).await);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], paid[1].1.as_str());
    // Paged.
    let first = app.ok(&salon.owner, LIST, json!({"first": 2})).await;
    assert_eq!(first["bookingPayments"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["bookingPayments"]["edges"][1]["cursor"].clone();
    let rest = nodes(&app.ok(&salon.owner, LIST, json!({"first": 2, "after": cursor})).await);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["status"], "FAILED");

    // Monday's takings (09:00 in Madrid): 3,000 paid, 500 given back.
    let day = json!({"from": "2026-03-02", "to": "2026-03-02"});
    let takings = app.ok(&salon.owner, TAKINGS, day.clone()).await["takings"].clone();
    assert_eq!(takings["days"][0]["date"], "2026-03-02");
    let line = &takings["days"][0]["lines"][0];
    assert_eq!(line["provider"], "STRIPE");
    assert_eq!(line["paid"], json!({"amountMinor": 3000, "currency": "USD"}));
    assert_eq!((line["fees"]["amountMinor"].clone(), line["refunded"]["amountMinor"].clone()), (json!(0), json!(500)));
    assert_eq!(line["net"]["amountMinor"], 2500);
    assert_eq!(takings["total"], json!([{"provider": "STRIPE", "net": {"amountMinor": 2500}}]));
    let next_day = app.ok(&salon.owner, TAKINGS, json!({"from": "2026-03-03", "to": "2026-03-05"})).await;
    assert_eq!(next_day["takings"]["days"], json!([]));
    for (from, to) in [("2026-03-02", "2026-04-15"), ("2026-03-05", "2026-03-02")] {
        let bad = app.error_code(&salon.owner, TAKINGS, json!({"from": from, "to": to})).await;
        assert_eq!(bad, "BAD_USER_INPUT", "{from}..{to}");
    }

    // An admin and a partner client granted `payment:read` see them; staff,
    // the customer and a client reading bookings do not; another business
    // sees its own (none).
    let admin = app.add_member(&salon.owner, &format!("admin@{slug}.test"), &["admin"]).await;
    assert_eq!(nodes(&app.ok(&admin, LIST, json!({})).await).len(), 3);
    let accountant = client_token(&app, &salon.owner, &["payment:read"]).await;
    assert_eq!(nodes(&app.ok(&accountant, LIST, json!({})).await).len(), 3);
    let staff = app.add_member(&salon.owner, &format!("staff@{slug}.test"), &["staff"]).await;
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    for auth in [&staff, &ana, &reader] {
        assert_eq!(app.error_code(auth, LIST, json!({})).await, "FORBIDDEN");
        assert_eq!(app.error_code(auth, TAKINGS, day.clone()).await, "FORBIDDEN");
    }
    let (stranger, _) = app.owner_of("other-desk").await;
    assert!(nodes(&app.ok(&stranger, LIST, json!({})).await).is_empty());
    assert_eq!(app.ok(&stranger, TAKINGS, day).await["takings"]["days"], json!([]));
    let theirs = app.ok(&stranger, LIST, json!({"f": {"bookingId": paid[0].0}})).await;
    assert!(nodes(&theirs).is_empty(), "another business's booking names nothing");
}
