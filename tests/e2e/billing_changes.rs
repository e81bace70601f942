//! Changing plan or seats over HTTP, priced by a quote, on the manual clock
//! against the in-process provider. The goldens are worked out by hand:
//! proration is by local day in Madrid, each share rounded down, and the
//! credit covers only what was paid for the period. Applying a quote charges
//! exactly its amount, once; an expired or outdated quote is refused; a
//! declined change changes nothing; a cheaper plan waits for the period's
//! end; quotes are their business's own and only owners make changes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_billing::{Interval, NewPlanVersion};
use tessera_e2e::fake_gateway::{FakeGateway, Fault};
use tessera_e2e::{Auth, TestApp};
use tessera_kernel::TenantTier;

use crate::billing::audit_actions;
use crate::billing_cards::{app_with_fake, app_with_stripe, fake_setup, keep_card};
use crate::live_rights::client_token;
use crate::payment_gateways::TestCard;

const PREVIEW: &str = "mutation($plan: String, $quantity: Int) { previewSubscriptionChange(planCode: $plan, quantity: $quantity) { \
    id timing effectiveAt quantity plan { code } amountDue { amountMinor currency } expiresAt \
    lines { kind description quantity amount { amountMinor } periodStart periodEnd } } }";
const APPLY: &str = "mutation($id: ID!) { applySubscriptionChange(quoteId: $id) { \
    subscription { status interval quantity plan { code } currentPeriodStart currentPeriodEnd scheduledChange { plan { code } quantity effectiveAt } } \
    invoice { id reason status total { amountMinor } amountPaid { amountMinor } } } }";
const STATE: &str = "{ currentTenant { tier } billing { subscription { status interval quantity plan { code } \
    currentPeriodStart currentPeriodEnd scheduledChange { plan { code } quantity effectiveAt } } \
    invoices(last: 20) { edges { node { reason status total { amountMinor } amountPaid { amountMinor } periodStart periodEnd } } } } }";
const CONFIRM: &str = "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap()
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().map(utc).unwrap()
}

/// Moves the clock to `to` and signs the owner of `slug` in again.
async fn owner_at(app: &TestApp, slug: &str, to: DateTime<Utc>) -> Auth {
    app.clock.set(to);
    app.login(&format!("owner@{slug}.test")).await.in_tenant(slug)
}

/// A business of `slug` made at `when`, keeping a card at the fake.
async fn business_with_card(app: &TestApp, fake: &FakeGateway, slug: &str, when: DateTime<Utc>) -> Auth {
    app.clock.set(when);
    let (owner, _) = app.owner_of(slug).await;
    let id = fake_setup(app, fake, &owner).await;
    app.ok(&owner, CONFIRM, json!({"id": id})).await;
    owner
}

/// A business of `slug` that started premium-monthly's trial at `when` and
/// paid its first month when the trial ended, 14 days later.
async fn monthly_after_trial(app: &TestApp, fake: &FakeGateway, slug: &str, when: DateTime<Utc>) {
    let owner = business_with_card(app, fake, slug, when).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { status } }", json!({})).await;
    app.clock.set(when + Duration::days(14));
    app.run_billing().await;
}

async fn add_plan(app: &TestApp, code: &str, interval: Interval, price_minor: i64, per_seat: bool) {
    let new = NewPlanVersion {
        code: code.into(),
        name: format!("Plan {code}"),
        tier: TenantTier::Premium,
        interval,
        price_minor,
        currency: "USD".into(),
        trial_days: 0,
        per_seat,
        available: true,
        overage_prices: Vec::new(),
    };
    app.state.services.billing.add_plan_version(new, app.now()).await.unwrap();
}

async fn preview(app: &TestApp, owner: &Auth, plan: Option<&str>, quantity: Option<i32>) -> Value {
    app.ok(owner, PREVIEW, json!({"plan": plan, "quantity": quantity})).await["previewSubscriptionChange"].clone()
}

async fn apply(app: &TestApp, owner: &Auth, quote: &Value) -> Value {
    app.ok(owner, APPLY, json!({"id": quote["id"]})).await["applySubscriptionChange"].clone()
}

fn amounts(quote: &Value) -> Vec<(String, i64)> {
    quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap().to_owned(), l["amount"]["amountMinor"].as_i64().unwrap()))
        .collect()
}

fn charges(fake: &FakeGateway) -> usize {
    fake.calls().iter().filter(|(op, _, _)| *op == "charge").count()
}

