//! Account lifecycle over HTTP and WebSocket: deactivating or deleting one's own
//! account, and the operator suspending and reactivating one; a closed account's
//! sessions and subscriptions end at once, as they do for every other way a
//! session ends.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use std::sync::Arc;

use tessera_e2e::{Auth, PASSWORD, TestApp, TestDatabase, WsClient, error_code_of};
use tessera_identity::UserStatus;

const WAIT: StdDuration = StdDuration::from_secs(10);
const SETTINGS_FEED: &str = "subscription { tenantUpdated { eventId kind } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }";
const DEACTIVATE: &str =
    "mutation($password: String!) { deactivateMyAccount(password: $password, reason: \"moving away\") }";
const DELETE: &str = "mutation($password: String!) { deleteMyAccount(password: $password) }";

async fn login_code(app: &TestApp, email: &str) -> String {
    let (_, body) = app.post(&Auth::anonymous(), LOGIN, json!({ "email": email, "password": PASSWORD })).await;
    if body["data"]["login"]["accessToken"].is_string() { "OK".into() } else { error_code_of(&body).to_owned() }
}

#[tokio::test]
async fn deactivating_my_account_ends_every_session_and_subscription_at_once() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("closing").await;
    // The business keeps an owner when this one leaves.
    app.add_member(&owner, "partner@closing.test", &["owner"]).await;
    let phone = app.login("owner@closing.test").await.in_tenant("closing");
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&phone).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;

    let (_, body) = app.post(&owner, DEACTIVATE, json!({ "password": "not my password at all" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.ok(&owner, DEACTIVATE, json!({ "password": PASSWORD })).await["deactivateMyAccount"], true);

    assert_eq!(ws.closed_with(WAIT).await, Some(4403), "the other device's subscription ends");
    for session in [&owner, &phone] {
        let (_, body) = app.post(session, "{ me { email } }", json!({})).await;
        assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    }
    assert_eq!(login_code(&app, "owner@closing.test").await, "FORBIDDEN");
    // A reset link is not a way back in.
    app.ok(&Auth::anonymous(), "mutation { requestPasswordReset(email: \"owner@closing.test\") }", json!({})).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    app.deliver().await;
    assert!(app.email.sent().iter().all(|e| e.subject != "Reset your password"));
}

/// A subscription to the tenant's feed on a socket signed in as `auth`.
async fn watching(app: &TestApp, auth: &Auth) -> WsClient {
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(auth).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
    ws
}

#[tokio::test]
async fn every_way_a_session_ends_stops_its_subscriptions_at_once() {
    // Sockets check their session only hourly here: what closes them is the
    // notice the identity service sends once the change has committed.
    let database = Arc::new(TestDatabase::create().await);
    let hourly = |o: &mut tessera_api::AppOptions| o.ws_session_check = StdDuration::from_secs(3600);
    let app = TestApp::spawn_with_options(database, |_| {}, hourly).await;
    let (owner, _) = app.owner_of("endings").await;
    let device = |password: &'static str| {
        let app = &app;
        async move { app.login_with("owner@endings.test", password).await.in_tenant("endings") }
    };
    let ended = |mut ws: WsClient| async move { ws.closed_with(WAIT).await };

    let phone = device(PASSWORD).await;
    let ws = watching(&app, &phone).await;
    app.ok(&phone, "mutation { logout }", json!({})).await;
    assert_eq!(ended(ws).await, Some(4403), "signing out");

    let tablet = device(PASSWORD).await;
    let ws = watching(&app, &tablet).await;
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) { id } }";
    app.ok(&owner, revoke, json!({ "id": tablet.session_id })).await;
    assert_eq!(ended(ws).await, Some(4403), "revoking a device from another");

    let laptop = device(PASSWORD).await;
    let ws = watching(&app, &laptop).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let new_password = "a different long passphrase 2026";
    app.ok(&owner, change, json!({ "c": PASSWORD, "n": new_password })).await;
    assert_eq!(ended(ws).await, Some(4403), "a password change ends the other sessions");

    let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
    let desk = device(new_password).await;
    let data = app.ok(&Auth::anonymous(), refresh, json!({ "t": desk.refresh })).await;
    let rotated = Auth::from_payload(&data["refreshSession"]).in_tenant("endings");
    let ws = watching(&app, &rotated).await;
    app.clock.advance(chrono::Duration::seconds(31));
    let (_, body) = app.post(&Auth::anonymous(), refresh, json!({ "t": desk.refresh })).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(ended(ws).await, Some(4403), "a reused refresh token ends its session");

    let kiosk = device(new_password).await;
    let ws = watching(&app, &kiosk).await;
    let services = &app.state.services;
    tessera_api::accounts::set_status(services, "owner@endings.test", UserStatus::Suspended, "audit").await.unwrap();
    assert_eq!(ended(ws).await, Some(4403), "the operator suspends the account");
}

