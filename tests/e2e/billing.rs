//! Billing details and the plan catalogue over HTTP: a business's owners read
//! and change its billing details (audited, validated, partial updates);
//! admins only read them; staff, customers and partner clients without a
//! billing scope see nothing; and no business ever sees another's.

use serde_json::{Value, json};
use tessera_billing::{Interval, NewPlanVersion};
use tessera_e2e::{Auth, TestApp};
use tessera_kernel::TenantTier;

use crate::live_rights::client_token;

pub(crate) const DETAILS: &str = "{ billing { details { legalName billingEmail taxId country address { line1 line2 city region postalCode } currency preferredProvider trialUsedAt updatedAt } } }";
pub(crate) const UPDATE: &str = "mutation($input: UpdateBillingDetailsInput!) { updateBillingDetails(input: $input) { legalName billingEmail taxId country address { line1 city postalCode } currency preferredProvider } }";
const PLANS: &str =
    "{ billing { plans { code version name tier interval price { amountMinor currency } trialDays perSeat } } }";

/// The actions in the business's audit log, oldest first.
pub(crate) async fn audit_actions(app: &TestApp, owner: &Auth) -> Vec<(String, Value)> {
    let log = app.ok(owner, "{ auditLog(first: 100) { edges { node { action changes } } } }", json!({})).await;
    log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["action"].as_str().unwrap().to_owned(), e["node"]["changes"].clone()))
        .collect()
}

/// Adds a plan version through the platform operator's service.
pub(crate) async fn add_plan(
    app: &TestApp,
    code: &str,
    price_minor: i64,
    currency: &str,
    trial_days: i32,
    per_seat: bool,
) {
    let new = NewPlanVersion {
        code: code.into(),
        name: format!("Plan {code}"),
        tier: TenantTier::Basic,
        interval: Interval::Monthly,
        price_minor,
        currency: currency.into(),
        trial_days,
        per_seat,
        available: true,
        overage_prices: Vec::new(),
    };
    app.state.services.billing.add_plan_version(new, app.now()).await.unwrap();
}

#[tokio::test]
async fn owners_change_billing_details_with_an_audit_record_and_partial_updates() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("bill-details").await;
    let unsaved = app.ok(&owner, DETAILS, json!({})).await;
    let details = &unsaved["billing"]["details"];
    assert_eq!(details["currency"], "USD", "{unsaved}");
    assert_eq!(details["preferredProvider"], "STRIPE");
    assert!(details["legalName"].is_null() && details["updatedAt"].is_null(), "{unsaved}");

    let input = json!({"legalName": "Bella Roma S.L.", "billingEmail": "Facturas@Bella.test", "taxId": "B12345678",
        "country": "es", "line1": "Calle Mayor 1", "city": "Madrid", "postalCode": "28013", "preferredProvider": "CONEKTA"});
    let saved = app.ok(&owner, UPDATE, json!({"input": input})).await;
    let saved = &saved["updateBillingDetails"];
    assert_eq!(saved["billingEmail"], "facturas@bella.test");
    assert_eq!(saved["country"], "ES");
    assert_eq!(saved["preferredProvider"], "CONEKTA");

    // Omitted fields stay; null clears; bad input changes nothing.
    let cleared = app.ok(&owner, UPDATE, json!({"input": {"taxId": null}})).await;
    assert!(cleared["updateBillingDetails"]["taxId"].is_null());
    assert_eq!(cleared["updateBillingDetails"]["legalName"], "Bella Roma S.L.");
    for bad in [
        json!({"billingEmail": "not an address"}),
        json!({"country": "Spain"}),
        json!({"currency": "EURO"}),
        json!({"currency": null}),
    ] {
        let code = app.error_code(&owner, UPDATE, json!({"input": bad})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}");
    }
    let now = app.ok(&owner, DETAILS, json!({})).await;
    assert_eq!(now["billing"]["details"]["address"]["city"], "Madrid", "{now}");
    assert_eq!(now["billing"]["details"]["billingEmail"], "facturas@bella.test");

    let changes: Vec<Value> = audit_actions(&app, &owner)
        .await
        .into_iter()
        .filter(|(a, _)| a == "billing.details_changed")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(changes.len(), 2, "one record per change that changed something: {changes:?}");
    assert!(changes[1].to_string().contains("B12345678"), "the record keeps what it was: {changes:?}");
}

