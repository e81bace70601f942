//! Tenants: sign-up of a business, reads, settings, hierarchy, soft delete, and
//! isolation between tenants.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

const CURRENT: &str = "{ currentTenant { id slug name status timezone locale settings { currency slotStepMinutes deletionGraceDays } featureFlags { key enabled } } }";
const UPDATE: &str = "mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { name slug timezone locale settings { currency slotStepMinutes } featureFlags { key enabled } } }";

fn field_of(body: &Value) -> (String, String) {
    let ext = &body["errors"][0]["extensions"];
    (ext["code"].as_str().unwrap_or_default().into(), ext["field"].as_str().unwrap_or_default().into())
}

#[tokio::test]
async fn signing_up_a_business_makes_the_caller_its_owner() {
    let app = TestApp::spawn().await;
    let (owner, id) = app.owner_of("bella").await;
    let data = app.ok(&owner, CURRENT, json!({})).await;
    assert_eq!(data["currentTenant"]["id"], id.as_str());
    assert_eq!(data["currentTenant"]["status"], "TRIAL");
    assert_eq!(data["currentTenant"]["settings"]["currency"], "USD");
    let data = app
        .ok(
            &owner,
            "{ myTenants { edges { node { tenant { slug } } } } members { edges { node { user { email } } } } \
               me { roles { builtin name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["roles"], json!([{"builtin": "OWNER", "name": "Owner"}]));
    assert_eq!(data["myTenants"]["edges"][0]["node"]["tenant"]["slug"], "bella");
    assert_eq!(data["members"]["edges"][0]["node"]["user"]["email"], "owner@bella.test");
    // The tenant id works in X-Tenant as well as the slug.
    app.ok(&owner.in_tenant(&id), CURRENT, json!({})).await;
}

#[tokio::test]
async fn a_taken_or_malformed_slug_is_refused_clearly() {
    let app = TestApp::spawn().await;
    app.owner_of("bella").await;
    let other = app.sign_up("other@example.com").await;
    let create =
        "mutation($slug: String!) { createTenant(input: {name: \"X\", slug: $slug, timezone: \"UTC\"}) { id } }";
    assert_eq!(app.error_code(&other, create, json!({"slug": "bella"})).await, "CONFLICT");
    let (_, body) = app.post(&other, create, json!({"slug": "Bella Salon"})).await;
    assert_eq!(field_of(&body), ("BAD_USER_INPUT".into(), "slug".into()));
}

#[tokio::test]
async fn settings_and_profile_changes_are_validated_and_kept() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("bella").await;
    let settings = json!({"currency": "EUR", "bookingMinNoticeMinutes": 30, "bookingHorizonDays": 60, "slotStepMinutes": 20, "deletionGraceDays": 14});
    let input = json!({"name": "Bella Roma", "timezone": "Europe/Rome", "locale": "it_it", "settings": settings, "featureFlags": [{"key": "online-booking", "enabled": true}]});
    let data = app.ok(&owner, UPDATE, json!({"input": input})).await;
    assert_eq!(data["updateTenant"]["locale"], "it-IT");
    assert_eq!(data["updateTenant"]["settings"]["slotStepMinutes"], 20);
    assert_eq!(data["updateTenant"]["featureFlags"], json!([{"key": "online-booking", "enabled": true}]));

    for (input, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"locale": "klingon!"}), "locale"),
        (json!({"slug": "-bad-"}), "slug"),
        (
            json!({"settings": {"currency": "EUR", "bookingMinNoticeMinutes": 0, "bookingHorizonDays": 60, "slotStepMinutes": 7, "deletionGraceDays": 14}}),
            "settings.slotStepMinutes",
        ),
        (json!({"featureFlags": [{"key": "Bad Flag", "enabled": true}]}), "featureFlags"),
        (json!({}), "input"),
    ] {
        let (_, body) = app.post(&owner, UPDATE, json!({"input": input})).await;
        assert_eq!(field_of(&body), ("BAD_USER_INPUT".to_string(), field.to_string()), "{body}");
    }
    let data = app.ok(&owner, CURRENT, json!({})).await;
    assert_eq!(data["currentTenant"]["name"], "Bella Roma", "refused changes lose nothing");
}

