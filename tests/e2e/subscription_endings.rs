//! Subscriptions say why they end, and do not end for no reason (issue 15, item
//! 8): a feed whose subscriber lost their rights sends an error with a code
//! before completing, an open subscription counts as use of the session, and a
//! socket whose session went idle closes with a reason of its own.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use tessera_e2e::{TestApp, WsEvent};

use crate::live_rights::revoke_all_roles;

const WAIT: StdDuration = StdDuration::from_secs(10);
const FEED: &str = "subscription { tenantUpdated { kind } }";

#[tokio::test]
async fn a_feed_whose_subscriber_loses_the_right_ends_with_forbidden() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("feed-ends").await;
    let staff = app.add_member(&owner, "s@feed-ends.test", &["staff"]).await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&staff).await;
    ws.send(json!({"id": "t", "type": "subscribe", "payload": {"query": FEED}})).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    revoke_all_roles(&app, &owner, &staff).await;
    app.ok(&owner, "mutation { updateTenant(input: {name: \"Renamed\"}) { name } }", json!({})).await;
    let mut last: Option<Value> = None;
    loop {
        match ws.next(WAIT).await {
            Some(WsEvent::Json(message)) if message["type"] == "complete" => break,
            Some(WsEvent::Json(message)) => last = Some(message),
            other => panic!("expected the feed to end with a reason, got {other:?}"),
        }
    }
    let last = last.expect("a last message before complete");
    assert_eq!(last["type"], "next", "{last}");
    assert_eq!(last["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{last}");
    assert!(
        last["payload"]["data"].is_null() || last["payload"].get("data").is_none(),
        "no data after the right went: {last}"
    );
}

#[tokio::test]
async fn an_open_subscription_keeps_its_session_from_going_idle() {
    // Sessions idle out after 60 minutes unused; sockets check every 200 ms.
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("kept-alive").await;
    let mut subscribed = app.websocket("graphql-transport-ws", None).await.unwrap();
    subscribed.init(&owner).await;
    subscribed.send(json!({"id": "t", "type": "subscribe", "payload": {"query": FEED}})).await;
    // Another sign-in of the same owner, on a socket with no subscription.
    let quiet_session = app.login("owner@kept-alive.test").await.in_tenant("kept-alive");
    let mut quiet = app.websocket("graphql-transport-ws", None).await.unwrap();
    quiet.init(&quiet_session).await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;

    for _ in 0..3 {
        app.clock.advance(chrono::Duration::minutes(40));
        tokio::time::sleep(StdDuration::from_millis(600)).await;
    }
    // Two hours on: the subscribed session is still in use, the quiet one idled
    // out and its socket closed with 4401 (refresh and reconnect), not 4403.
    assert_eq!(quiet.closed_with(WAIT).await, Some(4401));
    subscribed.send(json!({"type": "ping"})).await;
    assert_eq!(subscribed.next(WAIT).await, Some(WsEvent::Json(json!({"type": "pong"}))));
    app.ok(&owner, "{ me { email } }", json!({})).await;
    let (status, _) = app.post(&quiet_session, "{ me { email } }", json!({})).await;
    assert_eq!(status, 401, "the idle session's access token no longer works");
    let refreshed = app
        .ok(
            &tessera_e2e::Auth::anonymous(),
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({"t": quiet_session.refresh}),
        )
        .await;
    assert!(refreshed["refreshSession"]["accessToken"].is_string(), "a refresh revives an idle session");
}