#[tokio::test]
async fn billing_is_its_owners_and_no_other_business_or_role_reaches_it() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("bill-mine").await;
    let (other_owner, _) = app.owner_of("bill-theirs").await;
    app.ok(&owner, UPDATE, json!({"input": {"legalName": "Mine S.A."}})).await;
    app.ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { id } }", json!({})).await;

    // Another business sees its own (unsaved) details and no subscription, and
    // cannot reach this one's with the header: to a non-member it does not exist.
    let theirs = app.ok(&other_owner, "{ billing { details { legalName } subscription { id } } }", json!({})).await;
    assert!(
        theirs["billing"]["details"]["legalName"].is_null() && theirs["billing"]["subscription"].is_null(),
        "{theirs}"
    );
    let crossing = other_owner.in_tenant("bill-mine");
    assert_eq!(app.error_code(&crossing, DETAILS, json!({})).await, "NOT_FOUND");
    let cancel = "mutation { cancelSubscription(atPeriodEnd: false) { id } }";
    assert_eq!(app.error_code(&crossing, cancel, json!({})).await, "NOT_FOUND");

    // Admins read but do not change what the business pays; staff and
    // customers see nothing of it.
    let admin = app.add_member(&owner, "admin@bill-mine.test", &["admin"]).await;
    let read = app.ok(&admin, "{ billing { details { legalName } subscription { status } } }", json!({})).await;
    assert_eq!(read["billing"]["details"]["legalName"], "Mine S.A.", "{read}");
    assert_eq!(app.error_code(&admin, UPDATE, json!({"input": {"legalName": "Admin's"}})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&admin, cancel, json!({})).await, "FORBIDDEN");
    for role in ["staff", "customer"] {
        let member = app.add_member(&owner, &format!("{role}@bill-mine.test"), &[role]).await;
        assert_eq!(app.error_code(&member, DETAILS, json!({})).await, "FORBIDDEN", "{role}");
        assert_eq!(app.error_code(&member, cancel, json!({})).await, "FORBIDDEN", "{role}");
    }

    // A partner client reads only with a billing scope, and only its business.
    let unscoped = client_token(&app, &owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&unscoped, DETAILS, json!({})).await, "FORBIDDEN");
    let reader = client_token(&app, &owner, &["billing:read"]).await;
    let seen = app.ok(&reader, "{ billing { details { legalName } subscription { status } } }", json!({})).await;
    assert_eq!(seen["billing"]["details"]["legalName"], "Mine S.A.", "{seen}");
    assert_eq!(seen["billing"]["subscription"]["status"], "TRIALING");
    assert_eq!(app.error_code(&reader, cancel, json!({})).await, "FORBIDDEN");

    let after = app.ok(&owner, "{ billing { subscription { status } } }", json!({})).await;
    assert_eq!(after["billing"]["subscription"]["status"], "TRIALING", "nobody else changed it: {after}");
}

