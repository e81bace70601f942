//! Charging for a subscription over HTTP, the clock moved by the test: a
//! trial with a kept card becomes active on its first invoice and renews
//! each month (against localstripe); a declined card runs the retry schedule
//! to past due and unpaid, with the owners told first and, urgently, before
//! the last try, and paying the open invoice restores the plan; a lost answer
//! is asked again with the same key and charges once (the in-process fake).
//! Invoices are the business's own.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_e2e::fake_gateway::Fault;
use tessera_e2e::{Auth, TestApp, localstripe};

use crate::billing::audit_actions;
use crate::billing_cards::{app_with_fake, app_with_stripe, fake_setup, keep_card};
use crate::live_rights::client_token;
use crate::payment_gateways::TestCard;

const START: &str = "mutation { startSubscription(planCode: \"premium-monthly\") { trialEnd } }";
const STATE: &str = "{ currentTenant { tier } billing { subscription { status currentPeriodStart currentPeriodEnd } \
    invoices(first: 20) { edges { node { id number reason status attempts nextAttemptAt periodStart periodEnd \
    total { amountMinor currency } amountPaid { amountMinor } lines { kind description quantity amount { amountMinor } } } } } } }";
const UPDATE_SCHEDULE: &str = "mutation { updateBillingDetails(input: {retryDays: []}) { retryDays } }";
const PAY: &str = "mutation($id: ID!) { payInvoice(id: $id) { status amountPaid { amountMinor } } }";

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc)).unwrap()
}