#[tokio::test]
async fn monthly_to_yearly_on_day_ten_charges_exactly_the_quote_once() {
    let (app, fake) = app_with_fake().await;
    let slug = "change-yearly";
    // The trial ends on 15 January at 10:00 in Madrid; the first month is paid.
    monthly_after_trial(&app, &fake, slug, utc("2027-01-01T09:00:00Z")).await;

    // Day 10 of 31 (24 January, 23:55 in Madrid): 22 days unused of the
    // 295.00 paid.
    let owner = owner_at(&app, slug, utc("2027-01-24T22:55:00Z")).await;
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    assert_eq!(quote["timing"], "NOW", "{quote}");
    assert_eq!(amounts(&quote), [("PLAN".to_owned(), 283_200), ("PRORATION_CREDIT".to_owned(), -20_935)]);
    assert_eq!(quote["lines"][1]["description"], "Unused time on the previous plan, 22 of 31 days");
    assert_eq!(quote["amountDue"]["amountMinor"], 262_265, "283200 − 29500 × 22 / 31, rounded down");
    assert_eq!(at(&quote["expiresAt"]), app.now() + Duration::minutes(15));

    // Applied ten minutes later, on day 11: the quoted amount, not the day's.
    app.clock.advance(Duration::minutes(10));
    let applied = apply(&app, &owner, &quote).await;
    let sub = &applied["subscription"];
    assert_eq!((sub["interval"].as_str(), sub["plan"]["code"].as_str()), (Some("YEARLY"), Some("premium-yearly")));
    assert_eq!(at(&sub["currentPeriodStart"]), utc("2027-01-24T22:55:00Z"), "a new period from the quote");
    assert_eq!(at(&sub["currentPeriodEnd"]), utc("2028-01-24T22:55:00Z"));
    let invoice = &applied["invoice"];
    assert_eq!((invoice["reason"].as_str(), invoice["status"].as_str()), (Some("CHANGE"), Some("PAID")), "{invoice}");
    assert_eq!(invoice["total"]["amountMinor"], 262_265);
    assert_eq!(invoice["amountPaid"]["amountMinor"], 262_265);

    // Applying it again answers the same, and charges nothing more.
    let charged = charges(&fake);
    let again = apply(&app, &owner, &quote).await;
    assert_eq!(again["invoice"]["id"], invoice["id"]);
    assert_eq!(charges(&fake), charged);
    let changes = app.rows("SELECT id FROM invoices WHERE reason = 'change'").await;
    assert_eq!(changes.len(), 1);
}

#[tokio::test]
async fn a_period_across_a_daylight_saving_change_is_counted_in_local_days() {
    let (app, fake) = app_with_fake().await;
    let slug = "change-dst";
    monthly_after_trial(&app, &fake, slug, utc("2027-03-01T09:00:00Z")).await;
    let owner = owner_at(&app, slug, utc("2027-03-30T10:00:00Z")).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    // 15 March 10:00 CET to 15 April 10:00 CEST: 743 hours, 31 days.
    assert_eq!(at(&state["billing"]["subscription"]["currentPeriodEnd"]), utc("2027-04-15T08:00:00Z"), "{state}");
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    // 16 of 31 days: 15225, where hours would give 15166.
    assert_eq!(amounts(&quote)[1], ("PRORATION_CREDIT".to_owned(), -15_225), "{quote}");
    assert_eq!(quote["amountDue"]["amountMinor"], 283_200 - 15_225);
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["invoice"]["amountPaid"]["amountMinor"], 283_200 - 15_225);
}

