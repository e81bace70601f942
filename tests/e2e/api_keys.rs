//! Personal API keys over HTTP and WebSocket: made once, used as a bearer token,
//! listed by their visible prefix, revoked, expired, and closed with the account.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};

const CREATE: &str = "mutation($name: String!, $days: Int) { createApiKey(name: $name, expiresInDays: $days) { secret apiKey { id name prefix expiresAt } } }";
const LIST: &str = "{ myApiKeys { id name prefix lastUsedAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }";
const CURRENT: &str = "{ currentTenant { slug } }";

fn key_auth(created: &Value, tenant: Option<&str>) -> Auth {
    Auth {
        token: created["createApiKey"]["secret"].as_str().map(str::to_owned),
        tenant: tenant.map(str::to_owned),
        ..Auth::anonymous()
    }
}

#[tokio::test]
async fn a_personal_key_acts_as_its_owner_until_revoked() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("keyed").await;
    app.owner_of("other-shop").await;
    let created = app.ok(&owner, CREATE, json!({ "name": "nightly export" })).await;
    let secret = created["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let key = &created["createApiKey"]["apiKey"];
    assert!(secret.starts_with("tsk_") && secret.len() > 40, "{secret}");
    assert_eq!(key["prefix"].as_str().unwrap(), &secret[..12]);
    let expires: chrono::DateTime<chrono::Utc> = key["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - app.now()).num_days(), 90, "90 days unless asked");

    let with_key = key_auth(&created, Some("keyed"));
    assert_eq!(app.ok(&with_key, CURRENT, json!({})).await["currentTenant"]["slug"], "keyed");
    assert_eq!(app.ok(&with_key, "{ me { email } }", json!({})).await["me"]["email"], "owner@keyed.test");
    let listed = app.ok(&owner, LIST, json!({})).await["myApiKeys"].clone();
    assert_eq!(listed[0]["name"], "nightly export");
    assert!(listed[0]["lastUsedAt"].is_string(), "{listed}");
    assert!(!listed.to_string().contains(&secret), "the secret is never listed");

    // A key is its owner, no more: another business is out of reach, and a key makes no keys.
    let elsewhere = Auth { tenant: Some("other-shop".into()), ..with_key.clone() };
    let (_, body) = app.post(&elsewhere, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    let (_, body) = app.post(&with_key, CREATE, json!({ "name": "spawned" })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");

    // Another person cannot revoke it; its owner can, and its subscriptions end.
    let stranger = app.sign_up("stranger@keys.test").await;
    let id = key["id"].clone();
    let (_, body) = app.post(&stranger, REVOKE, json!({ "id": id })).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&with_key).await;
    let feed = "subscription { tenantUpdated { eventId } }";
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": feed}})).await;
    assert!(app.ok(&owner, REVOKE, json!({ "id": id })).await["revokeApiKey"]["revokedAt"].is_string());
    assert_eq!(ws.closed_with(StdDuration::from_secs(10)).await, Some(4403));
    let (_, body) = app.post(&with_key, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(app.ok(&owner, LIST, json!({})).await["myApiKeys"], json!([]));
}

#[tokio::test]
async fn keys_expire_survive_a_password_change_and_die_with_the_account() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@keys.test").await;
    for days in [0, 366] {
        let (_, body) = app.post(&ana, CREATE, json!({ "name": "x", "days": days })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "expiresInDays", "{days}: {body}");
    }
    let short = key_auth(&app.ok(&ana, CREATE, json!({ "name": "short", "days": 1 })).await, None);
    let long = key_auth(&app.ok(&ana, CREATE, json!({ "name": "long", "days": 30 })).await, None);

    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    app.ok(&ana, change, json!({ "c": PASSWORD, "n": "a whole new passphrase" })).await;
    assert!(app.ok(&long, "{ me { email } }", json!({})).await["me"].is_object(), "keys outlive a password change");

    app.clock.advance(Duration::days(2));
    let (_, body) = app.post(&short, "{ me { email } }", json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "expired: {body}");
    assert!(app.ok(&long, "{ me { email } }", json!({})).await["me"].is_object());

    let ana = app.login_with("ana@keys.test", "a whole new passphrase").await;
    app.ok(&ana, "mutation { deactivateMyAccount(password: \"a whole new passphrase\") }", json!({})).await;
    let (_, body) = app.post(&long, "{ me { email } }", json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "closed with the account: {body}");
}
