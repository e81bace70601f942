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
