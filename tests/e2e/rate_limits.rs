//! Request rate limits over HTTP: a business's requests a minute and each
//! credential's share of them, a complexity budget, anonymous callers per
//! client address; refusals are `RATE_LIMITED`, 429 with `Retry-After`, and
//! every answer carries the `RateLimit-Policy` and `RateLimit` fields. One
//! business at its limit leaves another untouched, and with Redis two
//! gateways share one limit.
//!
//! The gateway's clock stands still in tests, so a bucket refills only when a
//! test moves it: what is allowed depends on nothing but the requests.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, WsEvent, error_code_of, redis_url};
use tessera_kernel::TenantTier;
use tessera_ledger::{LimitMode, Metric, NewLimit};

use crate::oauth::{access_token, make_client};

const READ: &str = "{ currentTenant { id } }";

/// What a request got: status, the rate header fields and the body.
struct Answer {
    status: u16,
    policy: String,
    limits: String,
    retry_after: Option<u64>,
    body: Value,
}

async fn send(app: &TestApp, auth: &Auth, query: &str, forwarded_for: Option<&str>) -> Answer {
    let mut request = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query }));
    if let Some(token) = &auth.token {
        request = request.bearer_auth(token);
    }
    if let Some(tenant) = &auth.tenant {
        request = request.header("x-tenant", tenant);
    }
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.expect("request sent");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (policy, limits) = (header("ratelimit-policy"), header("ratelimit"));
    let retry_after = header("retry-after").parse().ok();
    Answer { status: response.status().as_u16(), policy, limits, retry_after, body: response.json().await.unwrap() }
}

/// A gateway whose new businesses start on `basic`, with `metric` of that tier set to `limit`.
async fn basic_with(metric: Metric, limit: i64) -> TestApp {
    let app = TestApp::spawn_with(|args| args.new_tenant_tier = Some("basic".into())).await;
    set_basic(&app, metric, limit).await;
    app
}

async fn set_basic(app: &TestApp, metric: Metric, limit: i64) {
    let limit = NewLimit { value: Some(limit), mode: LimitMode::Hard, note: Some("test".into()) };
    app.state.services.usage.set_tier_limit(TenantTier::Basic, metric, limit, app.now()).await.expect("limit set");
}

