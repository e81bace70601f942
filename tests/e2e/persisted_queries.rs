//! Automatic persisted queries, in the protocol's own messages (Apollo's APQ):
//! a hash the gateway does not know is `PersistedQueryNotFound`; the document
//! with its hash is kept; then the hash alone runs, over POST and GET, with each
//! caller's own credentials and tenant; a hash that is not the document's
//! SHA-256 is refused and plants nothing.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tessera_e2e::{Auth, TestApp};

const TENANT_NAME: &str = "query TenantName { currentTenant { name } }";

fn sha256(document: &str) -> String {
    Sha256::digest(document.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `body` as `auth` (JSON responses, as Apollo Client asks by default).
async fn post(app: &TestApp, auth: &Auth, body: Value) -> (u16, Value) {
    send(auth, app.http.post(app.url("/graphql")).json(&body)).await
}

/// GETs the persisted `TenantName` as `auth`, its hash in `extensions`.
async fn get(app: &TestApp, auth: &Auth, extensions: &Value) -> (u16, Value) {
    let query = [("operationName", "TenantName"), ("extensions", &extensions.to_string())];
    send(auth, app.http.get(app.url("/graphql")).query(&query)).await
}

async fn send(auth: &Auth, request: reqwest::RequestBuilder) -> (u16, Value) {
    auth.send(request.header("accept", "application/json")).await
}

#[tokio::test]
async fn a_hash_runs_once_its_document_was_sent_with_it_over_post_and_get() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("apq").await;
    let hash = sha256(TENANT_NAME);

    let (status, body) = post(&app, &owner, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");

    let (_, body) = post(&app, &owner, json!({ "query": TENANT_NAME, "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant apq", "{body}");
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant apq", "{body}");
    let (status, body) = get(&app, &owner, &persisted(&hash)).await;
    assert_eq!((status, &body["data"]["currentTenant"]["name"]), (200, &json!("Tenant apq")), "{body}");

    // Only the document is kept: another business running the same hash sees its own.
    let (other, _) = app.owner_of("apq-other").await;
    let (_, body) = post(&app, &other, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant apq-other", "{body}");
    let (_, body) = post(&app, &Auth::anonymous(), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_plants_nothing() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("apq-planted").await;
    let victim = sha256(TENANT_NAME);
    let planted = "mutation { logout }";

    let (status, body) = post(&app, &owner, json!({ "query": planted, "extensions": persisted(&victim) })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&victim) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{body}");
    app.ok(&owner, "{ me { id } }", json!({})).await;

    let (status, body) =
        post(&app, &owner, json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": victim } } })).await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{body}");
    // A document the schema refuses is not kept either.
    let invalid = "{ nothing }";
    let (_, body) = post(&app, &owner, json!({ "query": invalid, "extensions": persisted(&sha256(invalid)) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&sha256(invalid)) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{body}");
    // Nor one over the limits (31 aliases; 30 is the most).
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let costly = format!("{{ {aliases}}}");
    let (_, body) = post(&app, &owner, json!({ "query": costly, "extensions": persisted(&sha256(&costly)) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&sha256(&costly)) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{body}");
}

#[tokio::test]
async fn with_the_protocol_off_a_hash_alone_is_not_supported() {
    let app = TestApp::spawn_with(|args| args.persisted_queries_bytes = Some(0)).await;
    let (owner, _) = app.owner_of("apq-off").await;
    let hash = sha256(TENANT_NAME);
    let (_, body) = post(&app, &owner, json!({ "query": TENANT_NAME, "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant apq-off", "the document still runs: {body}");
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotSupported", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_SUPPORTED");
}
