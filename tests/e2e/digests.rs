//! Daily digests over HTTP: a member's routine emails wait for their daily
//! time and leave as one email, counted once against the business's emails
//! (and not sent at all past its limit), while changes and reminders keep
//! their own time.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::notifications::{DELIVERIES, ana_with_account, book, nodes};
use crate::scheduling::{pinned_app, salon};
use crate::usage::{set_limit, tenant_id, used_now};

const SET_MINE: &str = "mutation($p: NotificationPreferencesInput!) { setMyNotificationPreferences(input: $p) { effective { emailDigest { at timezone } } } }";

/// The emails the business's tier has counted this month.
async fn emails_counted(app: &TestApp, owner: &Auth) -> i64 {
    used_now(app, owner, "EMAILS").await
}

#[tokio::test]
async fn a_daily_digest_gathers_routine_emails_while_changes_and_reminders_keep_their_time() {
    let app = pinned_app().await; // 09:00 in Madrid
    let salon = salon(&app, "digest-salon", 0).await;
    let ana = ana_with_account(&app, &salon).await;
    app.settle().await;
    let digest = json!({"at": "18:00", "timezone": "Europe/Madrid"});
    let set = app.ok(&ana, SET_MINE, json!({"p": {"emailDigest": digest}})).await;
    assert_eq!(set["setMyNotificationPreferences"]["effective"]["emailDigest"], digest);

    let first = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    book(&app, &salon, "2026-03-05T09:00:00Z").await;
    let move_to = "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-04T10:00:00Z\") { id } }";
    app.ok(&salon.owner, move_to, json!({"id": first})).await;
    app.deliver().await;
    let subjects: Vec<String> = app.email.sent().iter().map(|e| e.subject.clone()).collect();
    assert_eq!(subjects, ["Your booking at Tenant digest-salon has changed"], "a change does not wait for the digest");
    let held = json!({"f": {"channel": "EMAIL", "status": "PENDING"}});
    let log = nodes(&app.ok(&salon.owner, DELIVERIES, held).await, "notificationDeliveries");
    let waiting: Vec<&Value> = log.iter().filter(|d| d["topic"] == "booking.received").collect();
    assert_eq!(waiting.len(), 2, "{log:?}");
    assert_eq!(waiting[0]["lastError"], "held for the recipient's daily digest at 2026-03-02T17:00:00+00:00");

    // At 18:00 in Madrid both acknowledgements leave as one email, counted
    // once against the business's emails.
    let emails_before = emails_counted(&app, &salon.owner).await;
    app.clock.advance(chrono::Duration::hours(9));
    app.deliver().await;
    let digest_email = app.email.sent().last().unwrap().clone();
    assert_eq!(app.email.sent().len(), 2);
    assert_eq!(digest_email.subject, "Your updates (2)");
    assert_eq!(
        digest_email.text.matches("We have received your booking at Tenant digest-salon").count(),
        2,
        "{}",
        digest_email.text
    );
    assert!(digest_email.text.contains("2026-03-05 10:00"), "{}", digest_email.text);
    let owner = app.login("owner@digest-salon.test").await.in_tenant("digest-salon");
    assert_eq!(emails_counted(&app, &owner).await, emails_before + 1, "the digest is one email");
    let sent = nodes(
        &app.ok(&owner, DELIVERIES, json!({"f": {"channel": "EMAIL", "status": "SENT"}})).await,
        "notificationDeliveries",
    );
    let digested: Vec<&Value> = sent.iter().filter(|d| d["topic"] == "booking.received").collect();
    assert_eq!(digested.len(), 2);
    assert_eq!(digested[0]["providerMessageId"], digested[1]["providerMessageId"], "one email for both");
    assert!(digested.iter().all(|d| d["attempts"].as_array().unwrap().len() == 1));

    // The moved booking's reminder keeps its own time, a day before the start
    // (10:00 UTC the next day).
    app.clock.advance(chrono::Duration::hours(17) + chrono::Duration::minutes(1));
    app.deliver().await;
    let reminder = app.email.sent().last().unwrap().clone();
    assert!(reminder.subject.starts_with("Reminder: Women's Haircut on 2026-03-04 11:00"), "{}", reminder.subject);
    assert_eq!(app.email.sent().len(), 3);
}

#[tokio::test]
async fn a_digest_past_the_business_email_limit_is_not_sent_and_the_log_says_why() {
    let app = pinned_app().await; // 09:00 in Madrid
    let salon = salon(&app, "digest-over", 0).await;
    let ana = ana_with_account(&app, &salon).await;
    app.settle().await;
    app.ok(&ana, SET_MINE, json!({"p": {"emailDigest": {"at": "18:00", "timezone": "Europe/Madrid"}}})).await;
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    app.deliver().await;

    // By 18:00 the business has used every email its limit allows.
    let used = emails_counted(&app, &salon.owner).await;
    let tenant = tenant_id(&app, &salon.owner).await;
    set_limit(&app, &tenant, tessera_ledger::Metric::Emails, Some(used), tessera_ledger::LimitMode::Hard).await;
    let sent_before = app.email.sent().len();
    app.clock.advance(chrono::Duration::hours(9));
    app.deliver().await;

    assert_eq!(app.email.sent().len(), sent_before, "no digest left");
    let owner = app.login("owner@digest-over.test").await.in_tenant("digest-over");
    assert_eq!(emails_counted(&app, &owner).await, used, "nothing more was counted");
    let skipped = nodes(
        &app.ok(&owner, DELIVERIES, json!({"f": {"channel": "EMAIL", "status": "SKIPPED"}})).await,
        "notificationDeliveries",
    );
    let digest: Vec<&Value> = skipped.iter().filter(|d| d["topic"] == "booking.received").collect();
    assert_eq!(digest.len(), 1, "{skipped:?}");
    assert_eq!(digest[0]["lastError"], "over the business's email limit for this month: sent in the app instead");
}
