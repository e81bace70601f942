//! Relay done fully (issue 15, item 4): every kind of object a caller reads by
//! id resolves through `node` and `nodes`, under the same access rules as its own
//! query; another tenant's ids, and ids the caller may not read, answer null.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

use crate::live_rights::client_token;
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
