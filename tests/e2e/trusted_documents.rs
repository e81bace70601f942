//! Trusted documents: a file of the operations first-party apps send (Apollo's
//! persisted query manifest, or a plain object of hash to document as GraphQL
//! Code Generator and Relay write it). Listed operations run by hash alone with
//! no registration round trip; when untrusted documents are refused (the
//! default in production once a file is set) anything else is refused with
//! `PERSISTED_QUERY_NOT_IN_LIST`, over HTTP and over WebSocket alike.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tessera_api::config::{DocumentPolicy, Environment};
use tessera_e2e::{Auth, TestApp, WsEvent};

const TENANT_NAME: &str = "query TenantName { currentTenant { name } }";
const SETTINGS_FEED: &str = "subscription SettingsFeed { tenantUpdated { kind tenant { name } } }";
const RENAME: &str = "mutation Rename($name: String!) { updateTenant(input: { name: $name }) { name } }";
const WAIT: Duration = Duration::from_secs(10);

fn sha256(document: &str) -> String {
    Sha256::digest(document.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// Writes `manifest` to a file of its own and returns its path.
fn manifest_file(name: &str, manifest: &Value) -> String {
    let path = std::env::temp_dir().join(format!("tessera-trusted-{name}-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, manifest.to_string()).expect("manifest written");
    path.display().to_string()
}

/// Apollo's persisted query manifest holding the two operations above.
fn apollo_manifest() -> Value {
    json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": sha256(TENANT_NAME), "name": "TenantName", "type": "query", "body": TENANT_NAME },
            { "id": sha256(SETTINGS_FEED), "name": "SettingsFeed", "type": "subscription", "body": SETTINGS_FEED },
            { "id": sha256(RENAME), "name": "Rename", "type": "mutation", "body": RENAME },
        ]
    })
}

async fn post(app: &TestApp, auth: &Auth, body: Value, accept: &str) -> (u16, Value) {
    auth.send(app.http.post(app.url("/graphql")).json(&body).header("accept", accept)).await
}

/// A gateway that refuses untrusted documents, beside one on the same database
/// that allows them (the tests sign their people up through it).
async fn strict_beside_open(name: &str) -> (TestApp, TestApp) {
    let open = TestApp::spawn().await;
    let file = manifest_file(name, &apollo_manifest());
    let strict = TestApp::spawn_on(open.database.clone(), |args| {
        args.trusted_documents = Some(file);
        args.untrusted_documents = Some(DocumentPolicy::Refuse);
    })
    .await;
    (open, strict)
}

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn only_listed_operations_run_when_untrusted_documents_are_refused() {
    let (open, app) = strict_beside_open("refuse").await;
    let (owner, _) = open.owner_of("trusted").await;

    // A listed hash runs at once: nothing to register first.
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&sha256(TENANT_NAME)) }), JSON).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant trusted", "{body}");
    let query = [("extensions", persisted(&sha256(TENANT_NAME)).to_string())];
    let (_, body) = owner.send(app.http.get(app.url("/graphql")).query(&query)).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant trusted", "over GET too: {body}");
    // The listed document in full runs as well (a client not yet sending hashes).
    let (_, body) = post(&app, &owner, json!({ "query": TENANT_NAME }), JSON).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant trusted", "{body}");
    // Still each caller's own tenant: the list holds documents, not results.
    let (other, _) = open.owner_of("trusted-other").await;
    let (_, body) = post(&app, &other, json!({ "extensions": persisted(&sha256(TENANT_NAME)) }), JSON).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant trusted-other", "{body}");

    // Anything else is refused: a different document, even one differing by a
    // space; an unknown hash; a document with its own hash (APQ registration).
    for request in [
        json!({ "query": "{ me { id email } }" }),
        json!({ "query": "query TenantName { currentTenant { name }  }" }),
        json!({ "extensions": persisted(&sha256("{ me { id } }")) }),
        json!({ "query": "{ me { id } }", "extensions": persisted(&sha256("{ me { id } }")) }),
        json!({ "query": "mutation { logout }" }),
    ] {
        let (status, body) = post(&app, &owner, request.clone(), GRAPHQL_RESPONSE).await;
        assert_eq!(status, 400, "{request} → {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST", "{request} → {body}");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
        let (status, body) = post(&app, &owner, request.clone(), JSON).await;
        assert_eq!((status, &body["errors"][0]["extensions"]["code"]), (200, &json!("PERSISTED_QUERY_NOT_IN_LIST")));
    }
    // Sign-in is an operation like any other: a frontend lists its own.
    let (_, body) = post(&app, &Auth::anonymous(), json!({ "query": "mutation { logout }" }), JSON).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST", "{body}");
}

