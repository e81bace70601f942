//! GraphQL over WebSocket: protocol, authentication, subscriptions.

use std::time::Duration;

use serde_json::json;
use tessera_e2e::{Auth, TestApp, WsEvent};

const WAIT: Duration = Duration::from_secs(10);
const TRANSPORT_WS: &str = "graphql-transport-ws";
const SETTINGS_FEED: &str = "subscription { tenantUpdated { eventId kind tenant { name } } }";

#[tokio::test]
async fn a_subscriber_receives_its_tenants_changes_and_not_others() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("live-salon").await;
    let (other, _) = app.owner_of("other-salon").await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&owner).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
    // Let the subscription register before changing anything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.ok(&other, "mutation { updateTenant(input: {name: \"Elsewhere\"}) { name } }", json!({})).await;
    app.ok(&owner, "mutation { updateTenant(input: {name: \"Live Salon 2\"}) { name } }", json!({})).await;
    let event = ws.next(WAIT).await.expect("an event");
    let WsEvent::Json(message) = event else { panic!("expected an event, got {event:?}") };
    assert_eq!(message["type"], "next");
    assert_eq!(message["id"], "1");
    assert_eq!(message["payload"]["data"]["tenantUpdated"]["kind"], "UPDATED");
    assert_eq!(
        message["payload"]["data"]["tenantUpdated"]["tenant"]["name"], "Live Salon 2",
        "not the other tenant's change"
    );
}

#[tokio::test]
async fn bad_credentials_close_the_connection_with_4403() {
    let app = TestApp::spawn().await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": "Bearer tsa_forged"}})).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4403));

    let (owner, _) = app.owner_of("mine").await;
    app.owner_of("theirs").await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.send(json!({"type": "connection_init", "payload": owner.in_tenant("theirs").init_payload()})).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4403), "a foreign tenant is refused at init");
}

#[tokio::test]
async fn the_protocols_close_codes_are_honoured() {
    let app = TestApp::spawn().await;
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}});

    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.send(subscribe.clone()).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4401), "subscribe before the ack");

    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    assert_eq!(ws.closed_with(WAIT).await, Some(4408), "no connection_init in time");

    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.send_raw("{not json").await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4400), "malformed message");

    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&Auth::anonymous()).await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4429), "a second init");

    let (owner, _) = app.owner_of("dup-ids").await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&owner).await;
    let feed = json!({"id": "same", "type": "subscribe", "payload": {"query": SETTINGS_FEED}});
    ws.send(feed.clone()).await;
    ws.send(feed).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4409), "duplicate operation id");
}

#[tokio::test]
async fn queries_run_over_the_socket_and_complete() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("sock@example.com").await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&user).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next(WAIT).await, Some(WsEvent::Json(json!({"type": "pong"}))));
    ws.send(json!({"id": "q", "type": "subscribe", "payload": {"query": "{ me { email } }"}})).await;
    let Some(WsEvent::Json(next)) = ws.next(WAIT).await else { panic!("expected a result") };
    assert_eq!(next["payload"]["data"]["me"]["email"], "sock@example.com");
    assert_eq!(ws.next(WAIT).await, Some(WsEvent::Json(json!({"id": "q", "type": "complete"}))));
    // Fields come in the order they were asked for, as over HTTP.
    let ordered = "{ zebra: __typename apple: __typename }";
    ws.send(json!({"id": "o", "type": "subscribe", "payload": {"query": ordered}})).await;
    let answer = ws.next_text(WAIT).await;
    assert_eq!(
        answer.as_deref(),
        Some(r#"{"id":"o","type":"next","payload":{"data":{"zebra":"Query","apple":"Query"}}}"#)
    );
    assert_eq!(ws.next(WAIT).await, Some(WsEvent::Json(json!({"id": "o", "type": "complete"}))));
    ws.send(json!({"id": "bad", "type": "subscribe", "payload": {"query": "{ nope }"}})).await;
    let Some(WsEvent::Json(error)) = ws.next(WAIT).await else { panic!("expected an error") };
    assert_eq!(error["type"], "error");
    assert_eq!(error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn the_legacy_protocol_still_works() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("legacy@example.com").await;
    let mut ws = app.websocket("graphql-ws", None).await.unwrap();
    ws.init(&user).await;
    ws.send(json!({"id": "1", "type": "start", "payload": {"query": "{ me { email } }"}})).await;
    let mut saw_data = false;
    while let Some(WsEvent::Json(message)) = ws.next(WAIT).await {
        match message["type"].as_str() {
            Some("data") => {
                assert_eq!(message["payload"]["data"]["me"]["email"], "legacy@example.com");
                saw_data = true;
            }
            Some("complete") => break,
            _ => {}
        }
    }
    assert!(saw_data);
}

#[tokio::test]
async fn logging_out_ends_open_subscriptions_at_once() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("short-lived").await;
    let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&owner).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
    app.ok(&owner, "mutation { logout }", json!({})).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(4403));
}