#[tokio::test]
async fn the_operator_suspends_and_reactivates_with_a_reason_and_deletion_is_final() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@suspended.test").await;
    let services = &app.state.services;
    let set = |status, reason: &'static str| {
        tessera_api::accounts::set_status(services, "ana@suspended.test", status, reason)
    };

    let suspended = set(UserStatus::Suspended, "chargebacks under review").await.unwrap();
    assert_eq!(suspended.status, UserStatus::Suspended);
    assert_eq!(suspended.status_reason.as_deref(), Some("chargebacks under review"));
    assert!(suspended.status_changed_at.is_some());
    assert_eq!(suspended.status_changed_by, None, "the operator, not a user");
    let (_, body) = app.post(&ana, "{ me { email } }", json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "sessions ended: {body}");
    assert_eq!(login_code(&app, "ana@suspended.test").await, "FORBIDDEN");
    let again = set(UserStatus::Suspended, "still").await.unwrap_err();
    assert_eq!(again.domain().code().as_str(), "CONFLICT");
    let empty = set(UserStatus::Active, "  ").await.unwrap_err();
    assert_eq!(empty.domain().code().as_str(), "BAD_USER_INPUT");

    let back = set(UserStatus::Active, "review cleared").await.unwrap();
    assert_eq!((back.status, back.status_reason), (UserStatus::Active, None));
    assert_eq!(login_code(&app, "ana@suspended.test").await, "OK");
    let ana = app.login("ana@suspended.test").await;
    let events = app.ok(&ana, "{ mySecurityEvents(last: 5) { edges { node { kind details } } } }", json!({})).await;
    let changes: Vec<&Value> = events["mySecurityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["kind"] == "ACCOUNT_STATUS_CHANGED")
        .collect();
    assert_eq!(changes.len(), 2, "{events}");
    assert_eq!(changes[0]["details"]["reason"], "chargebacks under review");
    assert_eq!(changes[0]["details"]["by"], "operator");
    assert_eq!(changes[1]["details"]["to"], "active");

    // Deleting one's own account is final.
    assert_eq!(app.ok(&ana, DELETE, json!({ "password": PASSWORD })).await["deleteMyAccount"], true);
    assert_eq!(login_code(&app, "ana@suspended.test").await, "FORBIDDEN");
    let revived = set(UserStatus::Active, "please").await.unwrap_err();
    assert_eq!(revived.domain().code().as_str(), "CONFLICT");
    app.ok(
        &Auth::anonymous(),
        "mutation { signUp(input: {email: \"ana@suspended.test\", password: \"a brand new passphrase\", displayName: \"Ana\"}) { email } }",
        json!({}),
    )
    .await;
    assert_eq!(app.sign_up_link("ana@suspended.test").await, None, "the address stays taken");
}

#[tokio::test]
async fn closing_my_account_touches_nobody_elses() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("neighbours").await;
    let member = app.add_member(&owner, "member@neighbours.test", &["staff"]).await;
    assert_eq!(app.ok(&member, DEACTIVATE, json!({ "password": PASSWORD })).await["deactivateMyAccount"], true);
    assert_eq!(app.ok(&owner, "{ me { email status } }", json!({})).await["me"]["status"], "ACTIVE");
    assert_eq!(login_code(&app, "owner@neighbours.test").await, "OK");
    // The owner sees the member's status (and cannot change it: that is the account's own, or the operator's).
    let members =
        app.ok(&owner, "{ members(first: 10) { edges { node { user { email status } } } } }", json!({})).await;
    let statuses: Vec<(&str, &str)> = members["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["user"]["email"].as_str().unwrap(), e["node"]["user"]["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("member@neighbours.test", "INACTIVE")), "{statuses:?}");
}
