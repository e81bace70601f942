//! Notifications end to end: booking changes queue their messages in the same
//! transaction; the worker sends them over email (recorded, and through a real
//! SMTP sink started here), SMS, push, the in-app inbox (also live over
//! WebSocket) and signed webhooks verified by a receiver started here; failures
//! are retried with backoff and every attempt logged; a worker killed mid-batch
//! loses nothing; and another tenant sees and touches none of it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tessera_e2e::{Auth, TestApp, TestDatabase, WsEvent};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

pub(crate) const DELIVERIES: &str = "query($f: DeliveryFilterInput) { notificationDeliveries(first: 100, filter: $f) { edges { node { id notificationId topic channel destination status attemptCount lastError providerMessageId sentAt openedAt attempts { number outcome response error } } } } }";
const INBOX: &str = "{ myNotifications(first: 20) { edges { node { id topic title body subjectType subjectId readAt } } } unreadNotificationCount }";
pub(crate) const CREATE_ENDPOINT: &str = "mutation($url: String!, $topics: [String!]) { createWebhookEndpoint(input: {url: $url, topics: $topics}) { secret endpoint { id url topics active } } }";

pub(crate) fn nodes(data: &Value, field: &str) -> Vec<Value> {
    data[field]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// Links the salon's customer (Ana, with email and phone) to a member account, so
/// she also gets in-app and push messages.
pub(crate) async fn ana_with_account(app: &TestApp, salon: &Salon) -> Auth {
    let ana = app.add_member(&salon.owner, "ana@salon.test", &["customer"]).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {name: \"Ana López\", email: \"ana@example.com\", phone: \"+34611222333\", userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": salon.customer, "u": ana.user_id})).await;
    ana
}