#[tokio::test]
async fn a_page_from_a_foreign_origin_cannot_open_a_socket() {
    let app = TestApp::spawn_with(|c| c.cors_origins = Some(vec!["https://app.example.com".into()])).await;
    assert!(app.websocket(TRANSPORT_WS, Some("https://evil.example.net")).await.is_err());
    assert!(app.websocket(TRANSPORT_WS, Some("https://app.example.com")).await.is_ok());
    let own_origin = format!("http://{}", app.address);
    assert!(app.websocket(TRANSPORT_WS, Some(&own_origin)).await.is_ok(), "GraphiQL's own origin");
}

#[tokio::test]
async fn a_client_without_a_graphql_subprotocol_is_refused() {
    let app = TestApp::spawn().await;
    let mut ws = app.websocket("", None).await.unwrap();
    assert_eq!(ws.closed_with(WAIT).await, Some(4406));
    assert!(app.websocket("mqtt", None).await.is_err(), "no subprotocol is agreed, so the handshake fails");
}

#[tokio::test]
async fn a_change_made_through_one_replica_reaches_a_subscriber_on_another() {
    let first = TestApp::spawn().await;
    if first.state.services.bus.uses_redis() {
        let second = TestApp::spawn_on(first.database.clone(), |_| {}).await;
        let (owner, _) = first.owner_of("two-replicas").await;
        let mut ws = second.websocket(TRANSPORT_WS, None).await.unwrap();
        ws.init(&owner).await;
        ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.ok(&owner, "mutation { updateTenant(input: {name: \"Seen Everywhere\"}) { name } }", json!({})).await;
        let Some(WsEvent::Json(message)) = ws.next(WAIT).await else { panic!("no event reached the other replica") };
        assert_eq!(message["payload"]["data"]["tenantUpdated"]["tenant"]["name"], "Seen Everywhere");
        // Delivered once, although both replicas' relays and Redis were involved.
        assert_eq!(ws.next(Duration::from_millis(1500)).await, None);
    } else {
        eprintln!("replicas share events through Redis only; set TESSERA_TEST_REDIS_URL");
    }
}

#[tokio::test]
async fn after_a_redis_outage_subscribers_on_another_replica_get_the_missed_event_once() {
    let Some((link, via_link)) = tessera_e2e::FlakyLink::to_redis("replicas share events through Redis only").await
    else {
        return;
    };
    let first = TestApp::spawn_with(|c| c.redis_url = Some(via_link.clone())).await;
    let second = TestApp::spawn_on(first.database.clone(), |c| c.redis_url = Some(via_link.clone())).await;
    let (owner, _) = first.owner_of("redis-outage").await;
    let mut ws = second.websocket(TRANSPORT_WS, None).await.unwrap();
    ws.init(&owner).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    link.cut();
    first.ok(&owner, "mutation { updateTenant(input: {name: \"Changed in the dark\"}) { name } }", json!({})).await;
    assert_eq!(ws.next(Duration::from_secs(1)).await, None, "nothing can cross while Redis is away");

    link.restore();
    let Some(WsEvent::Json(message)) = ws.next(Duration::from_secs(30)).await else {
        panic!("the missed event never arrived")
    };
    assert_eq!(message["payload"]["data"]["tenantUpdated"]["tenant"]["name"], "Changed in the dark");
    assert_eq!(ws.next(Duration::from_secs(2)).await, None, "and it arrives once");
}

#[tokio::test]
async fn disconnected_subscribers_leave_nothing_behind() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("leaks").await;
    let baseline = app.state.services.bus.subscriber_count();
    let mut sockets = Vec::new();
    for i in 0..50 {
        let mut ws = app.websocket(TRANSPORT_WS, None).await.unwrap();
        ws.init(&owner).await;
        ws.send(json!({"id": format!("s{i}"), "type": "subscribe", "payload": {"query": SETTINGS_FEED}})).await;
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.state.services.bus.subscriber_count() >= baseline + 50, "every subscription listens on the bus");
    drop(sockets);
    let mut released = false;
    for _ in 0..50 {
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if app.state.services.bus.subscriber_count() == baseline && metrics.contains("tessera_websocket_connections 0")
        {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        released,
        "subscriptions and connections are released: {} bus receivers left",
        app.state.services.bus.subscriber_count()
    );
}