#[tokio::test]
async fn over_websocket_only_listed_operations_start() {
    let (open, app) = strict_beside_open("ws").await;
    let (owner, _) = open.owner_of("trusted-live").await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.expect("socket");
    ws.init(&owner).await;

    let unlisted = "subscription { tenantUpdated { kind } }";
    ws.send(json!({ "id": "unlisted", "type": "subscribe", "payload": { "query": unlisted } })).await;
    let Some(WsEvent::Json(message)) = ws.next(WAIT).await else { panic!("an answer") };
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("error"), Some("unlisted")), "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST", "{message}");

    // The listed subscription by hash alone.
    let by_hash =
        json!({ "id": "listed", "type": "subscribe", "payload": { "extensions": persisted(&sha256(SETTINGS_FEED)) } });
    ws.send(by_hash).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rename = json!({ "variables": { "name": "Renamed" }, "extensions": persisted(&sha256(RENAME)) });
    let (_, body) = post(&app, &owner, rename, JSON).await;
    assert_eq!(body["data"]["updateTenant"]["name"], "Renamed", "a listed mutation by hash: {body}");
    let Some(WsEvent::Json(message)) = ws.next(WAIT).await else { panic!("an event") };
    assert_eq!(message["id"], "listed", "{message}");
    assert_eq!(message["payload"]["data"]["tenantUpdated"]["tenant"]["name"], "Renamed", "{message}");
}

#[tokio::test]
async fn in_development_a_flat_list_serves_hashes_and_other_documents_still_run() {
    let flat = json!({ sha256(TENANT_NAME): TENANT_NAME });
    let file = manifest_file("flat", &flat);
    let app = TestApp::spawn_with(|args| {
        args.trusted_documents = Some(file.clone());
        // The persisted query store is off: listed hashes need none.
        args.persisted_queries_bytes = Some(0);
    })
    .await;
    assert_eq!(app.state.config.untrusted_documents, DocumentPolicy::Allow, "development allows by default");
    let (owner, _) = app.owner_of("trusted-dev").await;
    let (_, body) = post(&app, &owner, json!({ "extensions": persisted(&sha256(TENANT_NAME)) }), JSON).await;
    assert_eq!(body["data"]["currentTenant"]["name"], "Tenant trusted-dev", "{body}");
    let (_, body) = post(&app, &owner, json!({ "query": "{ me { email } }" }), JSON).await;
    assert!(body["data"]["me"]["email"].is_string(), "an unlisted document runs in development: {body}");
}

#[test]
fn production_refuses_untrusted_documents_once_a_list_is_set() {
    use tessera_api::config::{Config, ConfigArgs};
    let file = manifest_file("prod", &apollo_manifest());
    let production = |trusted: Option<String>, policy: Option<DocumentPolicy>| ConfigArgs {
        environment: Some(Environment::Production),
        database_url: Some("postgres://db.example/tessera".into()),
        trusted_documents: trusted,
        untrusted_documents: policy,
        ..ConfigArgs::default()
    };
    let config = Config::load(&production(Some(file.clone()), None)).expect("valid");
    assert_eq!(config.untrusted_documents, DocumentPolicy::Refuse);
    let config = Config::load(&production(None, None)).expect("valid");
    assert_eq!(config.untrusted_documents, DocumentPolicy::Allow, "no list, nothing to hold documents to");
    let config = Config::load(&production(Some(file), Some(DocumentPolicy::Allow))).expect("valid");
    assert_eq!(config.untrusted_documents, DocumentPolicy::Allow, "the operator may still allow them");
    let refused = Config::load(&production(None, Some(DocumentPolicy::Refuse))).expect_err("refuse needs a list");
    assert!(refused.to_string().contains("untrusted_documents"), "{refused}");
}