#[tokio::test]
async fn seats_added_twice_in_a_period_then_an_upgrade_credits_each_payment_for_its_own_days() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    add_plan(&app, "team-monthly", Interval::Monthly, 1_000, true).await;
    add_plan(&app, "team-yearly", Interval::Yearly, 10_000, true).await;
    let slug = "change-seats";
    let owner = business_with_card(&app, &fake, slug, utc("2027-01-15T09:00:00Z")).await;
    let start = "mutation { startSubscription(planCode: \"team-monthly\", quantity: 3) { status } }";
    assert_eq!(app.ok(&owner, start, json!({})).await["startSubscription"]["status"], "ACTIVE");

    // Day 10: two more seats for 22 of 31 days.
    let owner = owner_at(&app, slug, utc("2027-01-24T11:00:00Z")).await;
    let quote = preview(&app, &owner, None, Some(5)).await;
    assert_eq!(amounts(&quote), [("PRORATION_CHARGE".to_owned(), 1_419)], "2 × 1000 × 22 / 31: {quote}");
    assert_eq!(quote["lines"][0]["description"], "2 more seats of Plan team-monthly, 22 of 31 days");
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["subscription"]["quantity"], 5);
    assert_eq!(at(&applied["subscription"]["currentPeriodEnd"]), utc("2027-02-15T09:00:00Z"), "the same period");

    // Day 17: three more for 15 of 31 days.
    let owner = owner_at(&app, slug, utc("2027-01-31T11:00:00Z")).await;
    let quote = preview(&app, &owner, None, Some(8)).await;
    assert_eq!(quote["amountDue"]["amountMinor"], 1_451, "3 × 1000 × 15 / 31");
    apply(&app, &owner, &quote).await;

    // Day 22: yearly for 8 seats. Ten days are left of each payment:
    // 3000 × 10/31 = 967, 1419 × 10/22 = 645, 1451 × 10/15 = 967.
    let owner = owner_at(&app, slug, utc("2027-02-05T11:00:00Z")).await;
    let quote = preview(&app, &owner, Some("team-yearly"), None).await;
    assert_eq!(quote["quantity"], 8, "a per-seat plan keeps the seats");
    assert_eq!(amounts(&quote), [("PLAN".to_owned(), 80_000), ("PRORATION_CREDIT".to_owned(), -2_579)]);
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["invoice"]["amountPaid"]["amountMinor"], 77_421);
    let paid: i64 = app
        .rows("SELECT amount_minor FROM invoice_payments WHERE status = 'succeeded'")
        .await
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .sum();
    assert_eq!(paid, 3_000 + 1_419 + 1_451 + 77_421, "charged exactly what was quoted, each once");
}

#[tokio::test]
async fn during_the_trial_a_change_is_free_and_later_a_cheaper_plan_waits_for_the_period_end() {
    let (app, fake) = app_with_fake().await;
    let slug = "change-down";
    let owner = business_with_card(&app, &fake, slug, utc("2027-01-01T09:00:00Z")).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { status } }", json!({})).await;
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    assert_eq!((quote["timing"].as_str(), quote["amountDue"]["amountMinor"].as_i64()), (Some("TRIAL"), Some(0)));
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["subscription"]["status"], "TRIALING");
    assert_eq!(applied["subscription"]["plan"]["code"], "premium-yearly");
    assert!(applied["invoice"].is_null());

    // The trial's first invoice is for the yearly plan.
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    app.run_billing().await;
    let owner = owner_at(&app, slug, utc("2027-06-01T09:00:00Z")).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    let end = at(&state["billing"]["subscription"]["currentPeriodEnd"]);
    assert_eq!(end, utc("2028-01-15T09:00:00Z"), "{state}");

    // Monthly costs less per period: it waits for the year's end, with no refund.
    let quote = preview(&app, &owner, Some("premium-monthly"), None).await;
    assert_eq!(quote["timing"], "PERIOD_END");
    assert_eq!(quote["amountDue"]["amountMinor"], 0);
    assert_eq!(at(&quote["effectiveAt"]), end);
    assert_eq!(amounts(&quote), [("PLAN".to_owned(), 29_500)], "the next invoice");
    let charged = charges(&fake);
    let applied = apply(&app, &owner, &quote).await;
    assert!(applied["invoice"].is_null());
    let scheduled = &applied["subscription"]["scheduledChange"];
    assert_eq!((scheduled["plan"]["code"].as_str(), at(&scheduled["effectiveAt"])), (Some("premium-monthly"), end));
    assert_eq!(applied["subscription"]["interval"], "YEARLY", "until then");
    assert_eq!(charges(&fake), charged);
    // What the owner is told comes next: the monthly plan, from the year's end.
    let upcoming =
        "{ billing { upcomingInvoice { periodStart periodEnd total { amountMinor } lines { kind description } } } }";
    let next = app.ok(&owner, upcoming, json!({})).await["billing"]["upcomingInvoice"].clone();
    assert_eq!((at(&next["periodStart"]), at(&next["periodEnd"])), (end, utc("2028-02-15T09:00:00Z")), "{next}");
    assert_eq!(next["total"]["amountMinor"], 29_500);
    assert_eq!(next["lines"][0]["description"], "Premium, monthly");

    // Dropped and made again; at the year's end the first monthly period is billed.
    let discard = "mutation { discardScheduledChange { scheduledChange { quantity } } }";
    assert!(app.ok(&owner, discard, json!({})).await["discardScheduledChange"]["scheduledChange"].is_null());
    assert_eq!(app.error_code(&owner, discard, json!({})).await, "CONFLICT");
    let quote = preview(&app, &owner, Some("premium-monthly"), None).await;
    apply(&app, &owner, &quote).await;
    app.clock.set(end);
    app.run_billing().await;
    let owner = owner_at(&app, slug, end + Duration::hours(1)).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    let sub = &state["billing"]["subscription"];
    let issued = state["billing"]["invoices"]["edges"].as_array().unwrap().last().unwrap()["node"].clone();
    assert_eq!(
        (at(&issued["periodStart"]), at(&issued["periodEnd"])),
        (at(&next["periodStart"]), at(&next["periodEnd"]))
    );
    assert_eq!(issued["total"], next["total"], "the invoice is what was announced");
    let cancel = "mutation { cancelSubscription(atPeriodEnd: true) { status } }";
    app.ok(&owner, cancel, json!({})).await;
    assert!(app.ok(&owner, upcoming, json!({})).await["billing"]["upcomingInvoice"].is_null(), "nothing comes");
    assert_eq!((sub["interval"].as_str(), sub["plan"]["code"].as_str()), (Some("MONTHLY"), Some("premium-monthly")));
    assert!(sub["scheduledChange"].is_null(), "{state}");
    assert_eq!(at(&sub["currentPeriodEnd"]), utc("2028-02-15T09:00:00Z"));
    let invoices = state["billing"]["invoices"]["edges"].as_array().unwrap();
    let last = &invoices.last().unwrap()["node"];
    assert_eq!((last["reason"].as_str(), last["total"]["amountMinor"].as_i64()), (Some("RENEWAL"), Some(29_500)));
    assert_eq!(last["status"], "PAID");
}

