//! Messages against the tier over HTTP: the delivery worker counts each email,
//! text message and webhook delivery once, as it is about to send it; a free business (no text
//! messages) has its booking notices go by email and in the app, and the
//! delivery log says why; a soft limit counts overage; a message that ends
//! unsent gives its unit back; the counters equal their records.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tessera_e2e::TestApp;
use tessera_kernel::{TenantId, TenantTier};
use tessera_ledger::{LimitMode, Metric, NewLimit};

use crate::notifications::{CREATE_ENDPOINT, receiver};
use crate::scheduling::{BOOK, booking_input, salon, utc};
use crate::usage::counters_match_records;

const METERS: &str = "{ usage { meters { limit { metric limit } used overage } } }";
const MOVE: &str = "mutation($id: ID!, $at: DateTime!) { rescheduleBooking(id: $id, startsAt: $at) { id } }";
const SMS_LOG: &str =
    "{ notificationDeliveries(last: 20, filter: {channel: SMS}) { edges { node { topic status lastError } } } }";

fn meter(usage: &Value, metric: &str) -> (i64, i64) {
    let found = usage["usage"]["meters"].as_array().unwrap().iter().find(|m| m["limit"]["metric"] == metric).unwrap();
    (found["used"].as_i64().unwrap(), found["overage"].as_i64().unwrap())
}

/// The text deliveries of change notices in a delivery log (reminders wait).
fn change_texts(log: &Value) -> Vec<&Value> {
    let edges = log["notificationDeliveries"]["edges"].as_array().unwrap();
    edges.iter().map(|e| &e["node"]).filter(|n| n["topic"] == "booking.changed").collect()
}

/// Books Ana in at 09:00 and moves her to 11:00: a confirmation (email, in
/// app) and a change notice (email, text, in app).
async fn book_and_move(app: &TestApp, salon: &crate::scheduling::Salon) {
    let booked = app.ok(&salon.owner, BOOK, booking_input(salon, "2026-03-04T09:00:00Z")).await;
    let id = booked["createBooking"]["id"].clone();
    app.ok(&salon.owner, MOVE, json!({"id": id, "at": "2026-03-04T11:00:00Z"})).await;
}

#[tokio::test]
async fn a_free_business_sends_no_text_and_its_notices_go_by_email_and_in_the_app() {
    let app = crate::scheduling::pinned_app().await;
    let salon = salon(&app, "texts-free", 0).await;
    app.state.services.tenants.set_tier("texts-free", TenantTier::Free, app.now()).await.unwrap();
    book_and_move(&app, &salon).await;
    app.deliver().await;

    assert!(app.sms.sent().is_empty(), "{:?}", app.sms.sent());
    let emails = app.email.sent().into_iter().filter(|m| m.to == "ana@example.com").count();
    assert_eq!(emails, 2, "the confirmation and the change went by email");
    let log = app.ok(&salon.owner, SMS_LOG, json!({})).await;
    let texts = change_texts(&log);
    assert_eq!(texts.len(), 1, "{log}");
    assert_eq!(texts[0]["status"], "SKIPPED");
    assert!(texts[0]["lastError"].as_str().unwrap().contains("text-message limit"), "{log}");

    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "SMS"), (0, 0), "{usage}");
    assert_eq!(meter(&usage, "EMAILS"), (2, 0), "{usage}");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn a_text_is_counted_once_whatever_its_tries_and_a_soft_limit_counts_overage() {
    let app = crate::scheduling::pinned_app().await;
    let salon = salon(&app, "texts-soft", 0).await;
    let tenant: TenantId = app.ok(&salon.owner, "{ currentTenant { id } }", json!({})).await["currentTenant"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let soft = NewLimit { value: Some(1), mode: LimitMode::Soft, note: None };
    app.state.services.usage.set_tenant_limit(tenant, Metric::Sms, soft, app.now()).await.unwrap();

    // The provider fails the first try; the retry sends it, counted once.
    app.sms.fail_next(1);
    book_and_move(&app, &salon).await;
    app.deliver().await;
    assert!(app.sms.sent().is_empty());
    app.clock.advance(chrono::Duration::minutes(2));
    app.deliver().await;
    assert_eq!(app.sms.sent().len(), 1);
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "SMS"), (1, 0), "{usage}");

    // A second change: over the soft limit, sent and counted as overage.
    let list = app.ok(&salon.owner, "{ bookings(first: 1) { edges { node { id } } } }", json!({})).await;
    let id = list["bookings"]["edges"][0]["node"]["id"].clone();
    app.ok(&salon.owner, MOVE, json!({"id": id, "at": "2026-03-04T13:00:00Z"})).await;
    app.deliver().await;
    assert_eq!(app.sms.sent().len(), 2);
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "SMS"), (2, 1), "{usage}");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn a_message_that_ends_unsent_gives_its_unit_back() {
    // No text-message provider: the text is skipped after it was counted.
    let database = Arc::new(tessera_e2e::TestDatabase::create().await);
    let app = TestApp::spawn_with_options(database, |_| {}, |options| options.sms = None).await;
    app.clock.set(utc(crate::scheduling::NOW));
    let salon = salon(&app, "texts-none", 0).await;
    book_and_move(&app, &salon).await;
    app.deliver().await;

    let log = app.ok(&salon.owner, SMS_LOG, json!({})).await;
    let texts = change_texts(&log);
    assert_eq!(texts.len(), 1, "{log}");
    assert_eq!(texts[0]["status"], "SKIPPED", "{log}");
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "SMS"), (0, 0), "{usage}");
    let records = app.rows("SELECT quantity FROM usage_records WHERE metric = 'sms' ORDER BY quantity").await;
    let quantities: Vec<i64> = records.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
    assert_eq!(quantities, [-1, 1], "counted, then given back");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn a_webhook_delivery_is_counted_once_whatever_its_tries_and_one_refused_for_good_gives_it_back() {
    let app = crate::scheduling::pinned_app().await;
    let salon = salon(&app, "hooks-counted", 0).await;
    let (url, _) = receiver(vec![500], Duration::ZERO).await;
    app.ok(&salon.owner, CREATE_ENDPOINT, json!({"url": url, "topics": ["booking.created"]})).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await;
    app.deliver().await;
    app.clock.advance(chrono::Duration::seconds(37));
    app.deliver().await;
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "WEBHOOK_DELIVERIES"), (1, 0), "refused once, then sent: one delivery {usage}");

    // A receiver that refuses for good: the delivery ends unsent and gives its unit back.
    let (gone, _) = receiver(vec![410], Duration::ZERO).await;
    let update = "mutation($id: ID!, $url: String!) { updateWebhookEndpoint(id: $id, input: {url: $url}) { id } }";
    let endpoint =
        app.ok(&salon.owner, "{ webhookEndpoints { id } }", json!({})).await["webhookEndpoints"][0]["id"].clone();
    app.ok(&salon.owner, update, json!({"id": endpoint, "url": gone})).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T11:00:00Z")).await;
    app.deliver().await;
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "WEBHOOK_DELIVERIES"), (1, 0), "{usage}");
    let sql = "SELECT quantity FROM usage_records WHERE metric = 'webhook_deliveries' ORDER BY quantity";
    let quantities: Vec<i64> = app.rows(sql).await.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
    assert_eq!(quantities, [-1, 1, 1], "two counted, one given back");
    counters_match_records(&app).await;
}
