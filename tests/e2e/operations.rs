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
