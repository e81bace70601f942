//! A subscription's life over HTTP, with the clock moved by the test: one
//! trial per business, the business's tier following the subscription in the
//! same transaction, the owners told three days before the trial ends, the
//! trial ending on the free tier, cancelling at the period's end and resuming
//! before it, and parallel starts giving one subscription.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::billing::{UPDATE, audit_actions};

const START: &str = "mutation { startSubscription(planCode: \"premium-monthly\") { id status trialEnd currentPeriodEnd cancelAtPeriodEnd } }";
const CANCEL: &str = "mutation($end: Boolean!) { cancelSubscription(atPeriodEnd: $end) { status cancelAtPeriodEnd canceledAt endedAt currentPeriodEnd } }";
const RESUME: &str = "mutation { resumeSubscription { status cancelAtPeriodEnd canceledAt } }";
const CURRENT: &str =
    "{ billing { subscription { status cancelAtPeriodEnd trialEnd } details { trialUsedAt } } currentTenant { tier } }";

async fn current(app: &TestApp, owner: &Auth) -> Value {
    app.ok(owner, CURRENT, json!({})).await
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc)).unwrap()
}

/// The owner of `slug`, signed in again after the clock moved past their
/// session.
async fn owner_again(app: &TestApp, slug: &str) -> Auth {
    app.login(&format!("owner@{slug}.test")).await.in_tenant(slug)
}

/// The subjects of the emails sent to `to` since the last call.
async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    app.deliver().await;
    let subjects = app.email.sent().into_iter().filter(|m| m.to == to).map(|m| m.subject).collect();
    app.email.clear();
    subjects
}

#[tokio::test]
async fn a_trial_runs_once_moves_the_tier_and_ends_on_the_free_tier_when_unpaid() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("trial-run").await;
    app.settle().await;
    let owner_mail = "owner@trial-run.test";
    app.ok(&owner, UPDATE, json!({"input": {"billingEmail": "accounts@trial-run.test"}})).await;

    let started = app.ok(&owner, START, json!({})).await;
    let started = &started["startSubscription"];
    assert_eq!(started["status"], "TRIALING", "{started}");
    // 14 local days in Madrid, whatever the clocks do meanwhile.
    let trial_end = at(&started["trialEnd"]);
    let madrid: chrono_tz::Tz = "Europe/Madrid".parse().unwrap();
    let local_start = app.now().with_timezone(&madrid);
    let local_end = trial_end.with_timezone(&madrid);
    assert_eq!(local_end.date_naive() - local_start.date_naive(), Duration::days(14));
    assert_eq!(local_end.format("%H:%M:%S").to_string(), local_start.format("%H:%M:%S").to_string());
    let now = current(&app, &owner).await;
    assert_eq!(now["currentTenant"]["tier"], "PREMIUM", "the tier moved with the start: {now}");
    assert!(now["billing"]["details"]["trialUsedAt"].is_string());
    assert!(mails_to(&app, owner_mail).await.iter().any(|s| s.contains("has started")));
    assert!(mails_to(&app, "accounts@trial-run.test").await.is_empty(), "sent before the owner looked");

    assert_eq!(app.error_code(&owner, START, json!({})).await, "CONFLICT", "one subscription at a time");

    // Eleven days on, the owners and the billing address hear the trial ends in three.
    app.clock.advance(Duration::days(11) + Duration::minutes(1));
    let owner = owner_again(&app, "trial-run").await;
    app.run_billing().await;
    app.run_billing().await;
    app.deliver().await;
    let sent = app.email.sent();
    app.email.clear();
    let reminders: Vec<_> = sent.iter().filter(|m| m.subject.contains("trial ends")).collect();
    assert_eq!(reminders.len(), 2, "once each to the owner and the billing address: {sent:?}");
    assert!(
        reminders.iter().any(|m| m.to == owner_mail) && reminders.iter().any(|m| m.to == "accounts@trial-run.test")
    );
    assert!(reminders[0].text.contains("295.00 USD a month"), "{}", reminders[0].text);
    assert_eq!(current(&app, &owner).await["billing"]["subscription"]["status"], "TRIALING");

    // At its end, unpaid, the business is back on the free tier.
    app.clock.set(trial_end + Duration::seconds(1));
    let owner = owner_again(&app, "trial-run").await;
    app.run_billing().await;
    let ended = current(&app, &owner).await;
    assert_eq!(ended["billing"]["subscription"]["status"], "INACTIVE", "{ended}");
    assert_eq!(ended["currentTenant"]["tier"], "FREE");
    assert!(mails_to(&app, owner_mail).await.iter().any(|s| s.contains("has ended")));

    let actions: Vec<String> = audit_actions(&app, &owner).await.into_iter().map(|(a, _)| a).collect();
    let billing: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("subscription.") || *a == "tenant.tier_changed")
        .collect();
    assert_eq!(
        billing,
        ["subscription.started", "tenant.tier_changed", "subscription.trial_ended", "tenant.tier_changed"],
        "{actions:?}"
    );

    // The trial was used: a new start after cancelling waits for payment.
    let canceled = app.ok(&owner, CANCEL, json!({"end": false})).await;
    assert_eq!(canceled["cancelSubscription"]["status"], "CANCELED", "{canceled}");
    assert!(current(&app, &owner).await["billing"]["subscription"].is_null());
    let again = app.ok(&owner, START, json!({})).await;
    assert_eq!(again["startSubscription"]["status"], "INACTIVE", "{again}");
    assert!(again["startSubscription"]["trialEnd"].is_null());
    assert_eq!(current(&app, &owner).await["currentTenant"]["tier"], "FREE");
}

