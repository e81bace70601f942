//! Coupons over HTTP: the operator offers them, owners redeem them, and
//! invoices take them off in order, never below zero. A one-use coupon
//! redeemed by two businesses at once is redeemed once; a quote shows the
//! discount its invoice will take, and a declined change gives it back;
//! codes are checked, and only owners redeem.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_api::coupons::{CouponAction, DurationArg};
use tessera_billing::{CouponDuration, Interval, NewCoupon, NewPlanVersion};
use tessera_e2e::{Auth, TestApp};
use tessera_kernel::TenantTier;

use crate::billing_cards::{app_with_fake, fake_setup};
use crate::billing_payments::totals_add_up;
use crate::live_rights::client_token;

const REDEEM: &str = "mutation($code: String!) { redeemCoupon(code: $code) { code status } }";
const COUPONS: &str = "{ billing { coupons { code status periodsRemaining amountRemaining { amountMinor } } } }";
const INVOICES: &str = "{ billing { invoices(last: 20) { edges { node { reason status total { amountMinor } \
    lines { kind description amount { amountMinor } } } } } } }";
const CONFIRM: &str = "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap()
}

async fn offer(
    app: &TestApp,
    code: &str,
    percent_bps: Option<i32>,
    amount: Option<(i64, &str)>,
    duration: CouponDuration,
) {
    let new = NewCoupon {
        code: code.into(),
        name: format!("Coupon {code}"),
        percent_bps,
        amount_off_minor: amount.map(|a| a.0),
        currency: amount.map(|a| a.1.to_owned()),
        duration,
        duration_periods: (duration == CouponDuration::Repeating).then_some(2),
        max_redemptions: None,
        redeem_by: None,
    };
    app.state.services.billing.add_coupon(new, app.now()).await.unwrap();
}

async fn plus_monthly(app: &TestApp) {
    let new = NewPlanVersion {
        code: "plus-monthly".into(),
        name: "Plus".into(),
        tier: TenantTier::Premium,
        interval: Interval::Monthly,
        price_minor: 49_500,
        currency: "USD".into(),
        trial_days: 0,
        per_seat: false,
        available: true,
        overage_prices: Vec::new(),
    };
    app.state.services.billing.add_plan_version(new, app.now()).await.unwrap();
}

/// The invoices' totals and discount lines, oldest first.
async fn billed(app: &TestApp, owner: &Auth) -> Vec<(i64, Vec<i64>)> {
    let found = app.ok(owner, INVOICES, json!({})).await;
    found["billing"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let node = &e["node"];
            let discounts = node["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["kind"] == "DISCOUNT")
                .map(|l| l["amount"]["amountMinor"].as_i64().unwrap())
                .collect();
            (node["total"]["amountMinor"].as_i64().unwrap(), discounts)
        })
        .collect()
}

async fn coupons(app: &TestApp, owner: &Auth) -> Vec<Value> {
    app.ok(owner, COUPONS, json!({})).await["billing"]["coupons"].as_array().unwrap().clone()
}

/// Renews the subscription of `slug` at each of `ends` in turn.
async fn renew_at(app: &TestApp, ends: &[&str]) {
    for end in ends {
        app.clock.set(utc(end));
        app.run_billing().await;
    }
}

