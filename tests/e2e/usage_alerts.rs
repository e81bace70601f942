//! Usage alerts over HTTP: 80 % and 100 % of a limit, and thresholds the
//! owners add, each fire once per period even when parallel bookings cross
//! them together, re-arm the next month, reach the owners by email and in the
//! app (the limit itself as urgent), and reach the business's webhooks as a
//! signed `usage.threshold_reached` event. Only the business's owners see and
//! change its alerts.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};
use tessera_kernel::TenantId;
use tessera_ledger::{LimitMode, Metric, NewLimit};

use crate::notifications::{CREATE_ENDPOINT, receiver, signed_by};
use crate::oauth::{access_token, make_client};
use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const FIRED: &str = "{ usage { fired { metric threshold level used limit } alerts { id metric percent amount } } }";
const ADD: &str = "mutation($input: AddUsageAlertInput!) { addUsageAlert(input: $input) { id metric percent amount } }";
const REMOVE: &str = "mutation($id: ID!) { removeUsageAlert(id: $id) }";

async fn limit_bookings(app: &TestApp, owner: &tessera_e2e::Auth, limit: i64) {
    let id =
        app.ok(owner, "{ currentTenant { id } }", json!({})).await["currentTenant"]["id"].as_str().unwrap().to_owned();
    let tenant: TenantId = id.parse().unwrap();
    let limit = NewLimit { value: Some(limit), mode: LimitMode::Hard, note: None };
    app.state.services.usage.set_tenant_limit(tenant, Metric::Bookings, limit, app.now()).await.unwrap();
}

fn thresholds(fired: &Value) -> Vec<(String, i64)> {
    fired["usage"]["fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["threshold"].as_str().unwrap().to_owned(), f["level"].as_i64().unwrap()))
        .collect()
}

/// Hours of the salon's provider on `days` of 2026's `month` (09–13 and 14–18
/// in Madrid: UTC+1 in March, UTC+2 from its end).
fn slots(days: std::ops::RangeInclusive<u32>, month: u32) -> Vec<String> {
    let hours = if month < 4 { [8, 9, 10, 11, 13, 14, 15, 16] } else { [7, 8, 9, 10, 12, 13, 14, 15] };
    days.flat_map(|day| hours.map(move |h| format!("2026-{month:02}-{day:02}T{h:02}:00:00Z"))).collect()
}

#[tokio::test]
async fn parallel_bookings_crossing_a_threshold_fire_it_once_and_it_rearms_the_next_month() {
    let app = pinned_app().await;
    let salon = salon(&app, "alert-rush", 0).await;
    limit_bookings(&app, &salon.owner, 10).await;
    let (url, inbox) = receiver(vec![], Duration::ZERO).await;
    let created =
        app.ok(&salon.owner, CREATE_ENDPOINT, json!({"url": url, "topics": ["usage.threshold_reached"]})).await;
    let secret = created["createWebhookEndpoint"]["secret"].as_str().unwrap().to_owned();

    let attempts =
        slots(4..=6, 3).into_iter().take(20).map(|at| app.post(&salon.owner, BOOK, booking_input(&salon, &at)));
    let answers = futures_util::future::join_all(attempts).await;
    let booked = answers.iter().filter(|(_, b)| b["data"]["createBooking"]["id"].is_string()).count();
    assert_eq!(booked, 10, "{answers:?}");

    let fired = app.ok(&salon.owner, FIRED, json!({})).await;
    assert_eq!(thresholds(&fired), [("80%".to_owned(), 8), ("100%".to_owned(), 10)], "{fired}");

    // The owner hears of each once, by email and in the app; the limit itself as urgent.
    app.deliver().await;
    let mails: Vec<String> = app
        .email
        .sent()
        .into_iter()
        .filter(|m| m.to == "owner@alert-rush.test" && m.subject.contains("bookings"))
        .map(|m| m.subject)
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().any(|s| s.contains("8 of 10 bookings")), "{mails:?}");
    assert!(mails.iter().any(|s| s.contains("10 of 10 bookings")), "{mails:?}");
    let inbox_query = "{ myNotifications(first: 10) { edges { node { topic priority title } } } }";
    let in_app = app.ok(&salon.owner, inbox_query, json!({})).await;
    let usage_messages: Vec<&Value> = in_app["myNotifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["topic"] == "usage.threshold_reached")
        .collect();
    assert_eq!(usage_messages.len(), 2, "{in_app}");
    let urgent = usage_messages.iter().find(|n| n["title"].as_str().unwrap().contains("10 of 10")).unwrap();
    assert_eq!(urgent["priority"], "URGENT");

    // The webhook gets two signed events.
    let received = inbox.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "{received:?}");
    for (headers, body) in &received {
        assert!(signed_by(headers, body, &secret, app.now().timestamp()), "{body}");
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["type"], "usage.threshold_reached", "{event}");
        assert_eq!(event["data"]["metric"], "bookings", "{event}");
    }

    // April: a new period, the alerts are armed again.
    app.clock.set("2026-04-01T08:00:00Z".parse().unwrap());
    let owner = app.login("owner@alert-rush.test").await.in_tenant("alert-rush");
    for at in slots(8..=8, 4) {
        app.ok(&owner, BOOK, booking_input(&salon, &at)).await;
    }
    let fired = app.ok(&owner, FIRED, json!({})).await;
    assert_eq!(thresholds(&fired), [("80%".to_owned(), 8)], "{fired}");
}