#[tokio::test]
async fn a_business_at_its_limit_is_refused_with_429_while_another_is_not_slowed() {
    let app = basic_with(Metric::RequestsPerMinute, 4).await;
    let (owner, _) = app.owner_of("rate-mine").await;
    let (_, client_id, secret) = make_client(&app, &owner, &["tenant:read"]).await;
    let partner = access_token(&app, &client_id, &secret).await;
    let staff = app.add_member(&owner, "staff@rate-mine.test", &["staff"]).await;
    let (theirs, _) = app.owner_of("rate-theirs").await;
    // A minute later every bucket is full again.
    app.clock.advance(Duration::seconds(61));

    // Each credential may use half the business's four.
    let first = send(&app, &owner, READ, None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.policy, r#""tenant";q=4;w=60, "credential";q=2;w=60"#);
    assert_eq!(first.limits, r#""tenant";r=3;t=15, "credential";r=1;t=30"#);
    assert_eq!(first.retry_after, None);
    assert_eq!(send(&app, &owner, READ, None).await.status, 200);
    let over_share = send(&app, &owner, READ, None).await;
    assert_eq!(over_share.status, 429, "{}", over_share.body);
    assert_eq!(error_code_of(&over_share.body), "RATE_LIMITED");
    assert_eq!(over_share.body["errors"][0]["extensions"]["policy"], "credential");
    assert_eq!(over_share.body["errors"][0]["extensions"]["retryAfterSeconds"], 30);
    assert_eq!(over_share.retry_after, Some(30));
    assert_eq!(over_share.body.get("data"), None, "nothing ran");

    // The partner client has its own share; with it the business's four are
    // used, and a member who has not asked yet is refused too.
    assert_eq!(send(&app, &partner, READ, None).await.status, 200);
    assert_eq!(send(&app, &partner, READ, None).await.status, 200);
    let over_tenant = send(&app, &staff, READ, None).await;
    assert_eq!(over_tenant.status, 429, "{}", over_tenant.body);
    assert_eq!(over_tenant.body["errors"][0]["extensions"]["policy"], "tenant");
    assert_eq!(over_tenant.limits, r#""tenant";r=0;t=15, "credential";r=2;t=0"#, "the share is untouched");
    assert_eq!(over_tenant.retry_after, Some(15));

    // Another business is untouched: its own four, in full.
    let other = send(&app, &theirs, READ, None).await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(other.limits, r#""tenant";r=3;t=15, "credential";r=1;t=30"#);

    // Fifteen seconds give the business one request back; the owner's share
    // needs thirty.
    app.clock.advance(Duration::seconds(15));
    assert_eq!(send(&app, &owner, READ, None).await.status, 429);
    assert_eq!(send(&app, &staff, READ, None).await.status, 200);
}

#[tokio::test]
async fn the_complexity_budget_refuses_an_operation_costing_more_than_is_left_and_runs_nothing() {
    let app = basic_with(Metric::ComplexityPerMinute, 10).await;
    let (owner, _) = app.owner_of("cost-mine").await;
    let (theirs, _) = app.owner_of("cost-theirs").await;
    app.clock.advance(Duration::seconds(61));
    // `currentTenant { id name }` costs 3: three fit in ten, a fourth does not.
    for _ in 0..3 {
        assert_eq!(send(&app, &owner, "{ currentTenant { id name } }", None).await.status, 200);
    }
    let add_alert = "mutation { addUsageAlert(input: {metric: BOOKINGS, amount: 5}) { id metric percent amount } }";
    let refused = send(&app, &owner, add_alert, None).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["extensions"]["policy"], "complexity");
    assert_eq!(refused.body["errors"][0]["extensions"]["limit"], 10);
    assert!(refused.retry_after.is_some_and(|s| s >= 1));
    // One unit a minute comes back every six seconds; a cheap read still fits.
    assert_eq!(send(&app, &owner, "{ __typename }", None).await.status, 200);
    assert_eq!(send(&app, &theirs, "{ currentTenant { id name } }", None).await.status, 200);

    // The refused mutation made no alert.
    app.clock.advance(Duration::seconds(61));
    let alerts = send(&app, &owner, "{ usage { alerts { id } } }", None).await;
    assert_eq!(alerts.body["data"]["usage"]["alerts"], json!([]), "{}", alerts.body);
}

#[tokio::test]
async fn callers_outside_a_business_are_limited_per_client_address_and_per_account() {
    let app = TestApp::spawn_with(|args| {
        args.platform_requests_per_minute = Some(3);
        args.trusted_proxies = "127.0.0.1".parse().ok();
    })
    .await;
    // Addresses of this run only, so a shared Redis holds nothing of an earlier one.
    let run = uuid::Uuid::new_v4().as_u128() as u16;
    let (one, two) = (format!("2001:db8:{run:x}:1::7"), format!("2001:db8:{run:x}:2::7"));
    for _ in 0..3 {
        assert_eq!(send(&app, &Auth::anonymous(), "{ __typename }", Some(&one)).await.status, 200);
    }
    let refused = send(&app, &Auth::anonymous(), "{ __typename }", Some(&format!("2001:db8:{run:x}:1::8"))).await;
    assert_eq!(refused.status, 429, "another host of the same /64: {}", refused.body);
    assert_eq!(refused.body["errors"][0]["extensions"]["policy"], "address");
    assert_eq!(refused.policy, r#""address";q=3;w=60"#);
    assert_eq!(send(&app, &Auth::anonymous(), "{ __typename }", Some(&two)).await.status, 200);

    // A signed-in person outside any business has a bucket of their own,
    // whatever address they come from. (They sign up through a second gateway
    // on the same database, whose addresses are not limited.)
    let unlimited = TestApp::spawn_on(app.database.clone(), |_| {}).await;
    let person = unlimited.sign_up(&format!("rate-{run:x}@example.test")).await;
    app.clock.advance(Duration::seconds(61));
    for _ in 0..3 {
        assert_eq!(send(&app, &person, "{ me { id } }", Some(&one)).await.status, 200);
    }
    let refused = send(&app, &person, "{ me { id } }", Some(&two)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["errors"][0]["extensions"]["policy"], "account");
    assert_eq!(send(&app, &Auth::anonymous(), "{ __typename }", Some(&one)).await.status, 200);
}

#[tokio::test]
async fn two_gateways_on_one_redis_share_a_business_limit() {
    if redis_url().is_none() {
        // Without Redis each gateway keeps its own limits (README "Rate limits").
        return;
    }
    let first = basic_with(Metric::RequestsPerMinute, 4).await;
    let clock = first.clock.clone();
    let second =
        TestApp::spawn_with_options(first.database.clone(), |_| {}, |options| options.clock = Arc::new(clock.clone()))
            .await;
    let (owner, _) = first.owner_of("rate-shared").await;
    let member = first.add_member(&owner, "staff@rate-shared.test", &["staff"]).await;
    let newcomer = first.add_member(&owner, "new@rate-shared.test", &["staff"]).await;
    first.clock.advance(Duration::seconds(61));
    assert_eq!(second.state.services.clock.now(), first.now());

    assert_eq!(send(&first, &owner, READ, None).await.status, 200);
    assert_eq!(send(&second, &owner, READ, None).await.status, 200);
    // The owner's share is used on both gateways together.
    assert_eq!(send(&second, &owner, READ, None).await.status, 429);
    assert_eq!(send(&first, &member, READ, None).await.status, 200);
    let last = send(&second, &member, READ, None).await;
    assert_eq!(last.status, 200);
    assert_eq!(last.limits, r#""tenant";r=0;t=60, "credential";r=0;t=60"#);
    let refused = send(&first, &newcomer, READ, None).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["errors"][0]["extensions"]["policy"], "tenant");
}

#[tokio::test]
async fn operations_over_a_websocket_are_limited_and_counted_like_requests() {
    let app = basic_with(Metric::RequestsPerMinute, 4).await;
    let (owner, _) = app.owner_of("rate-socket").await;
    app.clock.advance(Duration::seconds(61));
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&owner).await;
    for id in ["1", "2"] {
        ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": READ}})).await;
        let answer = ws.next(StdDuration::from_secs(10)).await;
        assert!(matches!(&answer, Some(WsEvent::Json(m)) if m["type"] == "next"), "{answer:?}");
        let done = ws.next(StdDuration::from_secs(10)).await;
        assert_eq!(done, Some(WsEvent::Json(json!({"id": id, "type": "complete"}))));
    }
    ws.send(json!({"id": "3", "type": "subscribe", "payload": {"query": READ}})).await;
    let Some(WsEvent::Json(refused)) = ws.next(StdDuration::from_secs(10)).await else { panic!("an answer") };
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["policy"], "credential", "{refused}");

    // The two that ran are the member's API requests; the refused one is not.
    app.state.request_counts.flush(&app.state.db, &app.state.services).await.expect("counts are written");
    app.clock.advance(Duration::seconds(61));
    let sources = app.ok(&owner, "{ usage { bySource(metric: API_REQUESTS) { kind used } } }", json!({})).await;
    assert_eq!(sources["usage"]["bySource"], json!([{"kind": "user", "used": 2}]));
}
