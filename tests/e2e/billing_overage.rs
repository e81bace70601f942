//! Use beyond a soft limit, billed over HTTP: the operator adds a plan
//! version that prices bookings beyond the limit; each month's overage is an
//! `OVERAGE` line on the first renewal invoice after the month ends, once,
//! and a month that ended before the subscription is never billed. The
//! database refuses a second line for a business's metric and month.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_api::catalogue::{IntervalArg, PlanAction};
use tessera_e2e::{Auth, TestApp};
use tessera_ledger::{LimitMode, Metric};

use crate::billing_cards::{app_with_fake, fake_setup};
use crate::live_rights::client_token;
use crate::scheduling::{BOOK, booking_input, salon, utc};
use crate::usage::{set_limit, tenant_id};

const PLANS: &str =
    "{ billing { plans { code version overagePrices { metric unitPrice { amountMinor currency } } } } }";
const INVOICES: &str = "{ billing { subscription { currentPeriodEnd } invoices(first: 20) { edges { node { \
    reason status total { amountMinor } lines { kind description quantity unitAmount { amountMinor } \
    amount { amountMinor } periodStart } } } } } }";
const UPCOMING: &str = "{ billing { upcomingInvoice { total { amountMinor } lines { kind description quantity } } } }";
const CONFIRM: &str = "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }";

