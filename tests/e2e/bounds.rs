//! One request can never take the server's memory: WebSocket messages stop at the
//! HTTP body limit, sockets and accounts run a bounded number of operations, and
//! an event costs the same however many sockets a session holds.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_e2e::{TestApp, WsClient, WsEvent};

const WAIT: Duration = Duration::from_secs(10);
const FEED: &str = "subscription { tenantUpdated { kind } }";

#[tokio::test]
async fn a_websocket_message_larger_than_an_http_body_closes_the_socket() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("big-message").await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&owner).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let message =
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "variables": {"p": padding}}});
    ws.send(message).await;
    assert_eq!(ws.closed_with(WAIT).await, Some(1009), "1009: message too big");

    // A message within the limit is served as before.
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&owner).await;
    let padding = "x".repeat(512 * 1024);
    ws.send(
        json!({"id": "2", "type": "subscribe", "payload": {"query": "{ __typename }", "variables": {"p": padding}}}),
    )
    .await;
    let Some(WsEvent::Json(answer)) = ws.next(WAIT).await else { panic!("an answer") };
    assert_eq!(answer["payload"]["data"]["__typename"], "Query", "{answer}");
}

/// Subscribes `id` to the tenant feed.
async fn subscribe(ws: &mut WsClient, id: &str) {
    ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": FEED}})).await;
}

/// The next message, which must be there: a refusal is sent at once.
async fn refusal(ws: &mut WsClient) -> Value {
    let Some(WsEvent::Json(message)) = ws.next(WAIT).await else { panic!("expected a refusal") };
    message
}

#[tokio::test]
async fn a_socket_and_an_account_run_a_bounded_number_of_subscriptions() {
    let app = TestApp::spawn_with(|args| {
        args.max_subscriptions_per_socket = Some(3);
        args.max_subscriptions_per_user = Some(5);
    })
    .await;
    let (owner, _) = app.owner_of("many-feeds").await;
    let user = owner.user_id.as_deref().unwrap().parse().unwrap();

    let mut first = app.websocket("graphql-transport-ws", None).await.unwrap();
    first.init(&owner).await;
    for id in ["a1", "a2", "a3", "a4"] {
        subscribe(&mut first, id).await;
    }
    let refused = refusal(&mut first).await;
    assert_eq!(refused["id"], "a4", "the first three run: {refused}");
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");

    let mut second = app.websocket("graphql-transport-ws", None).await.unwrap();
    second.init(&owner).await;
    for id in ["b1", "b2", "b3"] {
        subscribe(&mut second, id).await;
    }
    let refused = refusal(&mut second).await;
    assert_eq!(refused["id"], "b3", "five for the account in all: {refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(app.state.ws_operations.running(user), 5);

    // Completing one gives its place back to the account.
    first.send(json!({"id": "a1", "type": "complete"})).await;
    for _ in 0..100 {
        if app.state.ws_operations.running(user) == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.state.ws_operations.running(user), 4);
    subscribe(&mut second, "b4").await;
    // Let the subscription register before changing anything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // It runs: an event reaches it (and every other running feed of the socket).
    app.ok(&owner, "mutation { updateTenant(input: {name: \"Renamed\"}) { name } }", json!({})).await;
    let mut delivered = Vec::new();
    while delivered.len() < 3 {
        let Some(WsEvent::Json(message)) = second.next(WAIT).await else { panic!("events for b1, b2 and b4") };
        assert_eq!(message["type"], "next", "{message}");
        delivered.push(message["id"].as_str().unwrap().to_owned());
    }
    delivered.sort();
    assert_eq!(delivered, ["b1", "b2", "b4"]);

    // Closing a socket gives back all of its places.
    drop(first);
    for _ in 0..100 {
        if app.state.ws_operations.running(user) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.state.ws_operations.running(user), 3, "b1, b2 and b4 still run");
}

#[tokio::test]
async fn a_template_that_could_build_huge_text_is_refused_before_it_renders() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("template-bomb").await;
    let preview = "query($title: String!, $body: String!) { previewNotificationTemplate(topic: BOOKING_CONFIRMED, title: $title, body: $body) { text } }";
    let save = "mutation($title: String!, $body: String!) { setNotificationTemplate(topic: BOOKING_CONFIRMED, language: \"en\", title: $title, body: $body) { custom } }";
    for bomb in [
        "{{ 'x' * 99999999 }}{{ 'x' * 99999999 }}{{ 'x' * 99999999 }}",
        "{% set ns = namespace(a='xxxxxxxx') %}{% for i in range(60) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a }}",
        "{{ customerName | indent(99999999) }}",
    ] {
        let variables = json!({"title": "Booked", "body": bomb});
        let (_, body) = app.post(&owner, preview, variables.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{bomb}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "body", "{body}");
        assert_eq!(app.error_code(&owner, save, variables).await, "BAD_USER_INPUT", "{bomb}");
    }
    // Values and conditions still work.
    let fine = json!({"title": "See you, {{ customerName }}", "body": "{% if providerName %}With {{ providerName | upper }}.{% endif %}"});
    let shown = app.ok(&owner, preview, fine.clone()).await;
    assert!(shown["previewNotificationTemplate"]["text"].as_str().unwrap().starts_with("With "), "{shown}");
    app.ok(&owner, save, fine).await;
}