#[tokio::test]
async fn a_one_use_coupon_redeemed_at_once_by_two_businesses_is_redeemed_once() {
    let app = TestApp::spawn().await;
    let new = NewCoupon {
        code: "only-one".into(),
        name: "Launch".into(),
        percent_bps: Some(1_000),
        amount_off_minor: None,
        currency: None,
        duration: CouponDuration::Forever,
        duration_periods: None,
        max_redemptions: Some(1),
        redeem_by: None,
    };
    app.state.services.billing.add_coupon(new, app.now()).await.unwrap();
    let (first, _) = app.owner_of("coupon-first").await;
    let (second, _) = app.owner_of("coupon-second").await;
    let (a, b) = tokio::join!(
        app.post(&first, REDEEM, json!({"code": "ONLY-ONE"})),
        app.post(&second, REDEEM, json!({"code": " only-one "}))
    );
    let mut codes = [tessera_e2e::error_code_of(&a.1), tessera_e2e::error_code_of(&b.1)];
    codes.sort();
    assert_eq!(codes, ["", "CONFLICT"], "{a:?} {b:?}");
    let listed = app.state.services.billing.coupons_for_operator().await.unwrap();
    assert_eq!((listed[0].times_redeemed, listed[0].max_redemptions), (1, Some(1)));

    // A business redeems a coupon once, and holds at most five.
    for n in 0..6 {
        offer(&app, &format!("MANY-{n}"), Some(100), None, CouponDuration::Forever).await;
    }
    let (owner, _) = app.owner_of("coupon-many").await;
    app.ok(&owner, REDEEM, json!({"code": "MANY-0"})).await;
    assert_eq!(app.error_code(&owner, REDEEM, json!({"code": "MANY-0"})).await, "CONFLICT");
    for n in 1..5 {
        app.ok(&owner, REDEEM, json!({"code": format!("MANY-{n}")})).await;
    }
    assert_eq!(app.error_code(&owner, REDEEM, json!({"code": "MANY-5"})).await, "CONFLICT");
    assert_eq!(coupons(&app, &owner).await.len(), 5);
}

#[tokio::test]
async fn coupons_come_off_in_order_across_renewals_and_never_below_zero() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    plus_monthly(&app).await;
    offer(&app, "FIFTY", None, Some((5_000, "USD")), CouponDuration::Once).await;
    offer(&app, "TWENTY", Some(2_000), None, CouponDuration::Repeating).await;
    offer(&app, "BIG", None, Some((100_000, "USD")), CouponDuration::Once).await;
    let renewals = ["2027-02-15T09:00:00Z", "2027-03-15T09:00:00Z"];

    // The fixed coupon first (redeemed first), then 20 % of what is left.
    let (owner, _) = app.owner_of("coupon-order").await;
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, CONFIRM, json!({"id": id})).await;
    app.ok(&owner, REDEEM, json!({"code": "FIFTY"})).await;
    app.ok(&owner, REDEEM, json!({"code": "TWENTY"})).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"plus-monthly\") { status } }", json!({})).await;
    // Announced before the first renewal: 20 % off for its second period.
    let upcoming =
        "{ billing { upcomingInvoice { subtotal { amountMinor } discount { amountMinor } total { amountMinor } } } }";
    let next = app.ok(&owner, upcoming, json!({})).await["billing"]["upcomingInvoice"].clone();
    assert_eq!(
        (
            next["subtotal"]["amountMinor"].as_i64(),
            next["discount"]["amountMinor"].as_i64(),
            next["total"]["amountMinor"].as_i64()
        ),
        (Some(49_500), Some(9_900), Some(39_600)),
        "{next}"
    );
    renew_at(&app, &renewals).await;
    let owner = app.login("owner@coupon-order.test").await.in_tenant("coupon-order");
    assert_eq!(
        billed(&app, &owner).await,
        [(35_600, vec![-5_000, -8_900]), (39_600, vec![-9_900]), (49_500, vec![])],
        "49500 − 5000 − 20 % of 44500; 20 % for the second period; then none"
    );
    let held = coupons(&app, &owner).await;
    assert!(held.iter().all(|c| c["status"] == "EXHAUSTED"), "{held:?}");

    // A coupon larger than the invoice: total zero, the rest carried on.
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    let (other, _) = app.owner_of("coupon-big").await;
    let start = "mutation { startSubscription(planCode: \"plus-monthly\", couponCode: \"big\") { status } }";
    assert_eq!(app.ok(&other, start, json!({})).await["startSubscription"]["status"], "ACTIVE", "nothing to pay");
    assert_eq!(coupons(&app, &other).await[0]["amountRemaining"]["amountMinor"], 50_500);
    renew_at(&app, &renewals).await;
    let other = app.login("owner@coupon-big.test").await.in_tenant("coupon-big");
    assert_eq!(
        billed(&app, &other).await,
        [(0, vec![-49_500]), (0, vec![-49_500]), (48_500, vec![-1_000])],
        "the 1000 left of 100000 after two invoices"
    );
    assert_eq!(coupons(&app, &other).await[0]["status"], "EXHAUSTED");
    totals_add_up(&app).await;
}