pub(crate) async fn book(app: &TestApp, salon: &Salon, starts_at: &str) -> String {
    app.ok(&salon.owner, BOOK, booking_input(salon, starts_at)).await["createBooking"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_booking_is_confirmed_over_email_and_in_app_and_reminded_before_it_starts() {
    let app = pinned_app().await;
    let salon = salon(&app, "notified", 0).await;
    let ana = ana_with_account(&app, &salon).await;
    app.settle().await;
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;

    // The confirmation is in Ana's inbox at once; email waits for the worker.
    let inbox = app.ok(&ana, INBOX, json!({})).await;
    let messages = nodes(&inbox, "myNotifications");
    assert_eq!(messages.len(), 1, "{inbox}");
    assert_eq!(messages[0]["topic"], "booking.received", "the business has not confirmed it yet");
    assert_eq!(messages[0]["title"], "We have received your booking at Tenant notified");
    assert!(messages[0]["body"].as_str().unwrap().contains("2026-03-04 10:00 (Europe/Madrid)"), "{inbox}");
    assert_eq!((&messages[0]["subjectType"], &messages[0]["subjectId"]), (&json!("booking"), &json!(booking)));
    assert_eq!(inbox["unreadNotificationCount"], 1);
    assert!(app.email.sent().is_empty());

    assert_eq!(app.deliver().await, 1, "the confirmation email; the reminder is not due");
    let emails = app.email.sent();
    assert_eq!(emails.len(), 1);
    assert_eq!(
        (emails[0].to.as_str(), emails[0].subject.as_str()),
        ("ana@example.com", "We have received your booking at Tenant notified")
    );
    assert!(
        emails[0].message_id.contains(messages[0]["id"].as_str().unwrap()),
        "the notification id is the Message-ID"
    );
    assert!(emails[0].html.contains("/n/open/"), "an open pixel");
    assert!(app.sms.sent().is_empty(), "no SMS for a confirmation");

    let log = nodes(&app.ok(&salon.owner, DELIVERIES, json!({})).await, "notificationDeliveries");
    let by_channel: HashMap<&str, &Value> =
        log.iter().filter(|d| d["topic"] == "booking.received").map(|d| (d["channel"].as_str().unwrap(), d)).collect();
    let email = by_channel["EMAIL"];
    assert_eq!((&email["status"], &email["attemptCount"]), (&json!("SENT"), &json!(1)), "{log:?}");
    assert_eq!(email["attempts"][0]["outcome"], "SENT");
    assert_eq!(by_channel["IN_APP"]["status"], "SENT");
    let reminders: Vec<&Value> = log.iter().filter(|d| d["topic"] == "booking.reminder").collect();
    assert_eq!(reminders.len(), 4, "email, SMS, push and in-app, waiting: {log:?}");
    assert!(reminders.iter().all(|d| d["status"] == "PENDING"));

    // Reading marks it opened in the delivery log.
    let read = "mutation($id: ID!) { markNotificationRead(id: $id) { readAt } }";
    let read_at = app.ok(&ana, read, json!({"id": messages[0]["id"]})).await["markNotificationRead"]["readAt"].clone();
    assert!(read_at.is_string());
    let again = app.ok(&ana, read, json!({"id": messages[0]["id"]})).await;
    assert_eq!(again["markNotificationRead"]["readAt"], read_at, "the first read counts");
    let in_app = json!({"f": {"channel": "IN_APP", "notificationId": messages[0]["id"]}});
    let opened = &nodes(&app.ok(&salon.owner, DELIVERIES, in_app).await, "notificationDeliveries")[0];
    assert_eq!(opened["openedAt"], read_at);

    // A day before the start, the reminder goes out on every channel.
    app.clock.advance(chrono::Duration::hours(25) + chrono::Duration::minutes(1));
    assert_eq!(app.deliver().await, 4);
    assert_eq!(app.sms.sent().len(), 1);
    assert_eq!(app.sms.sent()[0].to, "+34611222333");
    assert!(
        app.sms.sent()[0].title.starts_with("Reminder: Women's Haircut on 2026-03-04 10:00"),
        "{:?}",
        app.sms.sent()
    );
    assert_eq!(app.push.sent()[0].to, ana.user_id.clone().unwrap());
    assert_eq!(app.email.sent().len(), 2);
    let ana = app.login("ana@salon.test").await.in_tenant("notified");
    let unread =
        app.ok(&ana, "{ myNotifications(first: 5, unreadOnly: true) { edges { node { topic } } } }", json!({})).await;
    assert_eq!(nodes(&unread, "myNotifications")[0]["topic"], "booking.reminder");
}

#[tokio::test]
async fn moving_or_cancelling_a_booking_tells_the_customer_and_withdraws_the_old_reminder() {
    let app = pinned_app().await;
    let salon = salon(&app, "moved", 0).await;
    app.settle().await;
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let move_it = "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-05T11:00:00Z\") { id } }";
    app.ok(&salon.owner, move_it, json!({"id": booking})).await;
    app.deliver().await;
    let subjects: Vec<String> = app.email.sent().iter().map(|e| e.subject.clone()).collect();
    // The change is high priority, so it leaves first.
    assert_eq!(subjects, ["Your booking at Tenant moved has changed", "We have received your booking at Tenant moved"]);
    let changed = &app.email.sent()[0];
    assert!(
        changed.text.contains("2026-03-05 12:00") && changed.text.contains("It was on 2026-03-04 10:00"),
        "{}",
        changed.text
    );
    assert_eq!(app.sms.sent().len(), 1, "a change is worth an SMS");

    let reminders = json!({"f": {"channel": "EMAIL"}});
    let log = nodes(&app.ok(&salon.owner, DELIVERIES, reminders).await, "notificationDeliveries");
    let statuses: Vec<(&str, &str)> = log
        .iter()
        .filter(|d| d["topic"] == "booking.reminder")
        .map(|d| (d["status"].as_str().unwrap(), d["destination"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("CANCELLED", "ana@example.com"), ("PENDING", "ana@example.com")],
        "one reminder, for the new time"
    );

    let cancel = "mutation($id: ID!) { cancelBooking(id: $id, reason: \"Ill\") { id } }";
    app.ok(&salon.owner, cancel, json!({"id": booking})).await;
    app.deliver().await;
    let cancelled = app.email.sent().last().unwrap().clone();
    assert_eq!(cancelled.subject, "Your booking at Tenant moved is cancelled");
    assert!(cancelled.text.contains("Reason: Ill.") && !cancelled.text.contains("refund"), "{}", cancelled.text);
    let log =
        nodes(&app.ok(&salon.owner, DELIVERIES, json!({"f": {"status": "PENDING"}})).await, "notificationDeliveries");
    assert!(log.is_empty(), "no reminder left for a cancelled booking: {log:?}");
    app.clock.advance(chrono::Duration::days(3));
    app.deliver().await;
    assert!(app.email.sent().iter().all(|e| !e.subject.starts_with("Reminder")), "withdrawn reminders never go out");
}

/// What a webhook receiver got: each request's id, timestamp, signature and body.
#[derive(Clone, Default)]
pub(crate) struct Inbox {
    pub(crate) received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Status codes to answer, in order; 200 once they run out.
    script: Arc<Mutex<Vec<u16>>>,
    delay: Duration,
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    tokio::time::sleep(inbox.delay).await;
    let status = {
        let mut script = inbox.script.lock().unwrap();
        if script.is_empty() { 200 } else { script.remove(0) }
    };
    // Recorded only once answered: a request cut off mid-way was not received.
    inbox.received.lock().unwrap().push((headers, String::from_utf8(body.to_vec()).unwrap()));
    StatusCode::from_u16(status).unwrap()
}

pub(crate) async fn receiver(script: Vec<u16>, delay: Duration) -> (String, Inbox) {
    let inbox = Inbox { script: Arc::new(Mutex::new(script)), delay, ..Inbox::default() };
    let router = Router::new().route("/hooks", post(receive)).with_state(inbox.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/hooks"), inbox)
}

/// Verifies a Standard Webhooks signature as a receiver would, from scratch.
pub(crate) fn signed_by(headers: &HeaderMap, body: &str, secret: &str, now: i64) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let Ok(sent_at) = timestamp.parse::<i64>() else { return false };
    if (now - sent_at).abs() > 300 {
        return false;
    }
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature").split(' ').any(|candidate| candidate == expected)
}

#[tokio::test]
async fn webhooks_are_signed_verified_by_the_receiver_and_keep_working_across_a_secret_rotation() {
    let app = pinned_app().await;
    let salon = salon(&app, "hooked", 0).await;
    let (url, inbox) = receiver(vec![], Duration::ZERO).await;
    let created = app.ok(&salon.owner, CREATE_ENDPOINT, json!({"url": url, "topics": ["booking.created"]})).await;
    let first_secret = created["createWebhookEndpoint"]["secret"].as_str().unwrap().to_owned();
    let endpoint = created["createWebhookEndpoint"]["endpoint"]["id"].clone();
    assert!(first_secret.starts_with("whsec_"));
    let listed = app.ok(&salon.owner, "{ webhookEndpoints { id url topics } }", json!({})).await;
    assert_eq!(listed["webhookEndpoints"], json!([{"id": endpoint, "url": url, "topics": ["booking.created"]}]));

    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let cancel = "mutation($id: ID!) { cancelBooking(id: $id) { id } }";
    app.ok(&salon.owner, cancel, json!({"id": booking})).await; // not subscribed to booking.cancelled
    app.deliver().await;
    let received = inbox.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "only the subscribed event");
    let (headers, body) = &received[0];
    let now = app.now().timestamp();
    assert!(signed_by(headers, body, &first_secret, now), "the receiver verifies the signature");
    assert!(
        !signed_by(headers, &body.replace("booking.created", "booking.cancelled"), &first_secret, now),
        "a changed body fails"
    );
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!((&payload["type"], &payload["data"]["bookingId"]), (&json!("booking.created"), &json!(booking)));
    assert_eq!(headers["webhook-id"].to_str().unwrap(), payload["id"].as_str().unwrap());

    // Rotation: both secrets sign during the overlap, then only the new one.
    let rotate = "mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapHours: 1) { secret endpoint { previousSecretExpiresAt } } }";
    let rotated = app.ok(&salon.owner, rotate, json!({"id": endpoint})).await;
    let second_secret = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(second_secret, first_secret);
    book(&app, &salon, "2026-03-04T11:00:00Z").await;
    app.deliver().await;
    let (headers, body) = inbox.received.lock().unwrap()[1].clone();
    let now = app.now().timestamp();
    assert!(signed_by(&headers, &body, &first_secret, now) && signed_by(&headers, &body, &second_secret, now));
    app.clock.advance(chrono::Duration::hours(2));
    let owner = app.login("owner@hooked.test").await.in_tenant("hooked");
    app.ok(&owner, BOOK, booking_input(&salon, "2026-03-04T13:00:00Z")).await;
    app.deliver().await;
    let (headers, body) = inbox.received.lock().unwrap()[2].clone();
    let now = app.now().timestamp();
    assert!(signed_by(&headers, &body, &second_secret, now) && !signed_by(&headers, &body, &first_secret, now));

    // Endpoint changes are audited, without the secret.
    let log =
        "{ auditLog(first: 50, filter: {targetType: \"webhook_endpoint\"}) { edges { node { action changes } } } }";
    let audited = nodes(&app.ok(&owner, log, json!({})).await, "auditLog");
    let actions: Vec<&Value> = audited.iter().map(|r| &r["action"]).collect();
    assert_eq!(actions, ["webhook_endpoint.created", "webhook_endpoint.secret_rotated"]);
    assert!(!audited.iter().any(|r| r["changes"].to_string().contains("whsec_")), "{audited:?}");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_logged() {
    let app = pinned_app().await;
    let salon = salon(&app, "flaky", 0).await;
    let (url, inbox) = receiver(vec![500, 503], Duration::ZERO).await;
    app.ok(&salon.owner, CREATE_ENDPOINT, json!({"url": url, "topics": ["booking.created"]})).await;
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let webhooks = json!({"f": {"channel": "WEBHOOK"}});
    let delivery = || async {
        nodes(&app.ok(&salon.owner, DELIVERIES, webhooks.clone()).await, "notificationDeliveries")[0].clone()
    };

    app.deliver().await;
    let first = delivery().await;
    assert_eq!((&first["status"], &first["attemptCount"]), (&json!("PENDING"), &json!(1)), "{first}");
    assert_eq!(first["lastError"], "the receiver answered 500");
    assert_eq!(app.deliver().await, 0, "not before its backoff");
    app.clock.advance(chrono::Duration::seconds(37));
    app.deliver().await;
    assert_eq!(delivery().await["attemptCount"], 2);
    app.clock.advance(chrono::Duration::seconds(37));
    assert_eq!(app.deliver().await, 0, "the second wait is twice the first");
    app.clock.advance(chrono::Duration::seconds(37));
    app.deliver().await;
    let done = delivery().await;
    assert_eq!(done["status"], "SENT", "{done}");
    let outcomes: Vec<(&Value, &Value)> =
        done["attempts"].as_array().unwrap().iter().map(|a| (&a["outcome"], &a["response"])).collect();
    assert_eq!(
        outcomes,
        [(&json!("RETRY"), &json!("500")), (&json!("RETRY"), &json!("503")), (&json!("SENT"), &json!("200"))]
    );
    let ids: Vec<String> =
        inbox.received.lock().unwrap().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert!(ids.len() == 3 && ids.iter().all(|id| *id == ids[0]), "every retry carries the same webhook-id");

    // A refusal retrying cannot fix is not retried.
    let (gone, _) = receiver(vec![410], Duration::ZERO).await;
    let update = "mutation($id: ID!, $url: String!) { updateWebhookEndpoint(id: $id, input: {url: $url}) { id } }";
    let endpoint =
        app.ok(&salon.owner, "{ webhookEndpoints { id } }", json!({})).await["webhookEndpoints"][0]["id"].clone();
    app.ok(&salon.owner, update, json!({"id": endpoint, "url": gone})).await;
    book(&app, &salon, "2026-03-04T11:00:00Z").await;
    app.deliver().await;
    let failed = nodes(
        &app.ok(&salon.owner, DELIVERIES, json!({"f": {"channel": "WEBHOOK", "status": "FAILED"}})).await,
        "notificationDeliveries",
    );
    assert_eq!(failed.len(), 1);
    assert_eq!((&failed[0]["attemptCount"], &failed[0]["attempts"][0]["outcome"]), (&json!(1), &json!("FAILED")));
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing_and_each_message_is_received_once() {
    let app = pinned_app().await;
    let salon = salon(&app, "crashy", 0).await;
    let (url, inbox) = receiver(vec![], Duration::from_millis(150)).await;
    app.ok(&salon.owner, CREATE_ENDPOINT, json!({"url": url, "topics": ["booking.created"]})).await;
    let starts = ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"];
    for start in starts {
        book(&app, &salon, &format!("2026-03-04T{start}:00Z")).await;
    }
    let worker = app.state.services.deliveries.clone();
    let running = tokio::spawn(worker.run(Duration::from_millis(20), tokio_util::sync::CancellationToken::new()));
    let waited = tokio::time::Instant::now();
    while inbox.received.lock().unwrap().len() < 3 {
        assert!(waited.elapsed() < Duration::from_secs(20), "the worker never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort(); // killed mid-batch: no chance to finish what it holds
    let _ = running.await;
    let at_kill: Vec<String> =
        inbox.received.lock().unwrap().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    let webhooks = json!({"f": {"channel": "WEBHOOK"}});
    let log = nodes(&app.ok(&salon.owner, DELIVERIES, webhooks.clone()).await, "notificationDeliveries");
    let sent_before: Vec<String> = log
        .iter()
        .filter(|d| d["status"] == "SENT")
        .map(|d| d["notificationId"].as_str().unwrap().to_owned())
        .collect();
    assert!(sent_before.len() < starts.len(), "the kill came mid-batch: {log:?}");

    // A new worker, once the dead one's leases run out, finishes the rest.
    app.clock.advance(chrono::Duration::minutes(3));
    app.deliver().await;
    let log = nodes(&app.ok(&salon.owner, DELIVERIES, webhooks).await, "notificationDeliveries");
    assert!(log.iter().all(|d| d["status"] == "SENT"), "nothing lost: {log:?}");
    let received: Vec<String> =
        inbox.received.lock().unwrap().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &received {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), starts.len(), "every event arrived: {counts:?}");
    for id in &sent_before {
        assert_eq!(counts[id.as_str()], 1, "a delivery recorded as sent is never sent again");
    }
    for (id, count) in &counts {
        // Only a message that reached the receiver in the instant of the kill, before
        // its delivery was recorded, comes again: with the same webhook-id, which the
        // receiver uses to drop the repeat.
        assert!(*count == 1 || (*count == 2 && at_kill.iter().any(|k| k == id)), "{id} arrived {count} times");
    }
}

/// A minimal SMTP server that keeps every message it accepts.
async fn smtp_sink() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "DATA" => {
                            write.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                data.push_str(&line);
                                data.push('\n');
                            }
                            kept.lock().unwrap().push(data);
                            b"250 queued as 1\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (address, messages)
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server_and_its_opens_are_tracked() {
    let (address, messages) = smtp_sink().await;
    let database = Arc::new(TestDatabase::create().await);
    let app = TestApp::spawn_with_options(
        database,
        |args| {
            args.smtp_url = Some(format!("smtp://{address}"));
            args.mail_from = Some("Bella Roma <hola@bella.test>".into());
        },
        |options| options.email = None,
    )
    .await;
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z").unwrap().to_utc());
    let salon = salon(&app, "smtp-salon", 0).await;
    app.deliver().await;
    messages.lock().unwrap().retain(|m| !m.contains("Subject: Confirm your email address"));
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    app.deliver().await;
    let sent = messages.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let raw = &sent[0];
    assert!(raw.contains("Subject: We have received your booking at Tenant smtp-salon"), "{raw}");
    assert!(raw.contains("ana@example.com>"), "{raw}");
    // The booking's event rides along for calendar apps.
    assert!(raw.contains("Content-Type: text/calendar; charset=utf-8; method=PUBLISH"), "{raw}");
    assert!(raw.contains("filename=\"booking.ics\""), "{raw}");
    assert!(
        raw.contains("From: \"Bella Roma\" <hola@bella.test>") || raw.contains("From: Bella Roma <hola@bella.test>"),
        "{raw}"
    );
    let log =
        nodes(&app.ok(&salon.owner, DELIVERIES, json!({"f": {"channel": "EMAIL"}})).await, "notificationDeliveries");
    let message_id = log[0]["providerMessageId"].as_str().unwrap();
    assert!(raw.contains(&format!("Message-ID: {message_id}")), "{raw}");
    assert!(message_id.ends_with("@bella.test>"));
    assert!(log[0]["attempts"][0]["response"].as_str().unwrap().starts_with("250"), "{log:?}");

    // The open pixel, found in the HTML part however it was encoded, then fetched.
    let token = pixel_token(raw);
    let pixel = app.http.get(app.url(&format!("/n/open/{token}"))).send().await.unwrap();
    assert_eq!(pixel.headers()["content-type"], "image/gif");
    let unknown = app.http.get(app.url("/n/open/not-a-token")).send().await.unwrap();
    assert_eq!(unknown.status(), 200, "unknown tokens look the same");
    let log =
        nodes(&app.ok(&salon.owner, DELIVERIES, json!({"f": {"channel": "EMAIL"}})).await, "notificationDeliveries");
    assert!(log[0]["openedAt"].is_string(), "{log:?}");
}

#[tokio::test]
async fn a_member_receives_her_notifications_live() {
    let app = pinned_app().await;
    let salon = salon(&app, "live-inbox", 0).await;
    let ana = ana_with_account(&app, &salon).await;
    let other = salon_elsewhere(&app).await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&ana).await;
    let feed = "subscription { notificationReceived { topic title subjectId } }";
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": feed}})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    book(&app, &other, "2026-03-04T09:00:00Z").await; // another business's customer
    let booking = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let event = ws.next(Duration::from_secs(10)).await.expect("a notification");
    let WsEvent::Json(message) = event else { panic!("expected a message, got {event:?}") };
    assert_eq!(message["payload"]["data"]["notificationReceived"]["subjectId"], json!(booking), "{message}");
    assert_eq!(message["payload"]["data"]["notificationReceived"]["topic"], "booking.received");
}

/// The open-pixel token in a raw message's HTML, whether the part was sent as
/// quoted-printable or base64.
fn pixel_token(raw: &str) -> String {
    let mut texts = vec![raw.replace("=\n", "").replace("=3D", "=")];
    let mut lines = raw.lines();
    while let Some(line) = lines.next() {
        if line.eq_ignore_ascii_case("Content-Transfer-Encoding: base64") {
            let encoded: String = lines
                .by_ref()
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty() && !l.starts_with("--"))
                .collect();
            texts.push(String::from_utf8_lossy(&STANDARD.decode(encoded).unwrap_or_default()).into_owned());
        }
    }
    let text = texts.iter().find(|t| t.contains("/n/open/")).expect("a pixel in the HTML part");
    let start = text.find("/n/open/").unwrap() + "/n/open/".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn salon_elsewhere(app: &TestApp) -> Salon {
    salon(app, "elsewhere-salon", 0).await
}

#[tokio::test]
async fn another_tenants_notifications_deliveries_and_endpoints_are_out_of_reach() {
    let app = pinned_app().await;
    let alice = salon(&app, "notify-alice", 0).await;
    let bob = salon(&app, "notify-bob", 0).await;
    let ana = ana_with_account(&app, &alice).await;
    let (url, _) = receiver(vec![], Duration::ZERO).await;
    let created = app.ok(&alice.owner, CREATE_ENDPOINT, json!({"url": url, "topics": []})).await;
    let endpoint = created["createWebhookEndpoint"]["endpoint"]["id"].clone();
    book(&app, &alice, "2026-03-04T09:00:00Z").await;
    let message = nodes(&app.ok(&ana, INBOX, json!({})).await, "myNotifications")[0]["id"].clone();

    assert!(nodes(&app.ok(&bob.owner, DELIVERIES, json!({})).await, "notificationDeliveries").is_empty());
    assert_eq!(app.ok(&bob.owner, "{ webhookEndpoints { id } }", json!({})).await["webhookEndpoints"], json!([]));
    let update = "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {url: \"http://127.0.0.1:1/x\"}) { id } }";
    let rotate = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }";
    let delete = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }";
    for mutation in [update, rotate, delete] {
        assert_eq!(app.error_code(&bob.owner, mutation, json!({"id": endpoint})).await, "NOT_FOUND", "{mutation}");
    }
    let read = "mutation($id: ID!) { markNotificationRead(id: $id) { id } }";
    assert_eq!(app.error_code(&bob.owner, read, json!({"id": message})).await, "NOT_FOUND", "not her reader");
    assert_eq!(
        app.error_code(&alice.owner, read, json!({"id": message})).await,
        "NOT_FOUND",
        "not even her salon's owner"
    );
    assert!(nodes(&app.ok(&alice.owner, INBOX, json!({})).await, "myNotifications").is_empty());
    let read_all = "mutation { markAllNotificationsRead }";
    assert_eq!(app.ok(&bob.owner, read_all, json!({})).await["markAllNotificationsRead"], 0);
    assert_eq!(app.ok(&alice.owner, read_all, json!({})).await["markAllNotificationsRead"], 0, "only one's own");
    assert_eq!(app.ok(&ana, INBOX, json!({})).await["unreadNotificationCount"], 1, "Ana's stays unread");
    assert_eq!(app.ok(&ana, read_all, json!({})).await["markAllNotificationsRead"], 1);
    let reaching_in = bob.owner.in_tenant("notify-alice");
    assert_eq!(app.error_code(&reaching_in, DELIVERIES, json!({})).await, "NOT_FOUND");
    let staff = app.add_member(&alice.owner, "staff@notify-alice.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, DELIVERIES, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&staff, CREATE_ENDPOINT, json!({"url": url})).await, "FORBIDDEN");
    // Bob's webhooks never receive Alice's events, and hers still work.
    app.deliver().await;
    let log =
        nodes(&app.ok(&alice.owner, DELIVERIES, json!({"f": {"channel": "WEBHOOK"}})).await, "notificationDeliveries");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "SENT");
}

#[tokio::test]
async fn channel_preferences_and_quiet_hours_decide_what_goes_out_and_when() {
    let app = pinned_app().await; // 09:00 in Madrid
    let salon = salon(&app, "quiet-salon", 0).await;
    let ana = ana_with_account(&app, &salon).await;
    app.settle().await;
    let set_tenant = "mutation($p: NotificationPreferencesInput!) { setTenantNotificationPreferences(input: $p) { own { sms } effective { email sms } } }";
    let tenant = app.ok(&salon.owner, set_tenant, json!({"p": {"sms": false}})).await;
    assert_eq!(tenant["setTenantNotificationPreferences"]["effective"], json!({"email": true, "sms": false}));
    let set_mine = "mutation($p: NotificationPreferencesInput!) { setMyNotificationPreferences(input: $p) { own { sms quietHours { start end timezone } } effective { email sms inApp } } }";
    let quiet = json!({"start": "08:00", "end": "10:00", "timezone": "Europe/Madrid"});
    let mine = app.ok(&ana, set_mine, json!({"p": {"sms": true, "quietHours": quiet}})).await;
    assert_eq!(mine["setMyNotificationPreferences"]["effective"], json!({"email": true, "sms": true, "inApp": true}));
    assert_eq!(mine["setMyNotificationPreferences"]["own"]["quietHours"], quiet);
    let bad = json!({"p": {"quietHours": {"start": "25:00", "end": "07:00", "timezone": "Europe/Madrid"}}});
    let (_, body) = app.post(&ana, set_mine, bad).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "quietHours.start", "{body}");

    // Ana's messages wait out her quiet hours (in-app excepted); James has no
    // account, so the tenant's "no SMS" applies to him.
    let james = app
        .ok(&salon.owner, "mutation { createCustomer(input: {name: \"James\", email: \"james@example.com\", phone: \"+34600999888\"}) { id } }", json!({}))
        .await["createCustomer"]["id"]
        .clone();
    let hers = book(&app, &salon, "2026-03-04T09:00:00Z").await;
    let his = app.ok(&salon.owner, BOOK, json!({"input": {"serviceId": salon.service, "providerId": salon.provider, "customerId": james, "startsAt": "2026-03-04T11:00:00Z"}})).await["createBooking"]["id"].clone();
    let move_to = "mutation($id: ID!, $at: DateTime!) { rescheduleBooking(id: $id, startsAt: $at) { id } }";
    app.ok(&salon.owner, move_to, json!({"id": hers, "at": "2026-03-05T09:00:00Z"})).await;
    app.ok(&salon.owner, move_to, json!({"id": his, "at": "2026-03-05T11:00:00Z"})).await;
    app.deliver().await;
    let sent_to: Vec<String> = app.email.sent().iter().map(|e| e.to.clone()).collect();
    assert_eq!(sent_to, ["james@example.com", "james@example.com"], "Ana's emails wait");
    assert!(app.sms.sent().is_empty(), "Ana's SMS waits; James's is off");
    let inbox = app.ok(&ana, INBOX, json!({})).await;
    assert_eq!(inbox["unreadNotificationCount"], 2, "in-app is never held: {inbox}");
    let held = nodes(
        &app.ok(&salon.owner, DELIVERIES, json!({"f": {"status": "PENDING", "channel": "EMAIL"}})).await,
        "notificationDeliveries",
    );
    let hers_held: Vec<&Value> =
        held.iter().filter(|d| d["destination"] == "ana@example.com" && d["topic"] != "booking.reminder").collect();
    assert_eq!(hers_held.len(), 2, "{held:?}");
    assert!(
        hers_held.iter().all(|d| d["attemptCount"] == 0 && d["attempts"] == json!([])),
        "holding is not a try: {held:?}"
    );
    assert_eq!(hers_held[0]["lastError"], "held for the recipient's quiet hours until 2026-03-02T09:00:00+00:00");
    let skipped =
        nodes(&app.ok(&salon.owner, DELIVERIES, json!({"f": {"status": "SKIPPED"}})).await, "notificationDeliveries");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        (&skipped[0]["destination"], &skipped[0]["lastError"]),
        (&json!("+34600999888"), &json!("the recipient turned SMS off"))
    );

    // At 10:00 in Madrid her quiet hours end, and everything goes out.
    app.clock.advance(chrono::Duration::hours(1));
    app.deliver().await;
    let to_ana: Vec<String> =
        app.email.sent().iter().filter(|e| e.to == "ana@example.com").map(|e| e.subject.clone()).collect();
    assert_eq!(to_ana.len(), 2, "{to_ana:?}");
    assert_eq!(app.sms.sent().iter().map(|s| s.to.as_str()).collect::<Vec<_>>(), ["+34611222333"]);

    // With in-app off, nothing more lands in her inbox.
    let ana = app.login("ana@salon.test").await.in_tenant("quiet-salon");
    let owner = app.login("owner@quiet-salon.test").await.in_tenant("quiet-salon");
    app.ok(&ana, set_mine, json!({"p": {"inApp": false}})).await;
    app.ok(&owner, BOOK, booking_input(&salon, "2026-03-06T09:00:00Z")).await;
    let count = app.ok(&ana, "{ unreadNotificationCount }", json!({})).await;
    assert_eq!(count["unreadNotificationCount"], 2);

    // Another tenant's defaults are its own, and staff cannot change the tenant's.
    let (elsewhere, _) = app.owner_of("quiet-elsewhere").await;
    let theirs = app.ok(&elsewhere, "{ tenantNotificationPreferences { effective { sms } } }", json!({})).await;
    assert_eq!(theirs["tenantNotificationPreferences"]["effective"]["sms"], true);
    let staff = app.add_member(&owner, "staff@quiet-salon.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, set_tenant, json!({"p": {"sms": true}})).await, "FORBIDDEN");
    let audited = "{ auditLog(first: 100, filter: {targetType: \"notification_preferences\"}) { edges { node { action targetId } } } }";
    let log = nodes(&app.ok(&owner, audited, json!({})).await, "auditLog");
    assert_eq!(log.len(), 3, "the tenant's and Ana's two changes: {log:?}");
}

#[tokio::test]
async fn a_tenant_writes_its_own_templates_checked_against_the_topic_and_used_from_then_on() {
    let app = pinned_app().await;
    let salon = salon(&app, "branded", 0).await;
    let other = salon_elsewhere(&app).await;
    let owner = &salon.owner;
    let list = "{ notificationTemplates { topic language custom title variables } }";
    let templates = app.ok(owner, list, json!({})).await["notificationTemplates"].as_array().unwrap().clone();
    assert_eq!(
        templates.len(),
        26,
        "thirteen business topics in English and Spanish (account messages are not the tenant's)"
    );
    assert!(templates.iter().all(|t| t["custom"] == false));
    let confirmed = templates.iter().find(|t| t["topic"] == "BOOKING_CONFIRMED" && t["language"] == "en").unwrap();
    assert_eq!(confirmed["title"], "Your booking at {{ businessName }} is confirmed");
    assert!(confirmed["variables"].as_array().unwrap().contains(&json!("customerName")));

    let set = "mutation($t: NotificationTopic!, $l: String!, $title: String!, $body: String!) { setNotificationTemplate(topic: $t, language: $l, title: $title, body: $body) { topic language custom title } }";
    let attempt = |title: &str, body: &str| json!({"t": "BOOKING_CONFIRMED", "l": "en", "title": title, "body": body});
    for (input, field) in [
        (attempt("Hi {{ nickname }}", "ok"), "title"),
        (attempt("Hi", "{% if %}broken"), "body"),
        (attempt("Hi", "{% for i in range(100000) %}{{ i }}{% endfor %}"), "body"),
        (attempt("", "ok"), "title"),
    ] {
        let (_, body) = app.post(owner, set, input.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body}");
    }
    let preview = "query($title: String!, $body: String!) { previewNotificationTemplate(topic: BOOKING_CONFIRMED, title: $title, body: $body) { title text html } }";
    let shown = app
        .ok(owner, preview, json!({"title": "¡{{ customerName }}, te esperamos!", "body": "<b>{{ serviceName }}</b>"}))
        .await;
    assert_eq!(shown["previewNotificationTemplate"]["title"], "¡Ana López, te esperamos!");
    assert!(
        shown["previewNotificationTemplate"]["html"]
            .as_str()
            .unwrap()
            .contains("&lt;b&gt;Women&#39;s Haircut&lt;/b&gt;")
    );

    let mine = attempt("See you soon, {{ customerName }}!", "{{ serviceName }} on {{ startsAt }}. {{ businessName }}");
    let saved = app.ok(owner, set, mine).await;
    assert_eq!(saved["setNotificationTemplate"]["custom"], true);
    // The template is the confirmation's: this business confirms bookings at once.
    let confirming = "mutation { updateTenant(input: {settings: {confirmBookingsAutomatically: true}}) { id } }";
    app.ok(owner, confirming, json!({})).await;
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    book(&app, &other, "2026-03-04T09:00:00Z").await;
    app.deliver().await;
    let subjects: Vec<String> = app.email.sent().iter().map(|e| e.subject.clone()).collect();
    assert!(subjects.contains(&"See you soon, Ana López!".to_owned()), "{subjects:?}");
    assert!(
        subjects.contains(&"We have received your booking at Tenant elsewhere-salon".to_owned()),
        "the other business keeps the built-in one"
    );
    let with_portuguese = json!({"t": "BOOKING_REMINDER", "l": "pt", "title": "Lembrete: {{ serviceName }}", "body": "Até logo, {{ customerName }}"});
    app.ok(owner, set, with_portuguese).await;
    assert_eq!(
        app.ok(owner, list, json!({})).await["notificationTemplates"].as_array().unwrap().len(),
        39,
        "three languages now"
    );
    let theirs = app.ok(&other.owner, list, json!({})).await["notificationTemplates"].as_array().unwrap().clone();
    assert!(theirs.len() == 26 && theirs.iter().all(|t| t["custom"] == false));

    let reset = "mutation { resetNotificationTemplate(topic: BOOKING_CONFIRMED, language: \"en\") { custom title } }";
    assert_eq!(app.ok(owner, reset, json!({})).await["resetNotificationTemplate"]["custom"], false);
    assert_eq!(app.error_code(owner, reset, json!({})).await, "NOT_FOUND", "nothing left to reset");
    assert_eq!(
        app.error_code(
            &other.owner,
            "mutation { resetNotificationTemplate(topic: BOOKING_REMINDER, language: \"pt\") { custom } }",
            json!({})
        )
        .await,
        "NOT_FOUND"
    );
    let staff = app.add_member(owner, "staff@branded.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, set, attempt("x", "y")).await, "FORBIDDEN");
    let audited = "{ auditLog(first: 100, filter: {targetType: \"notification_template\"}) { edges { node { action targetId } } } }";
    let log = nodes(&app.ok(owner, audited, json!({})).await, "auditLog");
    let actions: Vec<(&Value, &Value)> = log.iter().map(|r| (&r["action"], &r["targetId"])).collect();
    assert_eq!(
        actions,
        [
            (&json!("notification_template.set"), &json!("booking.confirmed:en")),
            (&json!("notification_template.set"), &json!("booking.reminder:pt")),
            (&json!("notification_template.reset"), &json!("booking.confirmed:en")),
        ]
    );
}
