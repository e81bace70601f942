//! The `tessera` binary as a newcomer runs it: `cargo run` on a machine with no
//! database server.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn tessera(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.current_dir(dir).kill_on_drop(true);
    // Only the defaults: no database or Redis from the caller's environment.
    for (key, _) in std::env::vars() {
        if key.starts_with("TESSERA_") || key == "DATABASE_URL" || key == "REDIS_URL" {
            command.env_remove(key);
        }
    }
    command
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-bin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn export_schema_prints_the_checked_in_schema() {
    let output = tessera(&std::env::temp_dir()).arg("export-schema").output().await.unwrap();
    assert!(output.status.success());
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), checked_in);
}

#[tokio::test]
async fn a_first_start_creates_the_embedded_database_and_the_demo_then_stops_on_sigterm() {
    let dir = scratch_dir("start");
    let mut child = tessera(&dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        let mut base = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            printed.push(line.clone());
            if let Some(url) = line.trim().strip_prefix("GraphiQL:") {
                base = Some(url.trim().trim_end_matches('/').to_owned());
            }
            if line.contains("Demo login:") {
                return base.expect("the address is printed before the login");
            }
        }
        panic!("the server stopped before printing its address: {printed:#?}");
    })
    .await
    .expect("the server starts within a minute");
    assert!(
        printed.iter().any(|l| l.contains("owner@demo-salon.test") && l.contains("X-Tenant: demo-salon")),
        "{printed:#?}"
    );
    assert!(dir.join("data/tessera.db").exists(), "the embedded database is created under ./data");

    let http = reqwest::Client::new();
    let response = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let login: Value = http
        .post(format!("{base}/graphql"))
        .header("x-request-id", "binary-test-42")
        .json(&json!({"query": "mutation { login(input: {email: \"owner@demo-salon.test\", password: \"tessera-demo-owner\"}) { accessToken } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["login"]["accessToken"].as_str().expect("the demo owner can sign in").to_owned();
    let tenant: Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .header("x-tenant", "demo-salon")
        .json(&json!({"query": "{ currentTenant { slug } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["data"]["currentTenant"]["slug"], "demo-salon");

    let pid = child.id().expect("running").to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("stops on SIGTERM").unwrap();
    assert!(status.success(), "a graceful stop exits 0");
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push(line);
    }
    let logged = printed
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|entry| entry.to_string().contains("binary-test-42"));
    assert!(logged, "JSON log lines carry the request id: {printed:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `tessera serve` process and the address it printed.
struct Gateway {
    child: tokio::process::Child,
    base: String,
}

async fn start_gateway(dir: &std::path::Path, database_url: &str, redis_url: &str) -> Gateway {
    let mut child = tessera(dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("TESSERA_SEED_DEMO", "true")
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.trim().strip_prefix("GraphiQL:") {
                return url.trim().trim_end_matches('/').to_owned();
            }
        }
        panic!("the gateway stopped before printing its address");
    })
    .await
    .expect("the gateway starts");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Gateway { child, base }
}

async fn graphql(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new().post(format!("{base}/graphql")).header("x-tenant", "demo-salon");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value =
        request.json(&json!({"query": query, "variables": variables})).send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn demo_token(base: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "mutation { login(input: {email: \"owner@demo-salon.test\", password: \"tessera-demo-owner\"}) { accessToken } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["login"]["accessToken"].as_str().expect("demo login").to_owned()
}

#[tokio::test]
async fn a_booking_made_through_one_gateway_process_reaches_a_subscriber_on_another() {
    use futures_util::{SinkExt, StreamExt};
    use sea_orm::{ConnectionTrait, Database};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let required = std::env::var("TESSERA_REQUIRE_SERVICES").as_deref() == Ok("1");
    let (Ok(admin_url), Ok(redis_url)) =
        (std::env::var("TESSERA_TEST_DATABASE_URL"), std::env::var("TESSERA_TEST_REDIS_URL"))
    else {
        assert!(!required, "TESSERA_REQUIRE_SERVICES=1 needs TESSERA_TEST_DATABASE_URL and TESSERA_TEST_REDIS_URL");
        eprintln!(
            "skipped: replicas share events through PostgreSQL and Redis; set TESSERA_TEST_DATABASE_URL and TESSERA_TEST_REDIS_URL"
        );
        return;
    };
    let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (server, _) = admin_url.split('?').next().unwrap().rsplit_once('/').unwrap();
    let database_url = format!("{server}/{name}");
    let dir = scratch_dir("replicas");

    // The first process migrates and seeds the demo; the second joins it.
    let mut first = start_gateway(&dir, &database_url, &redis_url).await;
    let mut second = start_gateway(&dir, &database_url, &redis_url).await;

    let token = demo_token(&second.base).await;
    let mut request = format!("{}/graphql", second.base.replace("http://", "ws://")).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}"), "X-Tenant": "demo-salon"}});
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { bookingEvents { kind booking { id customer { name } } } }"}});
    socket.send(Message::text(subscribe.to_string())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Book the first free slot through the other process.
    let token_first = demo_token(&first.base).await;
    let catalogue = graphql(
        &first.base,
        Some(&token_first),
        "{ services(first: 1) { edges { node { id } } } customers(first: 1) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    let service = catalogue["services"]["edges"][0]["node"]["id"].clone();
    let customer = catalogue["customers"]["edges"][0]["node"]["id"].clone();
    let slots = graphql(
        &first.base,
        Some(&token_first),
        "query($s: ID!, $from: NaiveDate!, $to: NaiveDate!) { availability(serviceId: $s, from: $from, to: $to) { startsAt providerId } }",
        json!({"s": service, "from": chrono_today(1), "to": chrono_today(20)}),
    )
    .await;
    let slot = slots["availability"].as_array().and_then(|s| s.last()).expect("a free slot").clone();
    let booked = graphql(
        &first.base,
        Some(&token_first),
        "mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }",
        json!({"input": {"serviceId": service, "providerId": slot["providerId"], "customerId": customer, "startsAt": slot["startsAt"]}}),
    )
    .await;

    // Earlier events (the demo's own bookings) may arrive first; wait for ours.
    let wanted = booked["createBooking"]["id"].clone();
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(message)) = socket.next().await {
            let event: Value = serde_json::from_str(message.to_text().unwrap_or("{}")).unwrap_or_default();
            let data = &event["payload"]["data"]["bookingEvents"];
            if data["booking"]["id"] == wanted {
                return data["kind"].clone();
            }
        }
        Value::Null
    })
    .await
    .expect("the event crosses to the other process");
    assert_eq!(found, "CREATED");

    let _ = first.child.kill().await;
    let _ = second.child.kill().await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn chrono_today(days: i64) -> String {
    use tessera_kernel::Clock;
    (tessera_kernel::SystemClock.now().date_naive() + chrono::Duration::days(days)).to_string()
}