#[tokio::test]
async fn a_quote_shows_the_discount_and_a_declined_change_gives_the_coupon_back() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    plus_monthly(&app).await;
    offer(&app, "TENOFF", None, Some((10_000, "USD")), CouponDuration::Once).await;
    let (owner, _) = app.owner_of("coupon-quote").await;
    let good = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, CONFIRM, json!({"id": good})).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"plus-monthly\") { status } }", json!({})).await;
    app.ok(&owner, REDEEM, json!({"code": "TENOFF"})).await;
    let refused = fake_setup(&app, &fake, &owner).await;
    fake.confirm_setup(&refused, "visa", "0341", true);
    let refused = app.ok(&owner, CONFIRM, json!({"id": refused})).await["confirmPaymentMethod"]["id"].clone();

    let preview = "mutation { previewSubscriptionChange(planCode: \"premium-yearly\") { id amountDue { amountMinor } \
        lines { kind amount { amountMinor } } } }";
    let apply =
        "mutation($id: ID!) { applySubscriptionChange(quoteId: $id) { invoice { total { amountMinor } status } } }";
    let quote = app.ok(&owner, preview, json!({})).await["previewSubscriptionChange"].clone();
    let kinds: Vec<(&str, i64)> = quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["amount"]["amountMinor"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, [("PLAN", 283_200), ("PRORATION_CREDIT", -49_500), ("DISCOUNT", -10_000)]);
    assert_eq!(quote["amountDue"]["amountMinor"], 223_700);
    assert_eq!(app.error_code(&owner, apply, json!({"id": quote["id"]})).await, "PAYMENT_DECLINED");
    let held = coupons(&app, &owner).await;
    assert_eq!(
        (held[0]["status"].as_str(), held[0]["amountRemaining"]["amountMinor"].as_i64()),
        (Some("ACTIVE"), Some(10_000))
    );

    // With the card that pays, the same price; the coupon is used up.
    app.ok(&owner, "mutation($id: ID!) { removePaymentMethod(id: $id) }", json!({"id": refused})).await;
    let quote = app.ok(&owner, preview, json!({})).await["previewSubscriptionChange"].clone();
    let applied = app.ok(&owner, apply, json!({"id": quote["id"]})).await;
    assert_eq!(applied["applySubscriptionChange"]["invoice"]["total"]["amountMinor"], 223_700);
    assert_eq!(coupons(&app, &owner).await[0]["status"], "EXHAUSTED");
    totals_add_up(&app).await;
}

#[tokio::test]
async fn coupon_codes_are_checked_and_only_owners_redeem_their_own() {
    let app = TestApp::spawn().await;
    offer(&app, "EUROS", None, Some((1_000, "EUR")), CouponDuration::Once).await;
    offer(&app, "OPEN", Some(500), None, CouponDuration::Forever).await;
    let late = NewCoupon {
        code: "LATE".into(),
        name: "Late".into(),
        percent_bps: Some(500),
        amount_off_minor: None,
        currency: None,
        duration: CouponDuration::Once,
        duration_periods: None,
        max_redemptions: None,
        redeem_by: Some(app.now() - Duration::days(1)),
    };
    app.state.services.billing.add_coupon(late, app.now()).await.unwrap();
    let (owner, _) = app.owner_of("coupon-rules").await;
    for (code, expected) in
        [("NOPE", "BAD_USER_INPUT"), ("x", "BAD_USER_INPUT"), ("EUROS", "BAD_USER_INPUT"), ("LATE", "CONFLICT")]
    {
        assert_eq!(app.error_code(&owner, REDEEM, json!({"code": code})).await, expected, "{code}");
    }
    assert!(coupons(&app, &owner).await.is_empty(), "nothing was redeemed");

    for role in ["admin", "staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@coupon-rules.test"), &[role]).await;
        assert_eq!(app.error_code(&member, REDEEM, json!({"code": "OPEN"})).await, "FORBIDDEN", "{role}");
    }
    let partner = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.error_code(&partner, REDEEM, json!({"code": "OPEN"})).await, "FORBIDDEN");
    app.ok(&owner, REDEEM, json!({"code": "OPEN"})).await;
    let admin = app.login("admin@coupon-rules.test").await.in_tenant("coupon-rules");
    assert_eq!(coupons(&app, &admin).await.len(), 1, "admins read the business's coupons");
    let (other, _) = app.owner_of("coupon-other").await;
    assert!(coupons(&app, &other).await.is_empty(), "another business sees none of them");
    app.ok(&other, REDEEM, json!({"code": "OPEN"})).await;
    assert_eq!(coupons(&app, &owner).await.len(), 1);

    // The operator's command refuses what is not a coupon, and names why.
    let services = &app.state.services;
    let add = |percent: Option<f64>, amount: Option<i64>, duration, periods| CouponAction::Add {
        code: "CLI-1".into(),
        name: "From the command line".into(),
        percent,
        amount,
        currency: amount.map(|_| "usd".into()),
        duration,
        periods,
        max_redemptions: Some(10),
        redeem_by: None,
    };
    let refused = [
        (add(Some(150.0), None, DurationArg::Once, None), "percent"),
        (add(None, Some(-5), DurationArg::Once, None), "amount"),
        (add(Some(10.0), None, DurationArg::Repeating, None), "periods"),
        (add(Some(10.0), None, DurationArg::Forever, Some(3)), "periods"),
    ];
    for (action, why) in refused {
        let err = tessera_api::coupons::coupon(services, action).await.unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    tessera_api::coupons::coupon(services, add(None, Some(2_500), DurationArg::Repeating, Some(3))).await.unwrap();
    let listed = services.billing.coupons_for_operator().await.unwrap();
    let cli = listed.iter().find(|c| c.code == "CLI-1").unwrap();
    assert_eq!(
        (cli.amount_off_minor, cli.currency.as_deref(), cli.duration_periods),
        (Some(2_500), Some("USD"), Some(3))
    );
    tessera_api::coupons::coupon(services, CouponAction::List).await.unwrap();
}

