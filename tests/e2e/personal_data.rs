//! One rule for a person's details wherever a user appears (federation
//! `_entities`, `booking.cancelledBy`, audit actors…): strangers see nothing,
//! everyone in a business sees a member's name, and contact and account details
//! are shown only to the person themselves and to those who may list the
//! business's members.

use serde_json::{Value, json};
use tessera_e2e::Auth;

use crate::scheduling::{BOOK, pinned_app, salon};

const USER_ENTITY: &str = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName email status lastLoginAt } } }";

async fn user_entity(app: &tessera_e2e::TestApp, auth: &Auth, user: &Auth) -> Value {
    let data = app.ok(auth, USER_ENTITY, json!({"r": [{"__typename": "User", "id": user.user_id}]})).await;
    data["_entities"][0].clone()
}

#[tokio::test]
async fn a_persons_details_follow_one_rule_wherever_they_appear() {
    let app = pinned_app().await;
    let salon = salon(&app, "details", 0).await;
    let owner = &salon.owner;
    let ana = app.add_member(owner, "ana@details.test", &["customer"]).await;
    let stylist = app.add_member(owner, "stylist@details.test", &["staff"]).await;
    let (stranger, _) = app.owner_of("elsewhere").await;

    // Strangers, in their own business or none, find nobody.
    assert_eq!(user_entity(&app, &stranger, &ana).await, Value::Null);
    assert_eq!(user_entity(&app, &Auth { tenant: None, ..stranger.clone() }, &ana).await, Value::Null);
    // Oneself, always.
    let me = user_entity(&app, &Auth { tenant: None, ..ana.clone() }, &ana).await;
    assert_eq!(me["email"], "ana@details.test", "{me}");
    // In the business: those who may list members see details, a customer only names.
    let seen_by_staff = user_entity(&app, &stylist, &ana).await;
    assert_eq!(seen_by_staff["email"], "ana@details.test", "{seen_by_staff}");
    let owner_seen_by_ana = user_entity(&app, &ana, owner).await;
    assert_eq!(owner_seen_by_ana["displayName"], "owner@details.test", "{owner_seen_by_ana}");
    assert_eq!(owner_seen_by_ana["email"], Value::Null, "a customer sees no staff email: {owner_seen_by_ana}");
    assert_eq!(owner_seen_by_ana["lastLoginAt"], Value::Null);

    // The same rule on a nested user: the owner cancels Ana's booking.
    let mine = json!({"input": {"serviceId": salon.service, "providerId": salon.provider, "startsAt": "2026-03-04T09:00:00Z"}});
    let booking = app.ok(&ana, BOOK, mine).await["createBooking"]["id"].as_str().unwrap().to_owned();
    app.ok(owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": booking})).await;
    let read = "query($id: ID!) { booking(id: $id) { cancellation { cancelledBy { displayName email status } } } }";
    let by_ana = app.ok(&ana, read, json!({"id": booking})).await;
    assert_eq!(
        by_ana["booking"]["cancellation"]["cancelledBy"],
        json!({"displayName": "owner@details.test", "email": null, "status": null}),
        "{by_ana}"
    );
    let by_owner = app.ok(owner, read, json!({"id": booking})).await;
    assert_eq!(by_owner["booking"]["cancellation"]["cancelledBy"]["email"], "owner@details.test", "{by_owner}");
}

#[tokio::test]
async fn a_role_that_grants_nothing_more_than_a_customer_does_not_open_her_account_activity() {
    let app = tessera_e2e::TestApp::spawn().await;
    let (owner, _) = app.owner_of("vip").await;
    let ana = app.add_member(&owner, "ana@vip.test", &["customer"]).await;
    for (name, permissions) in [("Nothing", json!([])), ("VIP", json!(["booking:read_own", "service:read"]))] {
        let create = "mutation($n: String!, $p: [String!]!) { createRole(input: {name: $n, permissions: $p}) { id } }";
        let role = app.ok(&owner, create, json!({"n": name, "p": permissions})).await["createRole"]["id"].clone();
        let assign = "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }";
        app.ok(&owner, assign, json!({"r": role, "u": ana.user_id})).await;
    }
    let login =
        "mutation { login(input: {email: \"ana@vip.test\", password: \"wrong password here\"}) { accessToken } }";
    let (_, body) = app.post(&Auth::anonymous(), login, json!({})).await;
    assert!(body["errors"].is_array(), "{body}");

    let logins = app.ok(&owner, "{ loginHistory(first: 50) { edges { node { userId } } } }", json!({})).await;
    assert!(!logins.to_string().contains(ana.user_id.as_deref().unwrap()), "{logins}");
    let events =
        app.ok(&owner, "{ securityEvents(first: 50) { edges { node { tenantId user { id } } } } }", json!({})).await;
    let about_her = events["securityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["tenantId"].is_null() && e["node"]["user"]["id"] == json!(ana.user_id))
        .count();
    assert_eq!(about_her, 0, "{events}");

    // A role that lets her work in the business makes her staff.
    let create = "mutation { createRole(input: {name: \"Desk\", permissions: [\"customer:read\"]}) { id } }";
    let role = app.ok(&owner, create, json!({})).await["createRole"]["id"].clone();
    let assign = "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }";
    app.ok(&owner, assign, json!({"r": role, "u": ana.user_id})).await;
    let logins = app.ok(&owner, "{ loginHistory(first: 50) { edges { node { userId } } } }", json!({})).await;
    assert!(logins.to_string().contains(ana.user_id.as_deref().unwrap()), "{logins}");
}

#[tokio::test]
async fn a_branch_is_seen_by_its_members_and_those_who_manage_its_parent_only() {
    let app = tessera_e2e::TestApp::spawn().await;
    let (owner, _) = app.owner_of("chain").await;
    let branch =
        "mutation($s: String!) { createChildTenant(input: {name: $s, slug: $s, timezone: \"Europe/Madrid\"}) { id } }";
    let north = app.ok(&owner, branch, json!({"s": "chain-north"})).await["createChildTenant"]["id"].clone();
    let customer = app.add_member(&owner, "client@chain.test", &["customer"]).await;
    let staff = app.add_member(&owner, "staff@chain.test", &["staff"]).await;

    let children = "{ currentTenant { children { edges { node { slug settings { currency } } } } } }";
    let listed = app.ok(&owner, children, json!({})).await;
    assert_eq!(listed["currentTenant"]["children"]["edges"][0]["node"]["slug"], "chain-north");
    for member in [&customer, &staff] {
        let (_, body) = app.post(member, children, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
        assert_eq!(body["data"]["currentTenant"]["children"], Value::Null, "{body}");
        let by_slug = app.ok(member, "{ tenant(slug: \"chain-north\") { id settings { currency } } }", json!({})).await;
        assert_eq!(by_slug["tenant"], Value::Null, "{by_slug}");
        let entity = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Tenant { slug } } }";
        let found = app.ok(member, entity, json!({"r": [{"__typename": "Tenant", "id": north}]})).await;
        assert_eq!(found["_entities"][0], Value::Null, "{found}");
    }
}