fn add(overage: &[&str]) -> PlanAction {
    PlanAction::Add {
        code: "metered-monthly".into(),
        name: "Metered".into(),
        tier: "basic".into(),
        interval: IntervalArg::Monthly,
        price: 10_000,
        currency: "USD".into(),
        trial_days: 0,
        per_seat: false,
        withdrawn: false,
        overage: overage.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn invoices(state: &Value) -> Vec<Value> {
    state["billing"]["invoices"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// Books `times` (UTC) as the salon's owner.
async fn book(app: &TestApp, salon: &crate::scheduling::Salon, times: &[&str]) {
    for at in times {
        app.ok(&salon.owner, BOOK, booking_input(salon, at)).await;
    }
}

/// Moves past the subscription's period end, runs the job twice at once and
/// once more, and answers what the owner sees.
async fn renew(app: &TestApp, slug: &str, owner: &Auth) -> (Auth, Value) {
    let state = app.ok(owner, INVOICES, json!({})).await;
    let end: DateTime<Utc> = state["billing"]["subscription"]["currentPeriodEnd"].as_str().unwrap().parse().unwrap();
    app.clock.set(end + Duration::seconds(1));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    // Two jobs at once, as two gateways run it: one renewal, billed once.
    tokio::join!(app.run_billing(), app.run_billing());
    app.run_billing().await;
    let state = app.ok(&owner, INVOICES, json!({})).await;
    (owner, state)
}

#[tokio::test]
async fn each_months_overage_is_billed_once_on_the_next_renewal_at_the_plans_price() {
    let (app, fake) = app_with_fake().await;
    let services = &app.state.services;
    for (wrong, why) in [
        (vec!["providers=5"], "not counted per period"),
        (vec!["bookings=0"], "a unit costs"),
        (vec!["sms=5", "sms=6"], "priced twice"),
        (vec!["bookings"], "metric=price"),
    ] {
        let err = tessera_api::catalogue::plan(services, add(&wrong)).await.unwrap_err();
        assert!(err.contains(why), "{wrong:?}: {err}");
    }
    tessera_api::catalogue::plan(services, add(&["bookings=20"])).await.unwrap();

    app.clock.set(utc("2027-02-08T08:00:00Z"));
    let slug = "books-a-lot";
    let salon = salon(&app, slug, 0).await;
    let tenant = tenant_id(&app, &salon.owner).await;
    set_limit(&app, &tenant, Metric::Bookings, Some(1), LimitMode::Soft).await;
    // February, before any subscription: one over, never billed.
    book(&app, &salon, &["2027-02-09T09:00:00Z", "2027-02-10T09:00:00Z"]).await;

    app.clock.set(utc("2027-03-10T08:00:00Z"));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    let plans = app.ok(&owner, PLANS, json!({})).await;
    let metered =
        plans["billing"]["plans"].as_array().unwrap().iter().find(|p| p["code"] == "metered-monthly").cloned();
    assert_eq!(
        metered.unwrap()["overagePrices"],
        json!([{"metric": "BOOKINGS", "unitPrice": {"amountMinor": 20, "currency": "USD"}}])
    );
    let setup = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, CONFIRM, json!({"id": setup})).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"metered-monthly\") { status } }", json!({})).await;
    app.run_billing().await;
    // March: three bookings against a limit of one.
    let salon = crate::scheduling::Salon { owner: owner.clone(), ..salon };
    book(&app, &salon, &["2027-03-11T09:00:00Z", "2027-03-12T09:00:00Z", "2027-03-15T09:00:00Z"]).await;

    // Once March is over, the upcoming invoice shows its overage.
    app.clock.set(utc("2027-04-02T08:00:00Z"));
    let owner = app.login(&format!("owner@{slug}.test")).await.in_tenant(slug);
    let upcoming = app.ok(&owner, UPCOMING, json!({})).await["billing"]["upcomingInvoice"].clone();
    assert_eq!(upcoming["total"]["amountMinor"], 10_040, "{upcoming}");
    assert_eq!(
        upcoming["lines"][1],
        json!({"kind": "OVERAGE", "description": "Bookings beyond the plan's limit, March 2027", "quantity": 2})
    );

    let (owner, state) = renew(&app, slug, &owner).await;
    let all = invoices(&state);
    assert_eq!(all.len(), 2, "{state}");
    let renewal = &all[1];
    assert_eq!((renewal["reason"].as_str(), renewal["status"].as_str()), (Some("RENEWAL"), Some("PAID")), "{renewal}");
    assert_eq!(renewal["total"]["amountMinor"], 10_040);
    let overage = &renewal["lines"][1];
    assert_eq!(overage["kind"], "OVERAGE");
    assert_eq!(overage["description"], "Bookings beyond the plan's limit, March 2027");
    assert_eq!((overage["quantity"].as_i64(), overage["unitAmount"]["amountMinor"].as_i64()), (Some(2), Some(20)));
    assert_eq!(overage["amount"]["amountMinor"], 40);
    crate::billing_payments::totals_add_up(&app).await;

    // The database bills a business's month once, whatever the code does.
    let line = app.rows("SELECT tenant_id, invoice_id FROM invoice_lines WHERE metric = 'bookings'").await;
    assert_eq!(line.len(), 1);
    let again = format!(
        "INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, kind, description, quantity, unit_minor, \
         amount_minor, metric, usage_period) SELECT tenant_id, '{}', invoice_id, 9, 'overage', 'again', 2, 20, 40, \
         metric, usage_period FROM invoice_lines WHERE metric = 'bookings'",
        uuid::Uuid::now_v7()
    );
    assert!(app.try_execute(&again).await.is_err(), "a second line for March is refused");

    // April's one over is billed at the next renewal, and March not again.
    let salon = crate::scheduling::Salon { owner: owner.clone(), ..salon };
    book(&app, &salon, &["2027-04-12T09:00:00Z", "2027-04-13T09:00:00Z"]).await;
    let (_, state) = renew(&app, slug, &owner).await;
    let all = invoices(&state);
    assert_eq!(all.len(), 3, "{state}");
    let lines = all[2]["lines"].as_array().unwrap();
    let overage: Vec<(&str, i64)> = lines
        .iter()
        .filter(|l| l["kind"] == "OVERAGE")
        .map(|l| (l["description"].as_str().unwrap(), l["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(overage, [("Bookings beyond the plan's limit, April 2027", 1)], "{lines:?}");
    assert_eq!(all[2]["total"]["amountMinor"], 10_020);
}

#[tokio::test]
async fn only_billing_readers_see_a_plans_overage_prices() {
    let (app, _) = app_with_fake().await;
    tessera_api::catalogue::plan(&app.state.services, add(&["sms=5"])).await.unwrap();
    let (owner, _) = app.owner_of("reads-prices").await;
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@reads-prices.test"), &[role]).await;
        assert_eq!(app.error_code(&member, PLANS, json!({})).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    let seen = app.ok(&partner, PLANS, json!({})).await;
    let prices: Vec<&Value> = seen["billing"]["plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["overagePrices"].as_array().unwrap())
        .collect();
    assert_eq!(prices, [&json!({"metric": "SMS", "unitPrice": {"amountMinor": 5, "currency": "USD"}})]);
    let partner = client_token(&app, &owner, &["provider:read"]).await;
    assert_eq!(app.error_code(&partner, PLANS, json!({})).await, "FORBIDDEN");
}
