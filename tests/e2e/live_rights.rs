//! Long-lived connections act with the rights their caller holds now: every
//! operation over a WebSocket and every subscription event is decided on current
//! permissions (roles, client scopes), access changes reach open feeds without
//! waiting for the relay's poll, and partner clients never reach their maker's
//! personal data.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, WsClient, WsEvent};

use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const WAIT: StdDuration = StdDuration::from_secs(10);
const CREATE_CUSTOMER: &str = "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }";

/// Runs `query` over `ws` as operation `id` and returns its first answer.
async fn over_socket(ws: &mut WsClient, id: &str, query: &str, variables: Value) -> Value {
    ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    loop {
        match ws.next(WAIT).await {
            Some(WsEvent::Json(message)) if message["id"] == id => return message,
            Some(WsEvent::Json(_)) => continue,
            other => panic!("expected an answer to {id}, got {other:?}"),
        }
    }
}

/// The code of an answer's first error, or "none" when it succeeded.
fn code_of(answer: &Value) -> String {
    let errors = if answer["type"] == "error" { &answer["payload"] } else { &answer["payload"]["errors"] };
    errors[0]["extensions"]["code"].as_str().unwrap_or("none").to_owned()
}

pub(crate) async fn revoke_all_roles(app: &TestApp, owner: &Auth, member: &Auth) {
    let assignments = app
        .ok(
            owner,
            "query($u: ID!) { roleAssignments(filter: {userId: $u}) { edges { node { id } } } }",
            json!({"u": member.user_id}),
        )
        .await;
    for edge in assignments["roleAssignments"]["edges"].as_array().unwrap() {
        app.ok(owner, "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }", json!({"id": edge["node"]["id"]}))
            .await;
    }
}

#[tokio::test]
async fn an_open_socket_loses_a_revoked_role_with_its_next_operation() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("live-rights").await;
    let admin = app.add_member(&owner, "admin@live-rights.test", &["admin"]).await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&admin).await;
    let first = over_socket(&mut ws, "1", CREATE_CUSTOMER, json!({"n": "Before"})).await;
    assert_eq!(code_of(&first), "none", "{first}");

    revoke_all_roles(&app, &owner, &admin).await;
    assert_eq!(app.error_code(&admin, CREATE_CUSTOMER, json!({"n": "Http"})).await, "FORBIDDEN");
    let after = over_socket(&mut ws, "2", CREATE_CUSTOMER, json!({"n": "After"})).await;
    assert_eq!(code_of(&after), "FORBIDDEN", "the socket acts with today's rights: {after}");
    let customers = app.ok(&owner, "{ customers(first: 10) { edges { node { name } } } }", json!({})).await;
    assert!(!customers.to_string().contains("After"), "{customers}");

    // Granted again, the same socket may act again.
    let admin_role = app.builtin_role_id(&owner, "ADMIN").await;
    app.ok(
        &owner,
        "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { id } }",
        json!({"u": admin.user_id, "r": admin_role}),
    )
    .await;
    let again = over_socket(&mut ws, "3", CREATE_CUSTOMER, json!({"n": "Again"})).await;
    assert_eq!(code_of(&again), "none", "{again}");
}

#[tokio::test]
async fn a_revoked_role_ends_the_feed_without_waiting_for_the_relay_poll() {
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    // The relay polls once an hour: only a wake-up after the commit can deliver.
    let app =
        TestApp::spawn_with_options(database, |_| {}, |o| o.relay_poll_interval = StdDuration::from_secs(3600)).await;
    let (owner, _) = app.owner_of("prompt-revoke").await;
    let staff = app.add_member(&owner, "s@prompt-revoke.test", &["staff"]).await;
    let mut feed = app.websocket("graphql-transport-ws", None).await.unwrap();
    feed.init(&staff).await;
    feed.send(json!({"id": "t", "type": "subscribe", "payload": {"query": "subscription { tenantUpdated { kind } }"}}))
        .await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    revoke_all_roles(&app, &owner, &staff).await;
    loop {
        match feed.next(WAIT).await {
            Some(WsEvent::Json(message)) if message["type"] == "complete" => break,
            Some(WsEvent::Json(message)) => assert_eq!(code_of(&message), "FORBIDDEN", "only the reason: {message}"),
            other => panic!("expected the feed to end once the revocation was published, got {other:?}"),
        }
    }
}

/// A partner client of `owner`'s business with `scopes`, signed in.
pub(crate) async fn client_token(app: &TestApp, owner: &Auth, scopes: &[&str]) -> Auth {
    let created = app
        .ok(
            owner,
            "mutation($input: CreateOAuthClientInput!) { createOAuthClient(input: $input) { clientSecret client { clientId } } }",
            json!({ "input": { "name": "Partner", "scopes": scopes } }),
        )
        .await;
    let id = created["createOAuthClient"]["client"]["clientId"].as_str().unwrap();
    let secret = created["createOAuthClient"]["clientSecret"].as_str().unwrap();
    let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
    let body: Value = app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap().json().await.unwrap();
    Auth { token: body["access_token"].as_str().map(str::to_owned), ..Auth::default() }
}

#[tokio::test]
async fn a_client_feed_shows_only_what_its_scopes_let_it_read() {
    let app = pinned_app().await;
    let salon = salon(&app, "scoped-feed", 0).await;
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    let own_only = client_token(&app, &salon.owner, &["booking:read_own"]).await;
    let feed = "subscription { bookingEvents { kind booking { id notes } } }";
    let mut reader_ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    reader_ws.init(&reader).await;
    reader_ws.send(json!({"id": "b", "type": "subscribe", "payload": {"query": feed}})).await;
    let mut own_ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    own_ws.init(&own_only).await;
    own_ws.send(json!({"id": "b", "type": "subscribe", "payload": {"query": feed}})).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    let mut input = booking_input(&salon, "2026-03-04T09:00:00Z");
    input["input"]["notes"] = json!("private: allergic to latex");
    app.ok(&salon.owner, BOOK, input).await;

    let Some(WsEvent::Json(seen)) = reader_ws.next(WAIT).await else { panic!("the full reader gets the event") };
    assert_eq!(seen["payload"]["data"]["bookingEvents"]["kind"], "CREATED", "{seen}");
    // The maker reaches no booking as "own": a client limited to its own sees nothing.
    assert_eq!(own_ws.next(StdDuration::from_secs(2)).await, None, "nothing beyond the client's scopes");
}

#[tokio::test]
async fn a_client_never_reaches_its_makers_inbox_or_preferences() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("client-inbox").await;
    let client = client_token(&app, &owner, &["tenant:read"]).await;
    app.ok(&client, "{ currentTenant { name } }", json!({})).await;
    for personal in [
        "{ myNotifications(first: 5) { edges { node { id } } } }",
        "{ unreadNotificationCount }",
        "{ myNotificationPreferences { own { email } } }",
        "mutation { markAllNotificationsRead }",
        "mutation { setMyNotificationPreferences(input: {}) { own { email } } }",
    ] {
        assert_eq!(app.error_code(&client, personal, json!({})).await, "FORBIDDEN", "{personal}");
        app.ok(&owner, personal, json!({})).await;
    }
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&client).await;
    let answer = over_socket(&mut ws, "n", "subscription { notificationReceived { id } }", json!({})).await;
    assert_eq!(code_of(&answer), "FORBIDDEN", "{answer}");
}
