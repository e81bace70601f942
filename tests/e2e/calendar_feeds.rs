//! Calendar feeds over HTTP, and the event a booking's emails carry: a
//! provider's feed lists their bookings as iCalendar for calendar apps,
//! follows cancellations, and stops at once when revoked or when its maker
//! leaves the business; a customer's lists only theirs; another business,
//! another customer, staff and partner clients neither make, list nor revoke
//! feeds they do not reach; and a subject has a bounded number of feeds.
//! Each booking email carries the booking's event (`booking.ics`), the same
//! one updated until it is cancelled.

use serde_json::json;
use tessera_e2e::{Auth, TestApp};

use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const CREATE: &str = "mutation($p: ID, $c: ID) { createCalendarFeed(providerId: $p, customerId: $c) { url feed { id providerId customerId revokedAt } } }";
const LIST: &str = "query($p: ID, $c: ID) { calendarFeeds(providerId: $p, customerId: $c) { id revokedAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeCalendarFeed(id: $id) { id revokedAt } }";

/// The feed at `url` (the gateway's own address is used, whatever the
/// public URL says): status, content type and text.
async fn fetch(app: &TestApp, url: &str) -> (u16, String, String) {
    let path = &url[url.find("/calendar/").expect("a calendar URL")..];
    let answer = app.http.get(app.url(path)).send().await.unwrap();
    let status = answer.status().as_u16();
    let kind = answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, answer.text().await.unwrap())
}

async fn book(app: &TestApp, salon: &Salon, customer: &str, at: &str) -> String {
    let mut input = booking_input(salon, at);
    input["input"]["customerId"] = json!(customer);
    app.ok(&salon.owner, BOOK, input).await["createBooking"]["id"].as_str().unwrap().to_owned()
}

/// A customer member linked to a new customer record named `name`.
async fn customer_member(app: &TestApp, salon: &Salon, email: &str, name: &str) -> (Auth, String) {
    let member = app.add_member(&salon.owner, email, &["customer"]).await;
    let made = "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }";
    let id = app.ok(&salon.owner, made, json!({"n": name})).await["createCustomer"]["id"].as_str().unwrap().to_owned();
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": id, "u": member.user_id})).await;
    (member, id)
}

#[tokio::test]
async fn a_providers_feed_lists_their_bookings_for_calendar_apps_until_it_is_revoked() {
    let app = pinned_app().await;
    let salon = salon(&app, "feed-salon", 0).await;
    let nine = book(&app, &salon, &salon.customer, "2026-03-04T09:00:00Z").await;
    let ten = book(&app, &salon, &salon.customer, "2026-03-04T10:00:00Z").await;

    let made = app.ok(&salon.owner, CREATE, json!({"p": salon.provider})).await["createCalendarFeed"].clone();
    assert_eq!(made["feed"]["providerId"], salon.provider.as_str());
    let url = made["url"].as_str().unwrap().to_owned();
    assert!(url.contains("/calendar/tcal_") && url.ends_with(".ics"), "{url}");
    let (status, kind, text) = fetch(&app, &url).await;
    assert_eq!((status, kind.as_str()), (200, "text/calendar; charset=utf-8"));
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.contains("X-WR-TIMEZONE:"), "{text}");
    assert!(text.contains("PRODID:-//Tessera//Calendar feeds//EN\r\n") && text.contains("METHOD:PUBLISH"), "{text}");
    assert!(text.contains(&format!("UID:{nine}@tessera")) && text.contains(&format!("UID:{ten}@tessera")), "{text}");
    assert!(text.contains("DTSTART:20260304T090000Z") && text.contains("DTEND:20260304T100000Z"), "{text}");
    assert!(text.contains("SUMMARY:Women's Haircut — Ana López"), "the provider sees who comes: {text}");
    // Only its secret's hash is kept.
    let token = &url[url.find("tcal_").unwrap()..url.len() - 4];
    let stored = app.rows("SELECT token_hash FROM calendar_feeds").await;
    let hash: String = stored[0].try_get("", "token_hash").unwrap();
    assert_eq!(hash, tessera_kernel::token::hash_token(token));

    // A cancelled booking leaves the calendar.
    app.ok(&salon.owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": ten})).await;
    let (_, _, text) = fetch(&app, &url).await;
    assert!(!text.contains(&ten.to_string()) && text.contains(&nine.to_string()), "{text}");

    // Revoked: the URL answers what any unknown one does.
    let id = made["feed"]["id"].clone();
    assert!(app.ok(&salon.owner, REVOKE, json!({"id": id})).await["revokeCalendarFeed"]["revokedAt"].is_string());
    assert_eq!(fetch(&app, &url).await.0, 404);
    let unknown = format!("{}/calendar/tcal_{}.ics", app.url(""), "A".repeat(43));
    assert_eq!(fetch(&app, &unknown).await.0, 404);
    assert_eq!(fetch(&app, &format!("{}/calendar/nothing.ics", app.url(""))).await.0, 404);
    let listed = app.ok(&salon.owner, LIST, json!({"p": salon.provider})).await["calendarFeeds"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0]["revokedAt"].is_string());
    let audit = app.rows("SELECT action FROM audit_records WHERE action LIKE 'calendar_feed.%'").await;
    assert_eq!(audit.len(), 2, "made and revoked");
}