#[tokio::test]
async fn the_catalogue_offers_the_seeds_prices_and_a_new_version_never_reprices_a_subscription() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("bill-plans").await;
    let plans = app.ok(&owner, PLANS, json!({})).await;
    let plans = plans["billing"]["plans"].as_array().unwrap().clone();
    let find = |plans: &[Value], code: &str| plans.iter().find(|p| p["code"] == code).cloned().unwrap();
    let monthly = find(&plans, "premium-monthly");
    assert_eq!(monthly["price"], json!({"amountMinor": 29500, "currency": "USD"}));
    assert_eq!((monthly["interval"].as_str(), monthly["trialDays"].as_i64()), (Some("MONTHLY"), Some(14)));
    assert_eq!(monthly["tier"], "PREMIUM");
    let yearly = find(&plans, "premium-yearly");
    assert_eq!(yearly["price"], json!({"amountMinor": 283200, "currency": "USD"}));
    assert_eq!(yearly["interval"], "YEARLY");

    let started = app
        .ok(&owner, "mutation { startSubscription(planCode: \"premium-monthly\") { unitPrice { amountMinor } plan { version } } }", json!({}))
        .await;
    assert_eq!(started["startSubscription"]["unitPrice"]["amountMinor"], 29500);

    let new = NewPlanVersion {
        code: "premium-monthly".into(),
        name: "Premium, monthly".into(),
        tier: TenantTier::Premium,
        interval: Interval::Monthly,
        price_minor: 31_000,
        currency: "USD".into(),
        trial_days: 14,
        per_seat: false,
        available: true,
        overage_prices: Vec::new(),
    };
    let added = app.state.services.billing.add_plan_version(new, app.now()).await.unwrap();
    assert_eq!(added.version, 2);
    let offered = app.ok(&owner, PLANS, json!({})).await;
    let offered = find(offered["billing"]["plans"].as_array().unwrap(), "premium-monthly");
    assert_eq!((offered["version"].as_i64(), offered["price"]["amountMinor"].as_i64()), (Some(2), Some(31000)));
    let kept =
        app.ok(&owner, "{ billing { subscription { unitPrice { amountMinor } plan { version } } } }", json!({})).await;
    assert_eq!(kept["billing"]["subscription"]["unitPrice"]["amountMinor"], 29500, "{kept}");
    assert_eq!(kept["billing"]["subscription"]["plan"]["version"], 1);
}

#[tokio::test]
async fn quantity_and_currency_are_checked_against_the_plan() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("bill-seats").await;
    add_plan(&app, "team-seats", 1_500, "USD", 0, true).await;
    add_plan(&app, "pesos-flat", 500_000, "MXN", 0, false).await;
    let start = "mutation($code: String!, $q: Int) { startSubscription(planCode: $code, quantity: $q) { status quantity currency: unitPrice { currency } } }";
    for (code, quantity) in [("premium-monthly", 2), ("team-seats", 0), ("team-seats", 10_001)] {
        let refused = app.error_code(&owner, start, json!({"code": code, "q": quantity})).await;
        assert_eq!(refused, "BAD_USER_INPUT", "{code} × {quantity}");
    }
    assert_eq!(app.error_code(&owner, start, json!({"code": "no-such-plan"})).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(&owner, start, json!({"code": "pesos-flat"})).await, "BAD_USER_INPUT", "billed in USD");

    app.ok(&owner, UPDATE, json!({"input": {"currency": "mxn"}})).await;
    let pesos = app.ok(&owner, start, json!({"code": "pesos-flat"})).await;
    // A plan without a trial waits for its first payment on the free tier.
    assert_eq!(pesos["startSubscription"]["status"], "INACTIVE", "{pesos}");
    assert_eq!(pesos["startSubscription"]["currency"]["currency"], "MXN");
    let tier = app.ok(&owner, "{ currentTenant { tier } }", json!({})).await;
    assert_eq!(tier["currentTenant"]["tier"], "FREE");
    let code = app.error_code(&owner, UPDATE, json!({"input": {"currency": "USD"}})).await;
    assert_eq!(code, "CONFLICT", "the live subscription is billed in MXN");

    app.ok(&owner, "mutation { cancelSubscription(atPeriodEnd: false) { status } }", json!({})).await;
    app.ok(&owner, UPDATE, json!({"input": {"currency": "USD"}})).await;
    let seats = app.ok(&owner, start, json!({"code": "team-seats", "q": 12})).await;
    assert_eq!(seats["startSubscription"]["quantity"], 12, "{seats}");
}
