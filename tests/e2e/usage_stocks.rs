//! Webhook endpoints and partner clients as stocks the tier limits, over HTTP:
//! the free tier's one endpoint and two clients, a removed endpoint or a
//! revoked client giving its place back, and migration 35 counting the ones
//! that existed before it.

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};
use tessera_migrations::{Migrator, MigratorTrait};

use crate::notifications::CREATE_ENDPOINT;
use crate::usage::counters_match_records;

const METERS: &str = "{ usage { meters { limit { metric limit } used } } }";
const NEW_CLIENT: &str =
    "mutation($n: String!) { createOAuthClient(input: {name: $n, scopes: [\"tenant:read\"]}) { client { id } } }";
const REVOKE_CLIENT: &str = "mutation($id: ID!) { revokeOAuthClient(id: $id) { revokedAt } }";
const DELETE_ENDPOINT: &str = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }";

fn used(usage: &Value, metric: &str) -> i64 {
    let found = usage["usage"]["meters"].as_array().unwrap().iter().find(|m| m["limit"]["metric"] == metric).unwrap();
    found["used"].as_i64().unwrap()
}

#[tokio::test]
async fn endpoints_and_partner_clients_are_held_to_the_free_tier_and_given_back() {
    let app = TestApp::spawn_with(|args| args.new_tenant_tier = None).await;
    let (owner, _) = app.owner_of("stock-free").await;

    let url = "http://127.0.0.1:9/hooks";
    let first = app.ok(&owner, CREATE_ENDPOINT, json!({"url": url, "topics": null})).await;
    let endpoint = first["createWebhookEndpoint"]["endpoint"]["id"].clone();
    let (_, second) = app.post(&owner, CREATE_ENDPOINT, json!({"url": url, "topics": null})).await;
    assert_eq!(error_code_of(&second), "QUOTA_EXCEEDED", "{second}");
    assert_eq!(second["errors"][0]["extensions"]["metric"], "webhook_endpoints");
    app.ok(&owner, DELETE_ENDPOINT, json!({"id": endpoint})).await;
    app.ok(&owner, CREATE_ENDPOINT, json!({"url": url, "topics": null})).await;

    let mut clients = Vec::new();
    for name in ["Widget", "Reports"] {
        let made = app.ok(&owner, NEW_CLIENT, json!({"n": name})).await;
        clients.push(made["createOAuthClient"]["client"]["id"].clone());
    }
    let (_, third) = app.post(&owner, NEW_CLIENT, json!({"n": "Third"})).await;
    assert_eq!(error_code_of(&third), "QUOTA_EXCEEDED", "{third}");
    assert_eq!(third["errors"][0]["extensions"]["metric"], "api_credentials");
    let listed = app.ok(&owner, "{ oauthClients { id } }", json!({})).await;
    assert_eq!(listed["oauthClients"].as_array().unwrap().len(), 2, "the refused client was not made");
    app.ok(&owner, REVOKE_CLIENT, json!({"id": clients[0]})).await;
    app.ok(&owner, NEW_CLIENT, json!({"n": "Third"})).await;

    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!((used(&usage, "WEBHOOK_ENDPOINTS"), used(&usage, "API_CREDENTIALS")), (1, 2), "{usage}");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn migration_35_counts_the_endpoints_and_clients_that_already_exist() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("stock-before").await;
    for _ in 0..2 {
        app.ok(&owner, CREATE_ENDPOINT, json!({"url": "http://127.0.0.1:9/hooks", "topics": null})).await;
    }
    let mut clients = Vec::new();
    for name in ["Widget", "Reports", "Sync"] {
        let made = app.ok(&owner, NEW_CLIENT, json!({"n": name})).await;
        clients.push(made["createOAuthClient"]["client"]["id"].clone());
    }
    app.ok(&owner, REVOKE_CLIENT, json!({"id": clients[0]})).await;

    let conn = app.state.db.connection();
    let from_35 = u32::try_from(Migrator::migrations().len() - 34).unwrap();
    Migrator::down(conn, Some(from_35)).await.expect("migration 35 goes down");
    let left =
        app.rows("SELECT count(*) FROM usage_records WHERE metric IN ('webhook_endpoints', 'api_credentials')").await;
    assert_eq!(left[0].try_get_by_index::<i64>(0).unwrap(), 0);
    Migrator::up(conn, None).await.expect("migration 35 goes up again");

    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!((used(&usage, "WEBHOOK_ENDPOINTS"), used(&usage, "API_CREDENTIALS")), (2, 2), "{usage}");
    counters_match_records(&app).await;
}