#[tokio::test]
async fn owners_add_and_remove_their_own_alerts_and_no_one_else_can() {
    let app = pinned_app().await;
    let salon = salon(&app, "alert-own", 0).await;
    let added = app.ok(&salon.owner, ADD, json!({"input": {"metric": "BOOKINGS", "amount": 2}})).await;
    let alert = added["addUsageAlert"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["addUsageAlert"]["amount"], 2);

    // Unlimited bookings (enterprise): only the owners' own threshold fires.
    for at in ["2026-03-04T08:00:00Z", "2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z"] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, at)).await;
    }
    let fired = app.ok(&salon.owner, FIRED, json!({})).await;
    assert_eq!(thresholds(&fired), [("2".to_owned(), 2)], "{fired}");

    for (input, field) in [
        (json!({"metric": "BOOKINGS", "amount": 2, "percent": 50}), "percent"),
        (json!({"metric": "BOOKINGS", "percent": 0}), "percent"),
        (json!({"metric": "BOOKINGS", "amount": 0}), "amount"),
        (json!({"metric": "REQUESTS_PER_MINUTE", "percent": 50}), "metric"),
    ] {
        let (_, body) = app.post(&salon.owner, ADD, json!({"input": input})).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }

    // Staff, customers, a tenant:read partner client and another business cannot.
    let staff = app.add_member(&salon.owner, "staff@alert-own.test", &["staff"]).await;
    let customer = app.add_member(&salon.owner, "customer@alert-own.test", &["customer"]).await;
    let (_, client_id, client_secret) = make_client(&app, &salon.owner, &["tenant:read"]).await;
    let partner = access_token(&app, &client_id, &client_secret).await;
    for caller in [&staff, &customer, &partner] {
        assert_eq!(app.error_code(caller, FIRED, json!({})).await, "FORBIDDEN");
        let add = json!({"input": {"metric": "BOOKINGS", "amount": 5}});
        assert_eq!(app.error_code(caller, ADD, add).await, "FORBIDDEN");
        assert_eq!(app.error_code(caller, REMOVE, json!({"id": alert})).await, "FORBIDDEN");
    }
    let other = salon_owner(&app, "alert-other").await;
    assert_eq!(app.error_code(&other, REMOVE, json!({"id": alert})).await, "NOT_FOUND");
    let theirs = app.ok(&other, FIRED, json!({})).await;
    assert_eq!(theirs["usage"], json!({"fired": [], "alerts": []}), "another business sees none of these");

    let removed = app.ok(&salon.owner, REMOVE, json!({"id": alert})).await;
    assert_eq!(removed["removeUsageAlert"], alert);
    let left = app.ok(&salon.owner, FIRED, json!({})).await;
    assert_eq!(left["usage"]["alerts"], json!([]));
}

async fn salon_owner(app: &TestApp, slug: &str) -> tessera_e2e::Auth {
    app.owner_of(slug).await.0
}
