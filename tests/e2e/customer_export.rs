//! A customer's data as JSON (issue 22, item 7, in part: the GDPR right of
//! access): everything the business holds about one customer, their
//! record, bookings with add-ons and payments, reviews, waitlist entries,
//! calendar feeds and kept card, in one document; audited; for those who
//! manage customers and for the customer themselves, never across
//! businesses.

use serde_json::{Value, json};

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const EXPORT: &str = "mutation($id: ID!) { exportCustomerData(customerId: $id) }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id) { id status } }";

#[tokio::test]
async fn the_export_holds_everything_about_the_customer_and_nothing_else() {
    let app = pinned_app().await;
    let salon = salon(&app, "export-home", 0).await;
    let owner = salon.owner.clone();
    let mut with_addon = booking_input(&salon, "2026-03-04T09:00:00Z");
    with_addon["input"]["addonIds"] = json!([salon.addon]);
    with_addon["input"]["notes"] = json!("Allergic to lavender");
    let done = app.ok(&owner, BOOK, with_addon).await["createBooking"]["id"].clone();
    let cancelled =
        app.ok(&owner, BOOK, booking_input(&salon, "2026-03-05T09:00:00Z")).await["createBooking"]["id"].clone();
    app.ok(&owner, CANCEL, json!({"id": cancelled})).await;
    // Someone else's booking stays out of Ana's export.
    let made = "mutation { createCustomer(input: {name: \"Ben\", email: \"ben@example.com\"}) { id } }";
    let ben = app.ok(&owner, made, json!({})).await["createCustomer"]["id"].clone();
    let mut bens = booking_input(&salon, "2026-03-06T09:00:00Z");
    bens["input"]["customerId"] = ben.clone();
    app.ok(&owner, BOOK, bens).await;
    let join = "mutation($s: ID!, $c: ID!) { joinWaitlist(input: {serviceId: $s, customerId: $c, earliestDate: \"2026-03-09\", latestDate: \"2026-03-09\"}) { id } }";
    app.ok(&owner, join, json!({"s": salon.service, "c": salon.customer})).await;
    let feed = "mutation($c: ID!) { createCalendarFeed(customerId: $c) { feed { id } } }";
    app.ok(&owner, feed, json!({"c": salon.customer})).await;
    app.clock.set("2026-03-04T10:30:00Z".parse().unwrap());
    let owner = app.login("owner@export-home.test").await.in_tenant("export-home");
    for step in ["confirmBooking", "startBooking", "completeBooking"] {
        app.ok(&owner, &format!("mutation($id: ID!) {{ {step}(id: $id) {{ id }} }}"), json!({"id": done})).await;
    }

    let export = app.ok(&owner, EXPORT, json!({"id": salon.customer})).await["exportCustomerData"].clone();
    assert_eq!(export["customer"]["name"], "Ana López");
    assert_eq!(export["customer"]["email"], "ana@example.com");
    assert_eq!(export["customer"]["phone"], "+34611222333");
    assert_eq!(export["business"]["name"], "Tenant export-home");
    let bookings = export["bookings"].as_array().unwrap();
    // Hers, and the time the waitlist offers her (Ben's booking is not hers).
    assert_eq!(bookings.len(), 3, "{export}");
    assert_eq!(bookings.iter().filter(|b| b["offerExpiresAt"].is_string()).count(), 1);
    assert_eq!(export["bookingsTruncated"], false);
    let first = bookings.iter().find(|b| b["id"] == done).unwrap();
    assert_eq!(first["status"], "COMPLETED");
    assert_eq!(first["notes"], "Allergic to lavender");
    assert_eq!(first["addons"][0]["name"], "Olaplex Treatment");
    assert_eq!(first["priceMinor"], 11500);
    let second = bookings.iter().find(|b| b["id"] == cancelled).unwrap();
    assert_eq!(second["status"], "CANCELLED");
    assert_eq!(export["waitlistEntries"].as_array().unwrap().len(), 1);
    assert_eq!(export["waitlistEntries"][0]["status"], "OFFERED");
    assert_eq!(export["calendarFeeds"].as_array().unwrap().len(), 1);
    assert!(export["calendarFeeds"][0].get("tokenHash").is_none(), "the feed's secret is not data about the person");
    assert_eq!(export["reviews"], json!([]));
    assert!(!export.to_string().contains("ben@example.com"));
    let audit = app.rows("SELECT action FROM audit_records WHERE action = 'customer.exported'").await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn a_customer_exports_their_own_data_and_nobody_elses() {
    let app = pinned_app().await;
    let salon = salon(&app, "export-own", 0).await;
    let other = crate::scheduling::salon(&app, "export-away", 0).await;
    let luis = app.add_member(&salon.owner, "luis.x@example.com", &["customer"]).await;
    let mut own = booking_input(&salon, "2026-03-04T09:00:00Z");
    own["input"].as_object_mut().unwrap().remove("customerId");
    app.ok(&luis, BOOK, own).await;
    let me = app.ok(&luis, "{ customers { edges { node { id } } } }", json!({})).await;
    let mine = me["customers"]["edges"][0]["node"]["id"].clone();
    let export = app.ok(&luis, EXPORT, json!({"id": mine})).await["exportCustomerData"].clone();
    assert_eq!(export["customer"]["email"], "luis.x@example.com");
    assert_eq!(export["bookings"].as_array().unwrap().len(), 1);

    assert_eq!(app.error_code(&luis, EXPORT, json!({"id": salon.customer})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other.owner, EXPORT, json!({"id": salon.customer})).await, "NOT_FOUND");
    let staff = app.add_member(&salon.owner, "desk.x@example.com", &["staff"]).await;
    assert_eq!(app.error_code(&staff, EXPORT, json!({"id": salon.customer})).await, "FORBIDDEN");
    let reader = client_token(&app, &salon.owner, &["customer:read"]).await;
    assert_eq!(app.error_code(&reader, EXPORT, json!({"id": salon.customer})).await, "FORBIDDEN");
    let manager = client_token(&app, &salon.owner, &["customer:manage"]).await;
    let theirs = app.ok(&manager, EXPORT, json!({"id": salon.customer})).await["exportCustomerData"].clone();
    assert_eq!(theirs["customer"]["name"], "Ana López");
    assert_eq!(theirs["bookings"], Value::Array(vec![]));
}