fn invoices(state: &Value) -> Vec<Value> {
    state["billing"]["invoices"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// Moves the clock to `to`, signs the owner in again, runs the billing job
/// and answers what the owner sees.
async fn run_at(app: &TestApp, slug: &str, to: DateTime<Utc>) -> (Auth, Value) {
    app.clock.set(to);
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    app.run_billing().await;
    let state = app.ok(&owner, STATE, json!({})).await;
    (owner, state)
}

/// The subjects and priorities of what reached the owner since the last call.
async fn owner_heard(app: &TestApp, owner: &Auth) -> Vec<(String, String)> {
    app.deliver().await;
    app.email.clear();
    let unread = "{ myNotifications(first: 50, unreadOnly: true) { edges { node { title priority } } } }";
    let inbox = app.ok(owner, unread, json!({})).await;
    let heard = inbox["myNotifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["title"].as_str().unwrap().to_owned(), e["node"]["priority"].as_str().unwrap().to_owned()))
        .collect();
    app.ok(owner, "mutation { markAllNotificationsRead }", json!({})).await;
    heard
}

/// No invoice whose lines do not add up to its subtotal, or whose total is not
/// its subtotal less its discount.
pub(crate) async fn totals_add_up(app: &TestApp) {
    let wrong = app
        .rows(
            "SELECT i.number FROM invoices i WHERE i.subtotal_minor <> (SELECT COALESCE(SUM(l.amount_minor), 0) \
             FROM invoice_lines l WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id AND l.kind <> 'discount') \
             OR i.total_minor <> i.subtotal_minor - i.discount_minor",
        )
        .await;
    assert!(wrong.is_empty(), "{} invoices do not add up", wrong.len());
}

#[tokio::test]
async fn a_trial_with_a_kept_card_becomes_active_on_its_first_invoice_and_renews_each_month() {
    let Some(base) = localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let slug = "pays-monthly";
    let (owner, _) = app.owner_of(slug).await;
    let trial_end = at(&app.ok(&owner, START, json!({})).await["startSubscription"]["trialEnd"]);
    keep_card(&app, &owner, &base, TestCard::Visa).await;

    let (owner, state) = run_at(&app, slug, trial_end + Duration::seconds(1)).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");
    assert_eq!(state["currentTenant"]["tier"], "PREMIUM");
    let first = invoices(&state);
    assert_eq!(first.len(), 1, "{state}");
    let invoice = &first[0];
    assert_eq!((invoice["reason"].as_str(), invoice["status"].as_str()), (Some("SUBSCRIPTION_START"), Some("PAID")));
    assert_eq!(invoice["total"], json!({"amountMinor": 29500, "currency": "USD"}));
    assert_eq!(invoice["amountPaid"]["amountMinor"], 29500);
    assert!(invoice["number"].as_str().unwrap().starts_with("INV-"));
    assert_eq!(at(&invoice["periodStart"]), at(&state["billing"]["subscription"]["currentPeriodStart"]));
    assert_eq!(invoice["lines"][0]["kind"], "PLAN");
    assert_eq!(invoice["lines"][0]["amount"]["amountMinor"], 29500);
    let heard = owner_heard(&app, &owner).await;
    assert!(heard.iter().any(|(title, _)| title.contains("paid")), "{heard:?}");

    // A month on, the next period is invoiced and paid; the period moves on.
    let period_end = at(&state["billing"]["subscription"]["currentPeriodEnd"]);
    let (owner, renewed) = run_at(&app, slug, period_end + Duration::seconds(1)).await;
    let all = invoices(&renewed);
    assert_eq!(all.len(), 2, "{renewed}");
    assert_eq!((all[1]["reason"].as_str(), all[1]["status"].as_str()), (Some("RENEWAL"), Some("PAID")));
    assert_eq!(at(&renewed["billing"]["subscription"]["currentPeriodStart"]), period_end);
    assert_ne!(all[0]["number"], all[1]["number"]);
    app.run_billing().await;
    assert_eq!(invoices(&app.ok(&owner, STATE, json!({})).await).len(), 2, "running again bills nothing twice");
    totals_add_up(&app).await;
    let actions: Vec<String> = audit_actions(&app, &owner).await.into_iter().map(|(a, _)| a).collect();
    for action in ["invoice.issued", "invoice.paid", "subscription.activated", "subscription.renewed"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }

    // Invoices are the business's own.
    let id = all[0]["id"].clone();
    let (other, _) = app.owner_of("pays-elsewhere").await;
    let theirs = app.ok(&other, STATE, json!({})).await;
    assert!(invoices(&theirs).is_empty(), "{theirs}");
    let one = "query($id: ID!) { billing { invoice(id: $id) { number } } }";
    assert_eq!(app.error_code(&other, one, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other, PAY, json!({"id": id})).await, "NOT_FOUND");
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@{slug}.test"), &[role]).await;
        assert_eq!(app.error_code(&member, one, json!({"id": id})).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.ok(&partner, one, json!({"id": id})).await["billing"]["invoice"]["number"], all[0]["number"]);
    assert_eq!(app.error_code(&partner, PAY, json!({"id": id})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_declined_card_runs_the_retry_schedule_to_unpaid_and_paying_restores_the_plan() {
    let Some(base) = localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let slug = "pays-late";
    let (owner, _) = app.owner_of(slug).await;
    let trial_end = at(&app.ok(&owner, START, json!({})).await["startSubscription"]["trialEnd"]);
    keep_card(&app, &owner, &base, TestCard::Declines).await;
    owner_heard(&app, &owner).await;

    // The first charge is declined: past due, the plan's tier kept, the owner told.
    let due = trial_end + Duration::seconds(1);
    let (owner, state) = run_at(&app, slug, due).await;
    assert_eq!(state["billing"]["subscription"]["status"], "PAST_DUE", "{state}");
    assert_eq!(state["currentTenant"]["tier"], "PREMIUM", "access runs on while retrying");
    let invoice = invoices(&state)[0].clone();
    assert_eq!((invoice["status"].as_str(), invoice["attempts"].as_i64()), (Some("OPEN"), Some(1)));
    let first_retry = at(&invoice["nextAttemptAt"]);
    assert!(first_retry - due < Duration::days(1) + Duration::seconds(2), "{invoice}");
    let heard = owner_heard(&app, &owner).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].0.contains("declined") && heard[0].1 == "HIGH", "{heard:?}");

    // Retries on days 1, 3 and 5 fail; before the last (day 7) the owner is told, urgently.
    let mut state = state;
    for day in [1, 3, 5] {
        let next = at(&invoices(&state)[0]["nextAttemptAt"]);
        let (owner, now) = run_at(&app, slug, next + Duration::seconds(1)).await;
        state = now;
        assert_eq!(state["billing"]["subscription"]["status"], "PAST_DUE", "day {day}: {state}");
        let heard = owner_heard(&app, &owner).await;
        if day == 5 {
            assert_eq!(heard.len(), 1, "{heard:?}");
            assert_eq!(heard[0].1, "URGENT", "{heard:?}");
        } else {
            assert!(heard.is_empty(), "day {day}: {heard:?}");
        }
    }
    let last = at(&invoices(&state)[0]["nextAttemptAt"]);
    let (owner, state) = run_at(&app, slug, last + Duration::seconds(1)).await;
    assert_eq!(state["billing"]["subscription"]["status"], "UNPAID", "{state}");
    assert_eq!(state["currentTenant"]["tier"], "FREE", "the free tier once the tries ran out");
    let open = invoices(&state)[0].clone();
    assert_eq!((open["status"].as_str(), open["attempts"].as_i64()), (Some("OPEN"), Some(5)));
    assert!(open["nextAttemptAt"].is_null());

    // A good card, and the open invoice paid once however many ask at once.
    keep_card(&app, &owner, &base, TestCard::Visa).await;
    let payers = (0..5).map(|_| app.post(&owner, PAY, json!({"id": open["id"]})));
    let answers = futures_util::future::join_all(payers).await;
    let paid = answers.iter().filter(|(_, b)| b["data"]["payInvoice"]["status"] == "PAID").count();
    assert!(paid >= 1, "{answers:?}");
    for (_, body) in &answers {
        if body["data"]["payInvoice"].is_null() {
            assert_eq!(tessera_e2e::error_code_of(body), "CONFLICT", "{body}");
        }
    }
    let charged = app.rows("SELECT id FROM invoice_payments WHERE status = 'succeeded'").await;
    assert_eq!(charged.len(), 1, "one charge");
    let restored = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(restored["billing"]["subscription"]["status"], "ACTIVE", "{restored}");
    assert_eq!(restored["currentTenant"]["tier"], "PREMIUM", "the plan's limits, in the paying transaction");
    assert_eq!(invoices(&restored)[0]["attempts"], 5, "paying by hand is not a try of the schedule");
    totals_add_up(&app).await;
}

#[tokio::test]
async fn paying_after_the_period_lapsed_starts_a_new_period_and_bills_no_lapsed_one() {
    let Some(base) = localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let slug = "pays-months-late";
    let (owner, _) = app.owner_of(slug).await;
    app.ok(&owner, UPDATE_SCHEDULE, json!({})).await;
    let trial_end = at(&app.ok(&owner, START, json!({})).await["startSubscription"]["trialEnd"]);
    keep_card(&app, &owner, &base, TestCard::Declines).await;
    let (_, state) = run_at(&app, slug, trial_end + Duration::seconds(1)).await;
    assert_eq!(state["billing"]["subscription"]["status"], "UNPAID", "no retries: {state}");

    // Three months later the owner pays the open invoice with a good card.
    let later = trial_end + Duration::days(90);
    let (owner, _) = run_at(&app, slug, later).await;
    keep_card(&app, &owner, &base, TestCard::Visa).await;
    let open = invoices(&app.ok(&owner, STATE, json!({})).await)[0]["id"].clone();
    app.ok(&owner, PAY, json!({"id": open})).await;
    app.run_billing().await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");
    assert_eq!(at(&state["billing"]["subscription"]["currentPeriodStart"]), app.now(), "a new period from the payment");
    assert_eq!(invoices(&state).len(), 1, "the lapsed months are not billed: {state}");
}

#[tokio::test]
async fn a_lost_answer_is_asked_again_with_the_same_key_and_an_outage_is_no_decline() {
    let (app, fake) = app_with_fake().await;
    let slug = "pays-lost";
    let (owner, _) = app.owner_of(slug).await;
    let trial_end = at(&app.ok(&owner, START, json!({})).await["startSubscription"]["trialEnd"]);
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }", json!({"id": id}))
        .await;

    // The provider charges, and the answer is lost: nothing is decided.
    fake.fail_next(&[Fault::LoseAnswer]);
    let (_, state) = run_at(&app, slug, trial_end + Duration::seconds(1)).await;
    assert_eq!(state["billing"]["subscription"]["status"], "TRIALING", "{state}");
    assert_eq!(invoices(&state)[0]["status"], "OPEN");
    let unknown = app.rows("SELECT id FROM invoice_payments WHERE status = 'unknown'").await;
    assert_eq!(unknown.len(), 1);
    app.run_billing().await;
    // Minutes later the janitor asks again, with the same key: paid, once.
    let (owner, state) = run_at(&app, slug, trial_end + Duration::minutes(7)).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");
    let charges: Vec<Option<String>> =
        fake.calls().into_iter().filter(|(op, _, _)| *op == "charge").map(|(_, key, _)| key).collect();
    assert_eq!(charges.len(), 2, "{charges:?}");
    assert_eq!(charges[0], charges[1], "the same idempotency key");
    let made = fake.events_of("payment_intent.succeeded");
    assert_eq!(made, 1, "the provider charged once");

    // At the renewal the provider is down: no decline, no past due; the next run charges.
    fake.fail_next(&[Fault::Unavailable]);
    let period_end = at(&state["billing"]["subscription"]["currentPeriodEnd"]);
    let (_, down) = run_at(&app, slug, period_end + Duration::seconds(1)).await;
    assert_eq!(down["billing"]["subscription"]["status"], "ACTIVE", "{down}");
    let renewal = invoices(&down)[1].clone();
    assert_eq!((renewal["status"].as_str(), renewal["attempts"].as_i64()), (Some("OPEN"), Some(0)));
    app.run_billing().await;
    let (_, up) = run_at(&app, slug, period_end + Duration::minutes(2)).await;
    assert_eq!(invoices(&up)[1]["status"], "PAID", "{up}");
    let _ = owner;
}

#[tokio::test]
async fn a_payment_the_bank_is_still_processing_is_asked_about_again_until_it_settles() {
    let (app, fake) = app_with_fake().await;
    let slug = "pays-processing";
    let (owner, _) = app.owner_of(slug).await;
    let trial_end = at(&app.ok(&owner, START, json!({})).await["startSubscription"]["trialEnd"]);
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }", json!({"id": id}))
        .await;

    fake.fail_next(&[Fault::Processing]);
    let (_, state) = run_at(&app, slug, trial_end + Duration::seconds(1)).await;
    assert_eq!(invoices(&state)[0]["status"], "OPEN", "{state}");
    let pending = app.rows("SELECT id FROM invoice_payments WHERE status = 'pending'").await;
    assert_eq!(pending.len(), 1);

    // Not at once: the bank is given a while; then asked with the same key.
    let (_, state) = run_at(&app, slug, trial_end + Duration::minutes(2)).await;
    assert_eq!(invoices(&state)[0]["status"], "OPEN");
    let (_, state) = run_at(&app, slug, trial_end + Duration::minutes(7)).await;
    assert_eq!(invoices(&state)[0]["status"], "PAID", "{state}");
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE");
    let keys: Vec<Option<String>> =
        fake.calls().into_iter().filter(|(op, _, _)| *op == "charge").map(|(_, key, _)| key).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], keys[1], "asked again with the same key");
}