#[tokio::test]
async fn an_expired_or_outdated_quote_is_refused_and_parallel_applies_charge_once() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    add_plan(&app, "plus-monthly", Interval::Monthly, 49_500, false).await;
    add_plan(&app, "max-monthly", Interval::Monthly, 99_500, false).await;
    let slug = "change-stale";
    let owner = business_with_card(&app, &fake, slug, utc("2027-01-15T09:00:00Z")).await;
    let start = "mutation { startSubscription(planCode: \"plus-monthly\") { status } }";
    app.ok(&owner, start, json!({})).await;
    let unchanged = app.ok(&owner, STATE, json!({})).await;

    let quote = preview(&app, &owner, Some("max-monthly"), None).await;
    let owner = owner_at(&app, slug, app.now() + Duration::minutes(16)).await;
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": quote["id"]})).await, "QUOTE_EXPIRED");
    assert_eq!(app.ok(&owner, STATE, json!({})).await, unchanged, "nothing changed, nothing billed");

    // Two quotes of one version: the first applied, the second is outdated.
    let first = preview(&app, &owner, Some("max-monthly"), None).await;
    let second = preview(&app, &owner, Some("max-monthly"), None).await;
    let charged = charges(&fake);
    let applies = (0..5).map(|_| app.post(&owner, APPLY, json!({"id": first["id"]})));
    let answers = futures_util::future::join_all(applies).await;
    let invoices: Vec<Value> = answers
        .iter()
        .filter(|(_, body)| tessera_e2e::error_code_of(body).is_empty())
        .map(|(_, body)| body["data"]["applySubscriptionChange"]["invoice"]["id"].clone())
        .collect();
    assert!(!invoices.is_empty(), "{answers:?}");
    assert!(invoices.iter().all(|id| *id == invoices[0]), "one invoice: {invoices:?}");
    assert_eq!(charges(&fake), charged + 1, "one charge");
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": second["id"]})).await, "QUOTE_EXPIRED");
}

#[tokio::test]
async fn a_declined_change_changes_nothing_and_the_invoice_is_void() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    add_plan(&app, "plus-monthly", Interval::Monthly, 49_500, false).await;
    let slug = "change-declined";
    let owner = business_with_card(&app, &fake, slug, utc("2027-01-15T09:00:00Z")).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"plus-monthly\") { status } }", json!({})).await;
    let before = app.ok(&owner, STATE, json!({})).await;
    let unchanged = |state: &Value| {
        assert_eq!(state["billing"]["subscription"], before["billing"]["subscription"], "{state}");
        assert_eq!(state["currentTenant"], before["currentTenant"]);
        let invoices = state["billing"]["invoices"]["edges"].as_array().unwrap();
        let change = &invoices.last().unwrap()["node"];
        assert_eq!((change["reason"].as_str(), change["status"].as_str()), (Some("CHANGE"), Some("VOID")));
    };
    // The provider is down: nothing was charged, and nothing changes.
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    fake.fail_next(&[Fault::Unavailable]);
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": quote["id"]})).await, "SERVICE_UNAVAILABLE");
    unchanged(&app.ok(&owner, STATE, json!({})).await);

    // A card the bank refuses becomes the default.
    let id = fake_setup(&app, &fake, &owner).await;
    fake.confirm_setup(&id, "visa", "0341", true);
    app.ok(&owner, CONFIRM, json!({"id": id})).await;

    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": quote["id"]})).await, "PAYMENT_DECLINED");
    unchanged(&app.ok(&owner, STATE, json!({})).await);
    let actions: Vec<String> = audit_actions(&app, &owner).await.into_iter().map(|(a, _)| a).collect();
    assert!(actions.iter().any(|a| a == "subscription.change_undone"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "invoice.voided"), "{actions:?}");
    // The quote was used: a new one is needed.
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": quote["id"]})).await, "CONFLICT");
}

