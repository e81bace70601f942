//! An invoice reads as a page: `Invoice.html` is a self-contained document
//! with the business's details escaped, its lines, discounts and totals, and
//! a headless browser shows it, runs no script from it, fetches nothing, and
//! prints it. Another business cannot reach it, nor can staff.

use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_billing::{CouponDuration, NewCoupon};

use crate::billing_cards::{app_with_fake, fake_setup};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap()
}

const PAGE: &str = "query($id: ID!) { billing { invoice(id: $id) { number html } } }";

#[tokio::test]
async fn an_invoice_reads_as_a_page_that_a_browser_shows_and_prints() {
    let (app, fake) = app_with_fake().await;
    app.clock.set(utc("2027-01-01T09:00:00Z"));
    let coupon = NewCoupon {
        code: "WELCOME".into(),
        name: "Welcome".into(),
        percent_bps: Some(1_000),
        amount_off_minor: None,
        currency: None,
        duration: CouponDuration::Once,
        duration_periods: None,
        max_redemptions: None,
        redeem_by: None,
    };
    app.state.services.billing.add_coupon(coupon, app.now()).await.unwrap();
    let (owner, _) = app.owner_of("invoice-page").await;
    let details = "mutation { updateBillingDetails(input: { legalName: \"<img src=x onerror=alert(1)>Salon & Co\", \
        taxId: \"ESB12345678\", line1: \"Calle Mayor 1\", city: \"Madrid\", postalCode: \"28013\", country: \"ES\" }) { legalName } }";
    app.ok(&owner, details, json!({})).await;
    let id = fake_setup(&app, &fake, &owner).await;
    app.ok(&owner, "mutation($id: String!) { confirmPaymentMethod(setupIntentId: $id) { id } }", json!({"id": id}))
        .await;
    let start = "mutation { startSubscription(planCode: \"premium-monthly\", couponCode: \"WELCOME\") { status } }";
    app.ok(&owner, start, json!({})).await;
    app.clock.set(utc("2027-01-15T09:00:00Z"));
    app.run_billing().await;
    let owner = app.login("owner@invoice-page.test").await.in_tenant("invoice-page");
    let list = app.ok(&owner, "{ billing { invoices(first: 5) { edges { node { id status } } } } }", json!({})).await;
    let invoice = list["billing"]["invoices"]["edges"][0]["node"].clone();
    assert_eq!(invoice["status"], "PAID", "{list}");

    let found = app.ok(&owner, PAGE, json!({"id": invoice["id"]})).await;
    let number = found["billing"]["invoice"]["number"].as_str().unwrap().to_owned();
    let html = found["billing"]["invoice"]["html"].as_str().unwrap().to_owned();
    assert!(html.starts_with("<!doctype html>"), "a whole document");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;Salon &amp; Co"), "the name is escaped");
    assert!(!html.contains("<img"), "no markup from a value");
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing to fetch");

    let file = std::env::temp_dir().join(format!("tessera-invoice-{}.html", std::process::id()));
    std::fs::write(&file, &html).unwrap();
    // 295.00 less 10 % once: 265.50, paid on 15 January in Madrid.
    let expected = [
        format!("Invoice {number}"),
        "<img src=x onerror=alert(1)>Salon & Co".to_owned(),
        "Tax id: ESB12345678".into(),
        "28013 Madrid".into(),
        "Premium, monthly".into(),
        "15 January 2027 – 15 February 2027".into(),
        "Welcome (WELCOME): 10% off".into(),
        "295.00 USD".into(),
        "−29.50 USD".into(),
        "265.50 USD".into(),
        "Paid".into(),
        "Dates in Europe/Madrid".into(),
    ];
    let mut args = vec![file.to_str().unwrap()];
    args.extend(expected.iter().map(String::as_str));
    let ran = tessera_e2e::run_in_browser("invoice_page.mjs", &args).await;
    std::fs::remove_file(&file).ok();
    if !ran {
        return;
    }

    // Not another business's to read, nor staff's.
    let (other, _) = app.owner_of("invoice-other").await;
    assert_eq!(app.error_code(&other, PAGE, json!({"id": invoice["id"]})).await, "NOT_FOUND");
    let staff = app.add_member(&owner, "staff@invoice-page.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, PAGE, json!({"id": invoice["id"]})).await, "FORBIDDEN");
}