#[tokio::test]
async fn a_customers_feed_shows_only_theirs_and_nobody_else_makes_lists_or_revokes_it() {
    let app = pinned_app().await;
    let salon = salon(&app, "own-feeds", 0).await;
    let (ana, anas) = customer_member(&app, &salon, "ana@own-feeds.test", "Ana").await;
    let (bea, beas) = customer_member(&app, &salon, "bea@own-feeds.test", "Bea").await;
    let hers = book(&app, &salon, &anas, "2026-03-04T09:00:00Z").await;
    let other = book(&app, &salon, &beas, "2026-03-04T10:00:00Z").await;

    let made = app.ok(&ana, CREATE, json!({"c": anas})).await["createCalendarFeed"].clone();
    let (status, _, text) = fetch(&app, made["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(text.contains(&hers.to_string()) && !text.contains(&other.to_string()), "{text}");
    assert!(text.contains("SUMMARY:Women's Haircut at ") && text.contains("DESCRIPTION:With Maria"), "{text}");
    let id = made["feed"]["id"].clone();

    // Another customer: not Ana's feed, not the provider's calendar.
    assert_eq!(app.error_code(&bea, CREATE, json!({"c": anas})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&bea, CREATE, json!({"p": salon.provider})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&bea, REVOKE, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(app.ok(&bea, LIST, json!({"c": anas})).await["calendarFeeds"], json!([]));
    // Staff not linked to the provider, and another business.
    let staff = app.add_member(&salon.owner, "staff@own-feeds.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, CREATE, json!({"p": salon.provider})).await, "NOT_FOUND");
    let (stranger, _) = app.owner_of("other-feeds").await;
    assert_eq!(app.error_code(&stranger, CREATE, json!({"p": salon.provider})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&stranger, CREATE, json!({"c": anas})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&stranger, REVOKE, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(app.ok(&stranger, LIST, json!({"c": anas})).await["calendarFeeds"], json!([]));
    // A partner client reading bookings makes no long-lived URL.
    let reader = crate::live_rights::client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&reader, CREATE, json!({"p": salon.provider})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&reader, REVOKE, json!({"id": id})).await, "FORBIDDEN");
    // Exactly one subject.
    let both = json!({"p": salon.provider, "c": anas});
    assert_eq!(app.error_code(&salon.owner, CREATE, both).await, "BAD_USER_INPUT");
    // The business sees Ana's feed; Ana's feed still works.
    let listed = app.ok(&salon.owner, LIST, json!({"c": anas})).await["calendarFeeds"].clone();
    assert_eq!(listed[0]["id"], id);
    assert_eq!(fetch(&app, made["url"].as_str().unwrap()).await.0, 200);
}

#[tokio::test]
async fn a_feed_stops_when_its_maker_leaves_the_business_and_a_subject_has_at_most_ten() {
    let app = pinned_app().await;
    let salon = salon(&app, "bounded-feeds", 0).await;
    let (ana, anas) = customer_member(&app, &salon, "ana@bounded-feeds.test", "Ana").await;
    let url = app.ok(&ana, CREATE, json!({"c": anas})).await["createCalendarFeed"]["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&app, &url).await.0, 200);
    for _ in 1..10 {
        app.ok(&salon.owner, CREATE, json!({"c": anas})).await;
    }
    assert_eq!(app.error_code(&salon.owner, CREATE, json!({"c": anas})).await, "CONFLICT");

    // Ana's membership ends: the URL she made stops working.
    let user = uuid::Uuid::parse_str(ana.user_id.as_deref().unwrap()).unwrap();
    let literal = if app.database.is_postgres() { format!("'{user}'") } else { format!("X'{}'", user.simple()) };
    app.execute(&format!("DELETE FROM memberships WHERE user_id = {literal}")).await;
    assert_eq!(fetch(&app, &url).await.0, 404);
}

/// The event in the last email to the salon's customer whose subject has `words`.
fn event_in(app: &TestApp, words: &str) -> String {
    let sent = app.email.sent();
    let email = sent.iter().rev().find(|m| m.to == "ana@example.com" && m.subject.contains(words));
    email.and_then(|m| m.calendar.clone()).unwrap_or_else(|| panic!("no event with {words:?}: {sent:?}"))
}

/// The `SEQUENCE` of an event's text.
fn sequence(text: &str) -> i64 {
    let line = text.lines().find(|l| l.starts_with("SEQUENCE:")).expect("a SEQUENCE");
    line["SEQUENCE:".len()..].trim().parse().unwrap()
}

#[tokio::test]
async fn a_bookings_emails_carry_its_event_which_calendar_apps_update_until_it_is_cancelled() {
    let app = pinned_app().await;
    let salon = salon(&app, "ics-salon", 0).await;
    let id = book(&app, &salon, &salon.customer, "2026-03-04T09:00:00Z").await;
    app.deliver().await;
    let received = event_in(&app, "received");
    assert!(received.contains(&format!("UID:{id}@tessera")) && received.contains("STATUS:TENTATIVE"), "{received}");
    assert!(received.contains("DTSTART:20260304T090000Z") && received.contains("DESCRIPTION:With Maria"), "{received}");

    app.clock.advance(chrono::Duration::minutes(5));
    let owner = app.login("owner@ics-salon.test").await.in_tenant("ics-salon");
    app.ok(&owner, "mutation($id: ID!) { confirmBooking(id: $id) { id } }", json!({"id": id})).await;
    app.clock.advance(chrono::Duration::minutes(5));
    app.ok(&owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": id})).await;
    app.deliver().await;
    let confirmed = event_in(&app, "confirmed");
    let cancelled = event_in(&app, "cancelled");
    assert!(confirmed.contains("STATUS:CONFIRMED") && cancelled.contains("STATUS:CANCELLED"), "{cancelled}");
    assert!(cancelled.contains(&format!("UID:{id}@tessera")), "the same event, so calendar apps update it");
    assert!(sequence(&received) < sequence(&confirmed) && sequence(&confirmed) < sequence(&cancelled));
}
