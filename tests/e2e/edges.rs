//! Small edges a hostile or careless client finds: control characters in text,
//! webhook targets that hide an internal IPv4 address inside IPv6, and booking
//! totals too large for the API's amounts.

use serde_json::{Value, json};
use tessera_e2e::TestApp;

use crate::scheduling::{BOOK, pinned_app, salon};

fn error_of(body: &Value) -> (String, String) {
    let error = &body["errors"][0]["extensions"];
    (error["code"].as_str().unwrap_or("none").to_owned(), error["field"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn control_characters_in_text_are_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("text-edge").await;
    let create = "mutation($input: CustomerDetailsInput!) { createCustomer(input: $input) { name notes } }";
    for name in ["Ana\u{0}", "Ana\u{1b}[2J", "Ana\u{7f}"] {
        let (status, body) = app.post(&owner, create, json!({"input": {"name": name}})).await;
        assert_eq!(error_of(&body), ("BAD_USER_INPUT".into(), "input.name".into()), "{status} {body}");
    }
    let literal = "mutation { createCustomer(input: {name: \"Bob\\u0000\"}) { name } }";
    let (_, body) = app.post(&owner, literal, json!({})).await;
    assert_eq!(error_of(&body), ("BAD_USER_INPUT".into(), "input.name".into()), "{body}");

    let fine =
        app.ok(&owner, create, json!({"input": {"name": "Ana López", "notes": "line one\n\tline two\r\n"}})).await;
    assert_eq!(fine["createCustomer"]["notes"], "line one\n\tline two");
    let customers = app.ok(&owner, "{ customers(first: 10) { edges { node { name } } } }", json!({})).await;
    assert_eq!(customers["customers"]["edges"].as_array().unwrap().len(), 1, "nothing else was stored");
}

#[tokio::test]
async fn webhook_targets_hiding_an_internal_ipv4_address_are_refused() {
    // As in production: internal targets are refused.
    let app = TestApp::spawn_with(|c| c.webhook_allow_internal = Some(false)).await;
    let (owner, _) = app.owner_of("hook-edge").await;
    let create = "mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { endpoint { id } } }";
    for url in [
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::127.0.0.1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "https://[2002:7f00:1::1]/hook",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
    ] {
        let (_, body) = app.post(&owner, create, json!({"url": url})).await;
        assert_eq!(error_of(&body).0, "BAD_USER_INPUT", "{url}: {body}");
    }
    app.ok(&owner, create, json!({"url": "https://[2606:4700::1111]/hook"})).await;
}

#[tokio::test]
async fn a_booking_never_costs_more_than_the_api_can_show() {
    let app = pinned_app().await;
    let salon = salon(&app, "money-edge", 0).await;
    let owner = &salon.owner;
    let service =
        "mutation { createService(input: {name: \"Gold\", priceMinor: 2000000000, durationMinutes: 30}) { id } }";
    let gold = app.ok(owner, service, json!({})).await["createService"]["id"].clone();
    let addon = "mutation($s: ID!) { createAddon(serviceId: $s, input: {name: \"Leaf\", priceMinor: 500000000, durationMinutes: 10}) { id } }";
    let leaf = app.ok(owner, addon, json!({"s": gold})).await["createAddon"]["id"].clone();
    let assign = "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }";
    app.ok(owner, assign, json!({"p": salon.provider, "s": gold})).await;

    let input = |addons: Value| {
        json!({"input": {"serviceId": gold, "providerId": salon.provider, "customerId": salon.customer,
            "startsAt": "2026-03-04T09:00:00Z", "addonIds": addons}})
    };
    let (_, body) = app.post(owner, BOOK, input(json!([leaf]))).await;
    assert_eq!(error_of(&body), ("BAD_USER_INPUT".into(), "addonIds".into()), "{body}");
    let booked = app.ok(owner, BOOK, input(json!([]))).await;
    assert_eq!(booked["createBooking"]["price"]["amountMinor"], 2_000_000_000);
}

#[tokio::test]
async fn metrics_in_production_need_their_token() {
    use tessera_api::config::Environment;
    let closed = TestApp::spawn_with(|c| c.environment = Some(Environment::Production)).await;
    let response = closed.http.get(closed.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    let scraped = TestApp::spawn_with(|c| {
        c.environment = Some(Environment::Production);
        c.metrics_token = Some("scraper-secret-0123456789".into());
    })
    .await;
    let get = |token: &'static str| scraped.http.get(scraped.url("/metrics")).bearer_auth(token).send();
    assert_eq!(get("wrong-secret-0123456789").await.unwrap().status().as_u16(), 401);
    let ok = get("scraper-secret-0123456789").await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok.text().await.unwrap().contains("http_requests"), "the metrics themselves");
}