#[tokio::test]
async fn quotes_are_their_business_own_and_only_owners_change_plans() {
    let (app, fake) = app_with_fake().await;
    let owner = business_with_card(&app, &fake, "change-mine", utc("2027-01-01T09:00:00Z")).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { status } }", json!({})).await;
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;

    let (other, _) = app.owner_of("change-theirs").await;
    assert_eq!(app.error_code(&other, APPLY, json!({"id": quote["id"]})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other, PREVIEW, json!({"plan": "premium-yearly"})).await, "NOT_FOUND");
    let discard = "mutation { discardScheduledChange { status } }";
    for role in ["admin", "staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@change-mine.test"), &[role]).await;
        assert_eq!(app.error_code(&member, PREVIEW, json!({"plan": "premium-yearly"})).await, "FORBIDDEN", "{role}");
        assert_eq!(app.error_code(&member, APPLY, json!({"id": quote["id"]})).await, "FORBIDDEN", "{role}");
        assert_eq!(app.error_code(&member, discard, json!({})).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.error_code(&partner, APPLY, json!({"id": quote["id"]})).await, "FORBIDDEN");

    // Bad input is refused by name, and changes nothing.
    for (plan, quantity) in
        [(Some("premium-monthly"), None), (Some("premium-yearly"), Some(2)), (Some("no-such"), None)]
    {
        let code = app.error_code(&owner, PREVIEW, json!({"plan": plan, "quantity": quantity})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{plan:?} {quantity:?}");
    }
    assert_eq!(app.error_code(&owner, APPLY, json!({"id": "not-an-id"})).await, "BAD_USER_INPUT");
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["subscription"]["plan"]["code"], "premium-yearly", "the owner's quote still holds");
}

#[tokio::test]
async fn a_business_goes_from_trial_to_paid_to_upgraded_to_past_due_and_back_against_localstripe() {
    let Some(base) = tessera_e2e::localstripe() else { return };
    let app = app_with_stripe(&base).await;
    let slug = "change-stripe";
    let (owner, _) = app.owner_of(slug).await;
    keep_card(&app, &owner, &base, TestCard::Visa).await;
    let start =
        app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { trialEnd } }", json!({})).await;
    let trial_end = at(&start["startSubscription"]["trialEnd"]);

    // Trial, then paid.
    app.clock.set(trial_end);
    app.run_billing().await;
    let owner = owner_at(&app, slug, trial_end + Duration::days(9)).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");

    // Upgraded: Stripe charges exactly the quote.
    let quote = preview(&app, &owner, Some("premium-yearly"), None).await;
    let applied = apply(&app, &owner, &quote).await;
    assert_eq!(applied["invoice"]["status"], "PAID", "{applied}");
    assert_eq!(applied["invoice"]["amountPaid"]["amountMinor"], quote["amountDue"]["amountMinor"]);
    let year_end = at(&applied["subscription"]["currentPeriodEnd"]);

    // A year on, the card is declined: past due, the plan's tier kept.
    keep_card(&app, &owner, &base, TestCard::Declines).await;
    app.clock.set(year_end);
    app.run_billing().await;
    let owner = owner_at(&app, slug, year_end + Duration::hours(1)).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "PAST_DUE", "{state}");
    assert_eq!(state["currentTenant"]["tier"], "PREMIUM");

    // And back: a card that pays, the open invoice paid.
    keep_card(&app, &owner, &base, TestCard::Visa).await;
    let open = state["billing"]["invoices"]["edges"].as_array().unwrap().last().unwrap()["node"].clone();
    assert_eq!(open["status"], "OPEN");
    let invoices = "{ billing { invoices(last: 1) { edges { node { id } } } } }";
    let id = app.ok(&owner, invoices, json!({})).await["billing"]["invoices"]["edges"][0]["node"]["id"].clone();
    app.ok(&owner, "mutation($id: ID!) { payInvoice(id: $id) { status } }", json!({"id": id})).await;
    let state = app.ok(&owner, STATE, json!({})).await;
    assert_eq!(state["billing"]["subscription"]["status"], "ACTIVE", "{state}");
}