#[tokio::test]
async fn another_tenants_data_is_invisible_and_untouchable() {
    let app = TestApp::spawn().await;
    let (alice, alice_tenant) = app.owner_of("alice-salon").await;
    let (bob, _) = app.owner_of("bob-clinic").await;

    // Selecting a foreign tenant answers exactly like a tenant that does not exist.
    let (status, foreign) = app.post(&alice.in_tenant("bob-clinic"), CURRENT, json!({})).await;
    let (_, missing) = app.post(&alice.in_tenant("no-such-tenant"), CURRENT, json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert!(foreign["errors"][0].get("locations").is_none(), "no position in the document: {foreign}");
    assert_eq!(foreign["errors"], missing["errors"]);

    // Mutations on it are refused before anything runs.
    let (_, body) = app.post(&alice.in_tenant("bob-clinic"), UPDATE, json!({"input": {"name": "Hijacked"}})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    for mutation in ["mutation { deleteTenant { id } }", "mutation { restoreTenant { id } }"] {
        let (_, body) = app.post(&alice.in_tenant("bob-clinic"), mutation, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    }
    let data = app.ok(&bob, CURRENT, json!({})).await;
    assert_eq!(data["currentTenant"]["name"], "Tenant bob-clinic");

    // Reads by id, slug, node and federation reference find nothing.
    let bob_id = app.ok(&bob, CURRENT, json!({})).await["currentTenant"]["id"].as_str().unwrap().to_owned();
    let data = app
        .ok(
            &alice,
            "query($id: ID!, $rep: [_Any!]!) { byId: tenant(id: $id) { id } bySlug: tenant(slug: \"bob-clinic\") { id } node(id: $id) { id } _entities(representations: $rep) { ... on Tenant { id } } }",
            json!({"id": bob_id, "rep": [{"__typename": "Tenant", "id": bob_id}]}),
        )
        .await;
    assert_eq!(data["byId"], Value::Null);
    assert_eq!(data["bySlug"], Value::Null);
    assert_eq!(data["node"], Value::Null);
    assert_eq!(data["_entities"], json!([null]));
    let data = app.ok(&alice, "{ myTenants { edges { node { tenant { id } } } } }", json!({})).await;
    assert_eq!(data["myTenants"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(data["myTenants"]["edges"][0]["node"]["tenant"]["id"], alice_tenant.as_str());

    // Without a session, a tenant cannot be selected at all.
    let (status, body) = app.post(&Auth::anonymous().in_tenant("alice-salon"), CURRENT, json!({})).await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
}

#[tokio::test]
async fn a_branch_is_created_under_its_parent_and_visible_only_to_their_members() {
    let app = TestApp::spawn().await;
    let (owner, parent_id) = app.owner_of("franchise").await;
    let data = app
        .ok(&owner, "mutation { createChildTenant(input: {name: \"Branch\", slug: \"franchise-north\", timezone: \"Europe/Madrid\"}) { id parent { id } } }", json!({}))
        .await;
    assert_eq!(data["createChildTenant"]["parent"]["id"], parent_id.as_str());
    let data = app.ok(&owner, "{ currentTenant { children { edges { node { slug } } } } }", json!({})).await;
    assert_eq!(data["currentTenant"]["children"]["edges"][0]["node"]["slug"], "franchise-north");

    let (stranger, _) = app.owner_of("stranger").await;
    let data = app.ok(&stranger, "{ tenant(slug: \"franchise-north\") { id } }", json!({})).await;
    assert_eq!(data["tenant"], Value::Null);
    let code = app.error_code(&owner, "mutation { deleteTenant { id } }", json!({})).await;
    assert_eq!(code, "CONFLICT", "a parent with live branches cannot be deleted");
}

#[tokio::test]
async fn a_deleted_tenant_can_be_restored_within_its_grace_period_then_is_purged() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("fleeting").await;
    let data = app.ok(&owner, "mutation { deleteTenant { status deletionScheduledAt } }", json!({})).await;
    assert_eq!(data["deleteTenant"]["status"], "PENDING_DELETION");
    assert_eq!(
        app.error_code(&owner, UPDATE, json!({"input": {"name": "x"}})).await,
        "FORBIDDEN",
        "read-only while deleted"
    );
    let data = app.ok(&owner, "mutation { restoreTenant { status deletedAt } }", json!({})).await;
    assert_eq!(data["restoreTenant"], json!({"status": "ACTIVE", "deletedAt": null}));

    app.ok(&owner, "mutation { deleteTenant { id } }", json!({})).await;
    app.clock.advance(Duration::days(31));
    let owner = app.login("owner@fleeting.test").await.in_tenant("fleeting");
    assert_eq!(app.error_code(&owner, "mutation { restoreTenant { id } }", json!({})).await, "CONFLICT");
    let purged = app.state.services.tenants.purge_expired(app.now()).await.expect("purge runs");
    assert_eq!(purged, 1);
    let data =
        app.ok(&Auth { tenant: None, ..owner.clone() }, "{ myTenants { edges { node { id } } } }", json!({})).await;
    assert_eq!(data["myTenants"]["edges"], json!([]));
}

#[tokio::test]
async fn pages_are_relay_connections_with_capped_sizes() {
    let app = TestApp::spawn().await;
    let auth = app.sign_up("many@example.com").await;
    for i in 0..3 {
        app.ok(
            &auth,
            "mutation($slug: String!) { createTenant(input: {name: \"T\", slug: $slug, timezone: \"UTC\"}) { id } }",
            json!({"slug": format!("many-{i}")}),
        )
        .await;
    }
    let page = "query($after: String) { myTenants(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { tenant { slug } } } } }";
    let first = app.ok(&auth, page, json!({})).await;
    assert_eq!(first["myTenants"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["myTenants"]["pageInfo"]["endCursor"].clone();
    let second = app.ok(&auth, page, json!({"after": cursor})).await;
    assert_eq!(second["myTenants"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(second["myTenants"]["pageInfo"]["hasNextPage"], false);
    let (_, body) = app.post(&auth, "{ myTenants(first: 101) { edges { cursor } } }", json!({})).await;
    assert_eq!(field_of(&body), ("BAD_USER_INPUT".into(), "first".into()));
    let (_, body) = app.post(&auth, "{ myTenants(after: \"not-a-cursor\") { edges { cursor } } }", json!({})).await;
    assert_eq!(field_of(&body), ("BAD_USER_INPUT".into(), "after".into()));
}

#[tokio::test]
async fn the_catalogue_is_public_and_me_shows_my_permissions_in_the_tenant() {
    let app = TestApp::spawn().await;
    let data =
        app.ok(&Auth::anonymous(), "{ permissionCatalogue { name resource action description } }", json!({})).await;
    let catalogue = data["permissionCatalogue"].as_array().unwrap();
    assert!(
        catalogue
            .iter()
            .any(|p| p["name"] == "booking:create" && p["resource"] == "booking" && p["action"] == "create")
    );

    let (owner, _) = app.owner_of("perms").await;
    let data =
        app.ok(&owner, "{ me { permissions } members { edges { node { user { permissions } } } } }", json!({})).await;
    let mine: Vec<&str> = data["me"]["permissions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(mine.len(), catalogue.len(), "an owner holds every permission: {mine:?}");
    assert!(mine.contains(&"tenant:delete"));
    let without_tenant = app.ok(&Auth { tenant: None, ..owner.clone() }, "{ me { permissions } }", json!({})).await;
    assert_eq!(without_tenant["me"]["permissions"], json!([]));

    let other = app.sign_up("someone@example.com").await;
    let data = app.ok(&other, "{ me { permissions } }", json!({})).await;
    assert_eq!(data["me"]["permissions"], json!([]));
}
