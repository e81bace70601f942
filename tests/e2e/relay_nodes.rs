//! Relay done fully (issue 15, item 4): every kind of object a caller reads by
//! id resolves through `node` and `nodes`, under the same access rules as its own
//! query; another tenant's ids, and ids the caller may not read, answer null.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

use crate::live_rights::client_token;
use crate::passkeys::{Device, add_passkey};
use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

/// What `nodes` answers for `ids`: each id's type name, or null.
async fn types(app: &TestApp, auth: &Auth, ids: &[&Value]) -> Vec<Value> {
    let data = app.ok(auth, NODES, json!({"ids": ids})).await;
    data["nodes"].as_array().unwrap().iter().map(|n| n["__typename"].clone()).collect()
}

#[tokio::test]
async fn every_readable_object_is_a_node_for_whoever_may_read_it() {
    let app = pinned_app().await;
    let salon = salon(&app, "relay", 0).await;
    let owner = &salon.owner;
    let booking =
        app.ok(owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await["createBooking"]["id"].clone();
    let role = app
        .ok(
            owner,
            "mutation { createRole(input: {name: \"Desk\", permissions: [\"booking:read\"]}) { id } }",
            json!({}),
        )
        .await["createRole"]["id"]
        .clone();
    let group = app.ok(owner, "mutation { createGroup(input: {name: \"Front\"}) { id } }", json!({})).await["createGroup"]
        ["id"]
        .clone();
    client_token(&app, owner, &["booking:read"]).await;
    let client = app.ok(owner, "{ oauthClients { id } }", json!({})).await["oauthClients"][0]["id"].clone();
    let (provider, service, customer) = (json!(salon.provider), json!(salon.service), json!(salon.customer));
    let ids = [&booking, &provider, &service, &customer, &role, &group, &client];

    let all = ["Booking", "Provider", "Service", "Customer", "Role", "Group", "OAuthClient"].map(|t| json!(t));
    assert_eq!(types(&app, owner, &ids).await, all);
    let one = app
        .ok(owner, "query($id: ID!) { node(id: $id) { id ... on Booking { status } } }", json!({"id": booking}))
        .await;
    assert_eq!(one["node"], json!({"id": booking, "status": "SCHEDULED"}));

    // Staff read the catalogue and customers, not roles or partner clients, and
    // only their own calendar's bookings (this one is Maria's).
    let staff = app.add_member(owner, "staff@relay.test", &["staff"]).await;
    let seen = types(&app, &staff, &ids).await;
    assert_eq!(
        seen,
        [Value::Null, json!("Provider"), json!("Service"), json!("Customer"), Value::Null, Value::Null, Value::Null]
    );

    // A customer sees her own booking and record, not someone else's.
    let ana = app.add_member(owner, "ana@relay.test", &["customer"]).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(owner, link, json!({"id": salon.customer, "u": ana.user_id})).await;
    let stranger =
        app.ok(owner, "mutation { createCustomer(input: {name: \"Bea\"}) { id } }", json!({})).await["createCustomer"]
            ["id"]
            .clone();
    let mut input = booking_input(&salon, "2026-03-04T11:00:00Z");
    input["input"]["customerId"] = stranger.clone();
    let not_hers = app.ok(owner, BOOK, input).await["createBooking"]["id"].clone();
    let seen = types(&app, &ana, &[&booking, &customer, &not_hers, &stranger, &role]).await;
    assert_eq!(seen, [json!("Booking"), json!("Customer"), Value::Null, Value::Null, Value::Null]);

    // Another business sees nothing of these.
    let (elsewhere, _) = app.owner_of("relay-elsewhere").await;
    assert!(types(&app, &elsewhere, &ids).await.iter().all(Value::is_null));

    let too_many: Vec<Value> = (0..101).map(|_| booking.clone()).collect();
    let (_, body): (u16, Value) = app.post(owner, NODES, json!({"ids": too_many})).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
}

/// The id under `path` (`"a.b"`) of `mutation`'s answer.
async fn made(app: &TestApp, auth: &Auth, mutation: &str, variables: Value, path: &str) -> Value {
    let data = app.ok(auth, mutation, variables).await;
    path.split('.').fold(data, |v, key| v[key].clone())
}

#[tokio::test]
async fn add_ons_reviews_grants_invitations_endpoints_messages_keys_and_passkeys_are_nodes_too() {
    let app = pinned_app().await;
    let salon = salon(&app, "relay-more", 0).await;
    let ana = app.add_member(&salon.owner, "ana@relay-more.test", &["customer"]).await;
    let link = "mutation($id: ID!, $u: ID!) { updateCustomer(id: $id, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"id": salon.customer, "u": ana.user_id})).await;
    let booking =
        made(&app, &salon.owner, BOOK, booking_input(&salon, "2026-03-02T10:00:00Z"), "createBooking.id").await;
    // Half an hour into the appointment: it can be started, completed and reviewed.
    app.clock.set("2026-03-02T10:30:00Z".parse().unwrap());
    let owner = &app.login("owner@relay-more.test").await.in_tenant("relay-more");
    let ana = &app.login("ana@relay-more.test").await.in_tenant("relay-more");
    for step in ["startBooking", "completeBooking"] {
        app.ok(owner, &format!("mutation($id: ID!) {{ {step}(id: $id) {{ id }} }}"), json!({"id": booking})).await;
    }
    let review = "mutation($id: ID!) { reviewBooking(id: $id, rating: 5) { review { id } } }";
    let review = made(&app, ana, review, json!({"id": booking}), "reviewBooking.review.id").await;
    let role = "mutation { createRole(input: {name: \"Desk\", permissions: [\"booking:read\"]}) { id } }";
    let role = made(&app, owner, role, json!({}), "createRole.id").await;
    let staff = app.add_member(owner, "staff@relay-more.test", &["staff"]).await;
    let grant = "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { id } }";
    let grant = made(&app, owner, grant, json!({"u": staff.user_id, "r": role}), "assignRole.id").await;
    let invite = "mutation { inviteMember(input: {email: \"new@relay-more.test\", roleIds: []}) { id } }";
    let invitation = made(&app, owner, invite, json!({}), "inviteMember.id").await;
    let hook = "mutation { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\"}) { endpoint { id } } }";
    let endpoint = made(&app, owner, hook, json!({}), "createWebhookEndpoint.endpoint.id").await;
    let key = "mutation { createApiKey(name: \"reports\") { apiKey { id } } }";
    let api_key = made(&app, owner, key, json!({}), "createApiKey.apiKey.id").await;
    let passkey = add_passkey(&app, owner, &mut Device::new(), "Laptop").await["passkey"]["id"].clone();
    let inbox = "{ myNotifications(first: 1) { edges { node { id } } } }";
    let message = made(&app, ana, inbox, json!({}), "myNotifications.edges").await[0]["node"]["id"].clone();
    assert!(message.is_string(), "the customer was told of her booking");
    let addon = json!(salon.addon);
    let ids = [&addon, &review, &grant, &invitation, &endpoint, &api_key, &passkey, &message];

    let null = Value::Null;
    let named = |names: [&str; 8]| names.map(|n| if n.is_empty() { null.clone() } else { json!(n) });
    // The owner reads the business's objects and her own key and passkey, not
    // someone else's inbox.
    let owners = named(["Addon", "Review", "RoleAssignment", "Invitation", "WebhookEndpoint", "ApiKey", "Passkey", ""]);
    assert_eq!(types(&app, owner, &ids).await, owners);
    // The customer reads the catalogue, the review of her booking and her inbox.
    let hers = named(["Addon", "Review", "", "", "", "", "", "Notification"]);
    assert_eq!(types(&app, ana, &ids).await, hers);
    // Staff read the catalogue, and reviews through the Desk role's `booking:read`.
    let staffs = named(["Addon", "Review", "", "", "", "", "", ""]);
    assert_eq!(types(&app, &staff, &ids).await, staffs);
    // A partner client reads what its scopes allow in its business, never an
    // account's keys, passkeys or inbox, and no other business of its maker.
    let scopes = ["service:read", "booking:read", "role:read", "role:assign", "notification:read", "tenant:read"];
    let partner = client_token(&app, owner, &scopes).await;
    let partners = named(["Addon", "Review", "RoleAssignment", "Invitation", "WebhookEndpoint", "", "", ""]);
    assert_eq!(types(&app, &partner, &ids).await, partners);
    let (elsewhere, elsewhere_id) = app.owner_of("relay-more-elsewhere").await;
    let _ = elsewhere;
    let home = app.ok(owner, "{ currentTenant { id } }", json!({})).await["currentTenant"]["id"].clone();
    let (me, other_business) = (json!(owner.user_id), json!(elsewhere_id));
    let seen = types(&app, &partner, &[&home, &me, &other_business]).await;
    assert_eq!(seen, [json!("Tenant"), null.clone(), null.clone()], "a partner sees its own business only");
    let one = "query($id: ID!) { node(id: $id) { ... on Review { rating } } }";
    assert_eq!(app.ok(&partner, one, json!({"id": review})).await["node"]["rating"], 5);

    // Another business sees none of them.
    let (stranger, _) = app.owner_of("relay-more-stranger").await;
    assert!(types(&app, &stranger, &ids).await.iter().all(Value::is_null));
}

/// The statements one `nodes` call runs (the fewest of three calls), and what it answers.
async fn statements_for_nodes(app: &TestApp, auth: &Auth, ids: &[&Value]) -> (u64, Vec<Value>) {
    crate::scheduling::settle(app).await;
    let mut fewest = u64::MAX;
    let mut found = Vec::new();
    for _ in 0..3 {
        let before = app.state.db.statements_executed();
        found = types(app, auth, ids).await;
        fewest = fewest.min(app.state.db.statements_executed() - before);
    }
    (fewest, found)
}

#[tokio::test]
async fn nodes_costs_the_same_statements_for_one_id_and_a_hundred() {
    // Nothing in the background (the relay, sockets' session checks) adds
    // statements to the ones counted.
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app = TestApp::spawn_with_options(
        database,
        |_| {},
        |o| {
            o.relay_poll_interval = std::time::Duration::from_secs(3600);
            o.ws_session_check = std::time::Duration::from_secs(3600);
        },
    )
    .await;
    app.clock.set("2026-03-02T08:00:00Z".parse().unwrap());
    let salon = salon(&app, "relay-batch", 0).await;
    let mut bookings = Vec::new();
    for hour in [8, 9, 10, 11, 13, 14, 15, 16] {
        let at = format!("2026-03-04T{hour:02}:00:00Z");
        let id = app.ok(&salon.owner, BOOK, booking_input(&salon, &at)).await["createBooking"]["id"].clone();
        bookings.push(id);
    }
    let unknown: Vec<Value> = (0..92).map(|_| json!(uuid::Uuid::now_v7())).collect();
    let many: Vec<&Value> = bookings.iter().chain(unknown.iter()).collect();
    let (one, found) = statements_for_nodes(&app, &salon.owner, &[&unknown[0]]).await;
    assert_eq!(found, [Value::Null]);
    let (hundred, found) = statements_for_nodes(&app, &salon.owner, &many).await;
    assert_eq!(found.iter().filter(|t| **t == "Booking").count(), 8);
    assert_eq!(hundred, one, "one query per kind of object, whatever the number of ids");
}