#[tokio::test]
async fn cancelling_at_the_period_end_keeps_the_tier_until_then_and_resuming_undoes_it() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("trial-cancel").await;
    let started = app.ok(&owner, START, json!({})).await;
    let period_end = at(&started["startSubscription"]["currentPeriodEnd"]);

    let scheduled = app.ok(&owner, CANCEL, json!({"end": true})).await;
    let scheduled = &scheduled["cancelSubscription"];
    assert_eq!(
        (scheduled["status"].as_str(), scheduled["cancelAtPeriodEnd"].as_bool()),
        (Some("TRIALING"), Some(true))
    );
    assert!(scheduled["endedAt"].is_null() && scheduled["canceledAt"].is_string(), "{scheduled}");
    assert_eq!(current(&app, &owner).await["currentTenant"]["tier"], "PREMIUM", "access runs to the period's end");
    let again = app.ok(&owner, CANCEL, json!({"end": true})).await;
    assert_eq!(again["cancelSubscription"]["canceledAt"], scheduled["canceledAt"], "asking again changes nothing");

    let resumed = app.ok(&owner, RESUME, json!({})).await;
    assert_eq!(resumed["resumeSubscription"]["cancelAtPeriodEnd"], false);
    assert!(resumed["resumeSubscription"]["canceledAt"].is_null());
    assert_eq!(app.error_code(&owner, RESUME, json!({})).await, "CONFLICT", "nothing to resume");

    app.ok(&owner, CANCEL, json!({"end": true})).await;
    // A day before the end nothing changes; the job runs late, after the end.
    app.clock.set(period_end - Duration::days(1));
    let owner = owner_again(&app, "trial-cancel").await;
    app.run_billing().await;
    assert_eq!(current(&app, &owner).await["billing"]["subscription"]["status"], "TRIALING");
    app.clock.set(period_end + Duration::hours(5));
    let owner = owner_again(&app, "trial-cancel").await;
    app.run_billing().await;
    let now = current(&app, &owner).await;
    assert!(now["billing"]["subscription"].is_null(), "it ended: {now}");
    assert_eq!(now["currentTenant"]["tier"], "FREE");
    let log = audit_actions(&app, &owner).await;
    let (_, ended) = log.iter().find(|(a, _)| a == "subscription.ended").expect("the end is audited");
    let ended_at = ended.to_string();
    assert!(
        ended_at.contains(&period_end.format("%Y-%m-%dT%H:%M").to_string()),
        "it ended when its period did: {ended}"
    );
    assert_eq!(app.error_code(&owner, RESUME, json!({})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&owner, CANCEL, json!({"end": false})).await, "NOT_FOUND");
}

#[tokio::test]
async fn parallel_starts_give_one_subscription_and_one_trial() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("trial-race").await;
    let attempts = (0..10).map(|_| app.post(&owner, START, json!({})));
    let answers = futures_util::future::join_all(attempts).await;
    let started = answers.iter().filter(|(_, b)| b["data"]["startSubscription"]["status"] == "TRIALING").count();
    assert_eq!(started, 1, "{answers:?}");
    let refused = answers.iter().filter(|(_, b)| tessera_e2e::error_code_of(b) == "CONFLICT").count();
    assert_eq!(refused, 9, "{answers:?}");
    let rows = app.rows("SELECT status FROM subscriptions").await;
    assert_eq!(rows.len(), 1);
    // The database holds it too: a second live subscription cannot be written.
    let copy = "INSERT INTO subscriptions SELECT tenant_id, plan_id AS id, plan_id, status, quantity, unit_price_minor, \
        currency, interval, current_period_start, current_period_end, trial_end, trial_reminded_at, cancel_at_period_end, \
        canceled_at, ended_at, previous_subscription_id, version, created_at, updated_at FROM subscriptions";
    assert!(app.try_execute(copy).await.is_err(), "the live-subscription index refuses a second");
}
