//! Probes, metrics, request ids, failures that must not leak, shutdown.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

#[tokio::test]
async fn probes_and_metrics_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.http.get(app.url("/livez")).send().await.unwrap().text().await.unwrap(), "ok");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    app.ok(&Auth::anonymous(), "{ __typename }", json!({})).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tessera_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tessera_graphql_operations_total{operation=\"query\",outcome=\"ok\"} 1"), "{metrics}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_a_sane_one_from_the_client() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/livez")).header("x-request-id", "trace-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");
    let response = app.http.get(app.url("/livez")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn a_database_failure_answers_fast_with_a_code_and_no_internals() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("outage@example.com").await;
    app.state.db.connection().close_by_ref().await.unwrap();
    let (status, body) = app.post(&user, "{ me { email } }", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    let text = body.to_string().to_lowercase();
    for leak in ["sql", "pool", "select", "sqlx", "postgres", "sqlite", ".rs"] {
        assert!(!text.contains(leak), "{leak} leaked: {body}");
    }
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn shutting_down_closes_websockets_with_1001() {
    let app = TestApp::spawn().await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&Auth::anonymous()).await;
    app.state.shutdown.cancel();
    assert_eq!(ws.closed_with(Duration::from_secs(10)).await, Some(1001));
}

#[tokio::test]
async fn the_first_start_seeds_a_demo_salon_a_newcomer_can_sign_in_to() {
    let app = TestApp::spawn_with(|c| c.seed_demo = Some(true)).await;
    let owner = tessera_e2e::Auth::from_payload(
        &app.ok(
            &Auth::anonymous(),
            "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken user { id } } }",
            json!({"email": tessera_api::demo::DEMO_OWNER_EMAIL, "password": tessera_api::demo::DEMO_OWNER_PASSWORD}),
        )
        .await["login"],
    );
    let salon = owner.in_tenant(tessera_api::demo::DEMO_SLUG);
    let data = app
        .ok(
            &salon,
            "{ currentTenant { slug } providers { edges { node { name workingHours { weekday } services { name } } } } services { edges { node { id name price { amountMinor } addons { name } } } } customers { edges { node { name } } } bookings { edges { node { serviceName customer { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["currentTenant"]["slug"], "demo-salon");
    assert_eq!(data["providers"]["edges"].as_array().map(Vec::len), Some(3), "staff");
    assert!(
        data["providers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["node"]["workingHours"].as_array().unwrap().is_empty())
    );
    let services = data["services"]["edges"].as_array().unwrap();
    assert_eq!(services.len(), 8, "the seed's six, the weekly class and the treatment needing the room");
    let haircut = services.iter().find(|s| s["node"]["name"] == "Women's Haircut").expect("the seed's services");
    assert_eq!(haircut["node"]["price"]["amountMinor"], 7500);
    assert_eq!(data["customers"]["edges"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        data["bookings"]["edges"].as_array().map(Vec::len),
        Some(8),
        "upcoming bookings to look at, four of them a recurring client's"
    );
    // A newcomer can look for a slot at once.
    let from = app.now().date_naive() + chrono::Duration::days(1);
    let to = from + chrono::Duration::days(6);
    let slots = app
        .ok(
            &salon,
            "query($s: ID!, $from: NaiveDate!, $to: NaiveDate!) { availability(serviceId: $s, from: $from, to: $to, first: 500) { startsAt provider { name } price { amountMinor } } }",
            json!({"s": haircut["node"]["id"], "from": from, "to": to}),
        )
        .await;
    let slots = slots["availability"].as_array().unwrap();
    assert!(!slots.is_empty());
    // As the README says: the senior stylist charges $90 for the $75 cut.
    for slot in slots {
        let expected = if slot["provider"]["name"] == "Bella Rossi" { 9000 } else { 7500 };
        assert_eq!(slot["price"]["amountMinor"], expected, "{slot}");
    }
    assert!(slots.iter().any(|s| s["provider"]["name"] == "Bella Rossi"), "Bella's slots are offered");

    // What each of the other demo logins may do is in `demo_roles.rs`.

    // A second start finds a tenant and seeds nothing more.
    let again = TestApp::spawn_on(app.database.clone(), |c| c.seed_demo = Some(true)).await;
    let data = again.ok(&owner, "{ myTenants { edges { node { id } } } }", json!({})).await;
    assert_eq!(data["myTenants"]["edges"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn with_redis_down_the_api_works_and_readiness_says_why() {
    let app = TestApp::spawn_with(|c| c.redis_url = Some("redis://127.0.0.1:1".into())).await;
    let (owner, _) = app.owner_of("no-redis").await;
    app.ok(&owner, "mutation { updateTenant(input: {name: \"Still works\"}) { name } }", json!({})).await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!((body["database"].as_str(), body["redis"].as_str()), (Some("ok"), Some("unavailable")));
}

#[tokio::test]
async fn sessions_record_the_client_address_and_user_agent() {
    let app = TestApp::spawn().await;
    app.ok(
        &Auth::anonymous(),
        "mutation { signUp(input: {email: \"ua@example.com\", password: \"correct horse battery staple\", displayName: \"UA\"}) { email } }",
        json!({}),
    )
    .await;
    let link = app.sign_up_link("ua@example.com").await.expect("a sign-up link");
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("user-agent", "TesseraTest/1.0")
        .json(&json!({
            "query": "mutation($t: String!) { completeSignUp(token: $t) { accessToken } }",
            "variables": { "t": link },
        }))
        .send()
        .await
        .unwrap();
    let token =
        response.json::<Value>().await.unwrap()["data"]["completeSignUp"]["accessToken"].as_str().unwrap().to_owned();
    let auth = Auth { token: Some(token), ..Auth::default() };
    let data = app.ok(&auth, "{ mySessions { edges { node { ip userAgent lastUsedAt } } } }", json!({})).await;
    let session = &data["mySessions"]["edges"][0]["node"];
    assert_eq!(session["ip"], "127.0.0.1");
    assert_eq!(session["userAgent"], "TesseraTest/1.0");
}

#[tokio::test]
async fn migrations_roll_back_and_forward_cleanly() {
    use tessera_migrations::{Migrator, MigratorTrait};
    let database = tessera_e2e::TestDatabase::create().await;
    let options = tessera_kernel::db::DbOptions::new(database.url.clone());
    let db = tessera_kernel::Db::connect(&options).await.unwrap();
    Migrator::up(db.connection(), None).await.unwrap();
    assert!(Migrator::get_pending_migrations(db.connection()).await.unwrap().is_empty());
    Migrator::down(db.connection(), None).await.unwrap();
    assert_eq!(Migrator::get_applied_migrations(db.connection()).await.unwrap().len(), 0);
    Migrator::up(db.connection(), None).await.unwrap();
    assert_eq!(Migrator::get_applied_migrations(db.connection()).await.unwrap().len(), Migrator::migrations().len());
    db.connection().close_by_ref().await.unwrap();
}

/// A gateway on PostgreSQL whose connections go through a link the test can
/// cut; `None` on SQLite, whose embedded database cannot go away.
async fn behind_a_link_to_cut() -> Option<(TestApp, tessera_e2e::FlakyLink)> {
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    if !database.is_postgres() {
        eprintln!("the embedded SQLite database cannot go away; set TESSERA_TEST_DATABASE_URL");
        return None;
    }
    let (credentials, rest) = database.url.split_once('@').expect("user@host in the URL");
    let (host, path) = rest.split_once('/').expect("a database path");
    let link = tessera_e2e::FlakyLink::to(host.to_owned()).await;
    let proxied = format!("{credentials}@{}/{path}", link.address);
    let app = TestApp::spawn_on(database, |c| c.database_url = Some(proxied)).await;
    Some((app, link))
}

#[tokio::test]
async fn when_the_database_goes_away_requests_fail_fast_and_service_recovers_by_itself() {
    let Some((app, link)) = behind_a_link_to_cut().await else { return };
    let user = app.sign_up("steady@example.com").await;
    app.ok(&user, "{ me { email } }", json!({})).await;

    link.cut();
    let (status, body) = app.post(&user, "{ me { email } }", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 503);

    link.restore();
    // The pool replaces its dead connections on the next use; no restart needed.
    let mut recovered = false;
    for _ in 0..20 {
        let (status, _) = app.post(&user, "{ me { email } }", json!({})).await;
        if status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "the gateway serves again once the database is back");
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn pooled_connections_the_database_dropped_never_fail_a_request() {
    let Some((app, link)) = behind_a_link_to_cut().await else { return };
    let user = app.sign_up("pooled@example.com").await;
    // Several connections in the pool, all idle.
    let busy = (0..6).map(|_| app.post(&user, "{ me { email } }", json!({})));
    futures_util::future::join_all(busy).await;

    // A failover or a restart closes every connection while the database
    // itself answers again at once: no request may see the dead ones.
    link.cut();
    link.restore();
    for attempt in 0..12 {
        let (status, body) = app.post(&user, "{ me { email } }", json!({})).await;
        assert_eq!(status, 200, "request {attempt} after the connections dropped: {body}");
    }
}