#[tokio::test]
async fn a_business_coupons_upcoming_invoice_and_invoice_pages_are_its_own() {
    let app = TestApp::spawn().await;
    plus_monthly(&app).await;
    offer(&app, "MINE", Some(1_000), None, CouponDuration::Forever).await;
    let (owner, _) = app.owner_of("coupon-own").await;
    let start = "mutation { startSubscription(planCode: \"plus-monthly\", couponCode: \"MINE\") { status } }";
    app.ok(&owner, start, json!({})).await;
    let read = "{ billing { coupons { code } upcomingInvoice { total { amountMinor } } \
        invoices(first: 1) { edges { node { id html } } } } }";
    let mine = app.ok(&owner, read, json!({})).await;
    assert_eq!(mine["billing"]["coupons"][0]["code"], "MINE", "{mine}");
    let invoice = mine["billing"]["invoices"]["edges"][0]["node"]["id"].clone();
    let page = "query($id: ID!) { billing { invoice(id: $id) { html } } }";

    // Another business sees none of it, and cannot reach it with the header.
    let (other, _) = app.owner_of("coupon-stranger").await;
    let theirs = app.ok(&other, read, json!({})).await;
    assert!(theirs["billing"]["coupons"].as_array().unwrap().is_empty(), "{theirs}");
    assert!(theirs["billing"]["upcomingInvoice"].is_null() && theirs["billing"]["invoices"]["edges"][0].is_null());
    assert_eq!(app.error_code(&other, page, json!({"id": invoice})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other.in_tenant("coupon-own"), read, json!({})).await, "NOT_FOUND");

    // Staff and customers see nothing of it; a partner client only with a
    // billing scope, and only its business's.
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@coupon-own.test"), &[role]).await;
        assert_eq!(app.error_code(&member, read, json!({})).await, "FORBIDDEN", "{role}");
        assert_eq!(app.error_code(&member, page, json!({"id": invoice})).await, "FORBIDDEN", "{role}");
    }
    let unscoped = client_token(&app, &owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&unscoped, read, json!({})).await, "FORBIDDEN");
    let reader = client_token(&app, &owner, &["billing:read"]).await;
    assert_eq!(app.ok(&reader, read, json!({})).await, mine, "the business's own, as its owner sees it");
    let strangers = client_token(&app, &other, &["billing:read"]).await;
    assert_eq!(app.error_code(&strangers, page, json!({"id": invoice})).await, "NOT_FOUND");
}