#[tokio::test]
async fn availability_answers_a_page_at_a_time() {
    let app = crate::scheduling::pinned_app().await;
    let salon = crate::scheduling::salon(&app, "paged-slots", 0).await;
    let query = "query($s: ID!, $first: Int, $after: String) { availability(serviceId: $s, from: \"2026-03-03\", to: \"2026-04-01\", first: $first, after: $after) { startsAt providerId cursor } }";
    let page = |first: Option<i64>, after: Option<&str>| json!({"s": salon.service, "first": first, "after": after});
    let starts = |data: &Value| -> Vec<String> {
        data["availability"].as_array().unwrap().iter().map(|s| s["startsAt"].as_str().unwrap().to_owned()).collect()
    };

    let whole = app.ok(&salon.owner, query, page(None, None)).await;
    assert_eq!(whole["availability"].as_array().unwrap().len(), 200, "a month has more; the default page is 200");
    let first = app.ok(&salon.owner, query, page(Some(50), None)).await;
    let cursor = first["availability"][49]["cursor"].as_str().unwrap().to_owned();
    let second = app.ok(&salon.owner, query, page(Some(50), Some(&cursor))).await;
    let mut both = starts(&first);
    both.extend(starts(&second));
    assert_eq!(both, starts(&whole)[..100], "the second page continues where the first ended");

    let only_starts = "query($s: ID!, $first: Int) { availability(serviceId: $s, from: \"2026-03-03\", to: \"2026-04-01\", first: $first) { startsAt } }";
    let largest = app.ok(&salon.owner, only_starts, page(Some(500), None)).await;
    assert_eq!(largest["availability"].as_array().unwrap().len(), 500);
    let (_, body) = app.post(&salon.owner, only_starts, page(Some(501), None)).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    let (_, body) = app.post(&salon.owner, query, page(Some(10), Some("not-a-cursor"))).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    // A page costs its size in query complexity.
    let nested = "query($s: ID!) { availability(serviceId: $s, from: \"2026-03-03\", to: \"2026-04-01\", first: 500) { startsAt provider { name upcomingBookings(first: 20) { id startsAt endsAt } } } }";
    let (_, body) = app.post(&salon.owner, nested, json!({"s": salon.service})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn nested_pages_without_first_take_their_defaults_and_are_not_refused() {
    let app = crate::scheduling::pinned_app().await;
    let salon = crate::scheduling::salon(&app, "nested-defaults", 10).await;
    // What a dashboard asks for: providers with their services and bookings,
    // nobody giving `first` (20 of each by default).
    let dashboard = "{ providers { edges { node { id name title services { id name price { amountMinor currency } } bookings { edges { node { id startsAt endsAt status serviceName customer { name } } } } } } } }";
    let found = app.ok(&salon.owner, dashboard, json!({})).await;
    assert_eq!(found["providers"]["edges"].as_array().map(Vec::len), Some(1), "{found}");
    // The README's walk-through asks for this week's starts with local times and prices.
    let slots = "query($s: ID!) { availability(serviceId: $s) { startsAt startsAtLocal { date time offset } provider { id name } price { amountMinor } } }";
    let found = app.ok(&salon.owner, slots, json!({"s": salon.service})).await;
    assert!(!found["availability"].as_array().unwrap().is_empty(), "{found}");
    // The largest pages nested in each other are still refused before they run.
    let widest = "{ providers(first: 100) { edges { node { id bookings(first: 100) { edges { node { id startsAt endsAt status } } } } } } }";
    let (_, body) = app.post(&salon.owner, widest, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn entities_resolve_a_bounded_number_of_representations() {
    let app = TestApp::spawn().await;
    let (owner, tenant_id) = app.owner_of("entities").await;
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Tenant { slug } } }";
    let representations = |n: usize| json!({"r": vec![json!({"__typename": "Tenant", "id": tenant_id}); n]});
    let found = app.ok(&owner, query, representations(100)).await;
    assert_eq!(found["_entities"].as_array().unwrap().len(), 100);
    assert_eq!(found["_entities"][99]["slug"], "entities");
    let (_, body) = app.post(&owner, query, representations(101)).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
}

/// Statements the server runs for one change and everything it sets off (the
/// relay, every open feed), until it is quiet again.
async fn statements_for_one_event(app: &TestApp, owner: &tessera_e2e::Auth, name: &str) -> u64 {
    crate::scheduling::settle(app).await;
    // The last change stamped the tenant: rights are resolved again here, not
    // in the request measured.
    app.ok(owner, "{ __typename }", json!({})).await;
    let before = app.state.db.statements_executed();
    app.ok(owner, "mutation($n: String!) { updateTenant(input: {name: $n}) { id } }", json!({ "n": name })).await;
    crate::scheduling::settle(app).await;
    app.state.db.statements_executed() - before
}

#[tokio::test]
async fn the_rights_for_an_event_are_decided_once_for_all_the_sockets_of_a_session() {
    // The relay runs only when a write wakes it, and sockets do not re-check
    // their sessions on a timer: nothing else adds statements.
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app = TestApp::spawn_with_options(
        database,
        |_| {},
        |o| {
            o.relay_poll_interval = Duration::from_secs(3600);
            o.ws_session_check = Duration::from_secs(3600);
        },
    )
    .await;
    let (owner, _) = app.owner_of("one-decision").await;
    let mut sockets = Vec::new();
    for n in 0..6 {
        let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
        ws.init(&owner).await;
        subscribe(&mut ws, &format!("feed{n}")).await;
        sockets.push(ws);
        if n == 0 {
            // Warm up: the first event of a session may touch it.
            statements_for_one_event(&app, &owner, "warm-up").await;
        }
    }
    let six = statements_for_one_event(&app, &owner, "six sockets").await;
    sockets.truncate(1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let one = statements_for_one_event(&app, &owner, "one socket").await;
    assert_eq!(six, one, "six sockets of one session cost what one does per event");
}
