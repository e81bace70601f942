//! API requests per credential over HTTP: counted in memory as they arrive,
//! written in batches, and read back by the business's owners as which member
//! which API key and which partner client used what; another business's
//! requests never show.

use serde_json::{Value, json};
use tessera_e2e::TestApp;

use crate::oauth::{access_token, make_client};

const CREATE_KEY: &str = "mutation($name: String!) { createApiKey(name: $name) { secret apiKey { id } } }";
const BY_SOURCE: &str = "{ usage { bySource(metric: API_REQUESTS) { kind sourceId used } } }";

async fn flush(app: &TestApp) {
    app.state.request_counts.flush(&app.state.db, &app.state.services).await.expect("counts are written");
}

#[tokio::test]
async fn requests_are_counted_per_member_and_partner_client_in_batches() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("requests-mine").await;
    let (client_row, client_id, secret) = make_client(&app, &owner, &["tenant:read"]).await;
    let partner = access_token(&app, &client_id, &secret).await;
    for _ in 0..3 {
        app.ok(&owner, "{ currentTenant { id } }", json!({})).await;
    }
    for _ in 0..2 {
        app.ok(&partner, "{ currentTenant { id } }", json!({})).await;
    }
    // A personal API key, made outside any business, used in this one once.
    let plain = tessera_e2e::Auth { tenant: None, ..owner.clone() };
    let created = app.ok(&plain, CREATE_KEY, json!({"name": "cron"})).await;
    let key = tessera_e2e::Auth {
        token: created["createApiKey"]["secret"].as_str().map(str::to_owned),
        tenant: Some("requests-mine".into()),
        ..tessera_e2e::Auth::anonymous()
    };
    let key_id = created["createApiKey"]["apiKey"]["id"].clone();
    app.ok(&key, "{ currentTenant { id } }", json!({})).await;
    let (other, _) = app.owner_of("requests-theirs").await;
    for _ in 0..5 {
        app.ok(&other, "{ currentTenant { id } }", json!({})).await;
    }
    flush(&app).await;

    let mine = app.ok(&owner, BY_SOURCE, json!({})).await;
    let user_id = owner.user_id.clone().unwrap();
    // The owner's four: making the client and three reads (this read is counted after).
    assert_eq!(
        mine["usage"]["bySource"],
        json!([
            {"kind": "user", "sourceId": user_id, "used": 4},
            {"kind": "partner_client", "sourceId": client_row, "used": 2},
            {"kind": "api_key", "sourceId": key_id, "used": 1}
        ])
    );
    let theirs = app.ok(&other, BY_SOURCE, json!({})).await;
    let sources: &Vec<Value> = theirs["usage"]["bySource"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{theirs}");
    assert_eq!(sources[0]["used"], 5);

    // Nothing pending: a second flush writes nothing more, and the counters agree.
    flush(&app).await;
    let meters = app.ok(&owner, "{ usage { meters { limit { metric limit } used } } }", json!({})).await;
    let requests =
        meters["usage"]["meters"].as_array().unwrap().iter().find(|m| m["limit"]["metric"] == "API_REQUESTS").unwrap();
    assert_eq!(requests["limit"]["limit"], Value::Null, "not limited by default");
    assert_eq!(requests["used"], 8, "{meters}");
    let drifts = app.state.services.usage.recompute().await.unwrap();
    assert!(drifts.is_empty(), "{drifts:?}");
}
