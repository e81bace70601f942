//! Roles, groups and assignments end to end: what each built-in role may do, over
//! HTTP; explanations of direct, group, inherited, scoped, expired and revoked
//! grants (now and as of the past); anti-escalation; built-in protection; and
//! isolation of every rbac operation from other tenants.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, WsEvent};

/// One row of a role table: an operation, and the built-in roles allowed to run it.
struct Row {
    name: &'static str,
    document: &'static str,
    allowed: &'static [&'static str],
}

const ALL: &[&str] = &["owner", "admin", "staff", "customer"];
const STAFF_UP: &[&str] = &["owner", "admin", "staff"];
const ADMIN_UP: &[&str] = &["owner", "admin"];

/// Every built-in role against one operation per permission. Runs in order; the
/// tenant's deletion comes last.
const TABLE: &[Row] = &[
    Row { name: "currentTenant", document: "{ currentTenant { id } }", allowed: ALL },
    Row { name: "services", document: "{ services { edges { node { id } } } }", allowed: ALL },
    Row { name: "providers", document: "{ providers { edges { node { id } } } }", allowed: ALL },
    Row { name: "members", document: "{ members { edges { node { id } } } }", allowed: STAFF_UP },
    // Customers and staff list only their own records here (see `ownership`).
    Row { name: "customers", document: "{ customers { edges { node { id } } } }", allowed: ALL },
    Row { name: "bookings", document: "{ bookings { edges { node { id } } } }", allowed: ALL },
    Row { name: "roles", document: "{ roles { edges { node { id } } } }", allowed: ADMIN_UP },
    Row { name: "auditLog", document: "{ auditLog { edges { node { id } } } }", allowed: ADMIN_UP },
    Row {
        name: "updateTenant",
        document: "mutation($n: String!) { updateTenant(input: {name: $n}) { id } }",
        allowed: ADMIN_UP,
    },
    Row {
        name: "createProvider",
        document: "mutation($n: String!) { createProvider(input: {name: $n}) { id } }",
        allowed: ADMIN_UP,
    },
    Row {
        name: "createService",
        document: "mutation($n: String!) { createService(input: {name: $n, priceMinor: 100, durationMinutes: 30}) { id } }",
        allowed: ADMIN_UP,
    },
    Row {
        name: "createCustomer",
        document: "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }",
        allowed: ADMIN_UP,
    },
    Row {
        name: "createRole",
        document: "mutation($n: String!) { createRole(input: {name: $n, permissions: [\"booking:read\"]}) { id } }",
        allowed: ADMIN_UP,
    },
    Row {
        name: "createGroup",
        document: "mutation($n: String!) { createGroup(input: {name: $n}) { id } }",
        allowed: ADMIN_UP,
    },
    Row { name: "deleteTenant", document: "mutation { deleteTenant { id } }", allowed: &["owner"] },
];

#[tokio::test]
async fn each_built_in_role_may_do_what_its_table_says_and_nothing_else() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("roles-table").await;
    let mut members = Vec::new();
    for role in ["customer", "staff", "admin"] {
        members.push((role, app.add_member(&owner, &format!("{role}@roles-table.test"), &[role]).await));
    }
    members.push(("owner", owner));
    let mut mismatches = Vec::new();
    for (role, auth) in &members {
        for row in TABLE {
            // Unique names, so every role's successful writes can all succeed.
            let (_, body) = app.post(auth, row.document, json!({"n": format!("{} by {role}", row.name)})).await;
            let expected = row.allowed.contains(role);
            let code = body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);
            let ok = match (&code, expected) {
                (None, true) => true,
                (Some(code), false) => code == "FORBIDDEN",
                _ => false,
            };
            if !ok {
                mismatches.push(format!(
                    "{role} {}: expected {}, got {body}",
                    row.name,
                    if expected { "allowed" } else { "FORBIDDEN" }
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "role table mismatches:\n{}", mismatches.join("\n"));
}

#[tokio::test]
async fn me_shows_each_members_roles_and_permissions() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("me-roles").await;
    let customer = app.add_member(&owner, "c@me-roles.test", &[]).await;
    let data = app.ok(&customer, "{ me { roles { builtin isDefault } permissions } }", json!({})).await;
    assert_eq!(data["me"]["roles"], json!([{"builtin": "CUSTOMER", "isDefault": true}]), "the default role");
    assert_eq!(
        data["me"]["permissions"],
        json!([
            "tenant:read",
            "provider:read",
            "service:read",
            "customer:read_own",
            "booking:read_own",
            "booking:create_own",
            "booking:cancel_own",
            "booking:reschedule_own",
            "review:create_own"
        ]),
        "their own bookings and profile, in catalogue order"
    );
}

const EXPLAIN: &str = "query($u: ID!, $p: String!, $r: ID, $at: DateTime) { explainAccess(userId: $u, permission: $p, providerId: $r, at: $at) { allowed member paths { status group { name } roles { name } assignment { id } } } }";

async fn explain(app: &TestApp, owner: &Auth, user: &Auth, permission: &str, extra: Value) -> Value {
    let mut variables = json!({"u": user.user_id, "p": permission});
    if let (Some(vars), Some(extra)) = (variables.as_object_mut(), extra.as_object()) {
        vars.extend(extra.clone());
    }
    app.ok(owner, EXPLAIN, variables).await["explainAccess"].clone()
}

fn id(data: &Value, field: &str) -> String {
    data[field]["id"].as_str().unwrap_or_else(|| panic!("{field} has an id: {data}")).to_owned()
}

#[tokio::test]
async fn explain_covers_direct_inherited_group_scoped_expired_and_revoked_grants() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("explain").await;
    let user = app.add_member(&owner, "u@explain.test", &["customer"]).await;
    let staff =
        app.ok(&owner, "{ roles(first: 10) { edges { node { id builtin } } } }", json!({})).await["roles"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["builtin"] == "STAFF")
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .unwrap();

    // Direct, and inherited from the parent.
    let reception = id(
        &app.ok(
            &owner,
            "mutation($p: ID!) { createRole(input: {name: \"Receptionist\", parentId: $p, permissions: [\"booking:manage\"]}) { id } }",
            json!({"p": staff}),
        )
        .await,
        "createRole",
    );
    let direct = id(
        &app.ok(
            &owner,
            "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }",
            json!({"r": reception, "u": user.user_id}),
        )
        .await,
        "assignRole",
    );
    let answer = explain(&app, &owner, &user, "booking:manage", json!({})).await;
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["paths"][0]["status"], "GRANTS");
    assert_eq!(answer["paths"][0]["roles"], json!([{"name": "Receptionist"}]));
    let answer = explain(&app, &owner, &user, "customer:read", json!({})).await;
    assert_eq!(answer["paths"][0]["roles"], json!([{"name": "Receptionist"}, {"name": "Staff"}]), "inherited");
    let granted_at = app.now();

    // Through a group.
    let group = id(
        &app.ok(&owner, "mutation { createGroup(input: {name: \"Managers\"}) { id } }", json!({})).await,
        "createGroup",
    );
    let reports = id(
        &app.ok(
            &owner,
            "mutation { createRole(input: {name: \"Reports\", permissions: [\"member:read\", \"role:read\"]}) { id } }",
            json!({}),
        )
        .await,
        "createRole",
    );
    app.ok(
        &owner,
        "mutation($r: ID!, $g: ID!) { assignRole(input: {roleId: $r, groupId: $g}) { id } }",
        json!({"r": reports, "g": group}),
    )
    .await;
    let answer = explain(&app, &owner, &user, "role:read", json!({})).await;
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["paths"], json!([]), "not in the group yet: no path reaches them");
    app.ok(
        &owner,
        "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }",
        json!({"g": group, "u": user.user_id}),
    )
    .await;
    let answer = explain(&app, &owner, &user, "role:read", json!({})).await;
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["paths"][0]["group"]["name"], "Managers");
    assert_eq!(answer["paths"][0]["roles"], json!([{"name": "Reports"}]));
    // The member sees the group's grant on their next request.
    assert!(
        app.ok(&user, "{ me { permissions } }", json!({})).await["me"]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("role:read"))
    );

    // Scoped to one provider.
    let provider = id(
        &app.ok(&owner, "mutation { createProvider(input: {name: \"Maria\"}) { id } }", json!({})).await,
        "createProvider",
    );
    let column = id(
        &app.ok(
            &owner,
            "mutation { createRole(input: {name: \"Own column\", permissions: [\"provider:manage\"]}) { id } }",
            json!({}),
        )
        .await,
        "createRole",
    );
    app.ok(
        &owner,
        "mutation($r: ID!, $u: ID!, $p: ID!) { assignRole(input: {roleId: $r, userId: $u, providerId: $p}) { provider { name } } }",
        json!({"r": column, "u": user.user_id, "p": provider}),
    )
    .await;
    let answer = explain(&app, &owner, &user, "provider:manage", json!({})).await;
    assert_eq!(
        (answer["allowed"].clone(), answer["paths"][0]["status"].clone()),
        (json!(false), json!("OUT_OF_SCOPE"))
    );
    let answer = explain(&app, &owner, &user, "provider:manage", json!({"r": provider})).await;
    assert_eq!(answer["allowed"], true, "{answer}");

    // Expiring: grants until its time, nothing after, with no job run in between.
    let temp = id(
        &app.ok(
            &owner,
            "mutation { createRole(input: {name: \"Cover\", permissions: [\"customer:manage\"]}) { id } }",
            json!({}),
        )
        .await,
        "createRole",
    );
    // Sessions stay alive: the idle timeout is an hour.
    let expires = app.now() + Duration::minutes(10);
    app.ok(
        &owner,
        "mutation($r: ID!, $u: ID!, $e: DateTime!) { assignRole(input: {roleId: $r, userId: $u, expiresAt: $e}) { id } }",
        json!({"r": temp, "u": user.user_id, "e": expires}),
    )
    .await;
    let create_customer = "mutation { createCustomer(input: {name: \"Walk-in\"}) { id } }";
    app.ok(&user, create_customer, json!({})).await;
    app.clock.advance(Duration::minutes(20));
    assert_eq!(app.error_code(&user, create_customer, json!({})).await, "FORBIDDEN");
    let answer = explain(&app, &owner, &user, "customer:manage", json!({})).await;
    assert_eq!((answer["allowed"].clone(), answer["paths"][0]["status"].clone()), (json!(false), json!("EXPIRED")));
    let before_expiry = expires - Duration::minutes(5);
    assert_eq!(explain(&app, &owner, &user, "customer:manage", json!({"at": before_expiry})).await["allowed"], true);

    // Revoked: no longer, but still explained as of before.
    app.ok(&owner, "mutation($id: ID!) { revokeRoleAssignment(id: $id) { revokedAt } }", json!({"id": direct})).await;
    let answer = explain(&app, &owner, &user, "booking:manage", json!({})).await;
    assert_eq!((answer["allowed"].clone(), answer["paths"][0]["status"].clone()), (json!(false), json!("REVOKED")));
    let answer = explain(&app, &owner, &user, "booking:manage", json!({"at": granted_at + Duration::seconds(1)})).await;
    assert_eq!(answer["allowed"], true, "as of before the revocation: {answer}");
    assert_eq!(answer["paths"][0]["assignment"]["id"], direct.as_str());

    // History keeps revoked and expired assignments.
    let history = app
        .ok(
            &owner,
            "query($u: ID!) { roleAssignments(filter: {userId: $u, includeInactive: true}) { edges { node { state role { name } } } } }",
            json!({"u": user.user_id}),
        )
        .await;
    let states: Vec<String> = history["roleAssignments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["node"]["role"]["name"].as_str().unwrap(), e["node"]["state"].as_str().unwrap()))
        .collect();
    for expected in ["Receptionist REVOKED", "Cover EXPIRED", "Customer ACTIVE", "Own column ACTIVE"] {
        assert!(states.contains(&expected.to_owned()), "{expected} in {states:?}");
    }
}

#[tokio::test]
async fn nobody_can_grant_or_take_away_what_they_do_not_hold() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("escalate").await;
    let admin = app.add_member(&owner, "admin@escalate.test", &["admin"]).await;
    let roles = app.ok(&owner, "{ roles { edges { node { id builtin } } } }", json!({})).await;
    let role_of = |key: &str| {
        roles["roles"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["builtin"] == key).unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (owner_role, staff_role) = (role_of("OWNER"), role_of("STAFF"));
    let mint = "mutation { createRole(input: {name: \"Deleter\", permissions: [\"tenant:delete\"]}) { id } }";
    assert_eq!(app.error_code(&admin, mint, json!({})).await, "FORBIDDEN");
    let assign = "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }";
    assert_eq!(app.error_code(&admin, assign, json!({"r": owner_role, "u": admin.user_id})).await, "FORBIDDEN");
    // Inheriting from the owner role is minting it too.
    let child = "mutation($p: ID!) { createRole(input: {name: \"Sub-owner\", parentId: $p, permissions: []}) { id } }";
    assert_eq!(app.error_code(&admin, child, json!({"p": owner_role})).await, "FORBIDDEN");
    // The owner's own assignment cannot be revoked by an admin.
    let owners = app
        .ok(
            &owner,
            "query($r: ID!) { roleAssignments(filter: {roleId: $r}) { edges { node { id } } } }",
            json!({"r": owner_role}),
        )
        .await;
    let owner_assignment = owners["roleAssignments"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let revoke = "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }";
    assert_eq!(app.error_code(&admin, revoke, json!({"id": owner_assignment})).await, "FORBIDDEN");
    // A group holding the owner role cannot be joined through an admin.
    let group = id(
        &app.ok(&owner, "mutation { createGroup(input: {name: \"Partners\"}) { id } }", json!({})).await,
        "createGroup",
    );
    app.ok(
        &owner,
        "mutation($r: ID!, $g: ID!) { assignRole(input: {roleId: $r, groupId: $g}) { id } }",
        json!({"r": owner_role, "g": group}),
    )
    .await;
    let join = "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }";
    assert_eq!(app.error_code(&admin, join, json!({"g": group, "u": admin.user_id})).await, "FORBIDDEN");
    // What the admin holds, they can grant.
    let staff = app.add_member(&owner, "staff@escalate.test", &["customer"]).await;
    app.ok(&admin, assign, json!({"r": staff_role, "u": staff.user_id})).await;
    // And the last owner stays.
    assert_eq!(app.error_code(&owner, revoke, json!({"id": owner_assignment})).await, "CONFLICT");
}

#[tokio::test]
async fn built_in_roles_are_protected_and_custom_roles_are_checked() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("protect").await;
    let staff_member = app.add_member(&owner, "s@protect.test", &["staff"]).await;
    let roles = app.ok(&owner, "{ roles { edges { node { id builtin permissions } } } }", json!({})).await;
    let staff =
        roles["roles"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["builtin"] == "STAFF").unwrap()["node"]
            .clone();
    let staff_id = staff["id"].as_str().unwrap();
    let delete = "mutation($id: ID!) { deleteRole(id: $id) { id } }";
    assert_eq!(app.error_code(&owner, delete, json!({"id": staff_id})).await, "CONFLICT");
    let set = "mutation($id: ID!, $p: [String!]) { updateRole(id: $id, input: {permissions: $p}) { permissions } }";
    let (_, body) = app.post(&owner, set, json!({"id": staff_id, "p": ["tenant:read"]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "permissions");
    // Owners can add to a built-in role; its members have it on their next request.
    let mut extended: Vec<Value> = staff["permissions"].as_array().unwrap().clone();
    extended.push(json!("customer:manage"));
    app.ok(&owner, set, json!({"id": staff_id, "p": extended})).await;
    app.ok(&staff_member, "mutation { createCustomer(input: {name: \"Walk-in\"}) { id } }", json!({})).await;
    // Unknown permissions are bad input, naming the field.
    let (_, body) = app
        .post(&owner, "mutation { createRole(input: {name: \"X\", permissions: [\"booking:fly\"]}) { id } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // Cycles are refused.
    let create =
        "mutation($n: String!, $p: ID) { createRole(input: {name: $n, parentId: $p, permissions: []}) { id } }";
    let a = id(&app.ok(&owner, create, json!({"n": "A"})).await, "createRole");
    let b = id(&app.ok(&owner, create, json!({"n": "B", "p": a})).await, "createRole");
    let reparent = "mutation($id: ID!, $p: ID) { updateRole(id: $id, input: {parentId: $p}) { id } }";
    assert_eq!(app.error_code(&owner, reparent, json!({"id": a, "p": b})).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(&owner, reparent, json!({"id": a, "p": a})).await, "BAD_USER_INPUT");
    // Names are unique; a role in use or inherited from cannot be deleted.
    assert_eq!(app.error_code(&owner, create, json!({"n": "a"})).await, "CONFLICT");
    assert_eq!(app.error_code(&owner, delete, json!({"id": a})).await, "CONFLICT");
    let assign = "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }";
    let held = id(&app.ok(&owner, assign, json!({"r": b, "u": staff_member.user_id})).await, "assignRole");
    assert_eq!(app.error_code(&owner, delete, json!({"id": b})).await, "CONFLICT");
    assert_eq!(
        app.error_code(&owner, assign, json!({"r": b, "u": staff_member.user_id})).await,
        "CONFLICT",
        "granted twice"
    );
    app.ok(&owner, "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }", json!({"id": held})).await;
    app.ok(&owner, delete, json!({"id": b})).await;
    app.ok(&owner, delete, json!({"id": a})).await;
    // An expiry in the past is bad input.
    let (_, body) = app
        .post(
            &owner,
            "mutation($r: ID!, $u: ID!, $e: DateTime!) { assignRole(input: {roleId: $r, userId: $u, expiresAt: $e}) { id } }",
            json!({"r": staff_id, "u": owner.user_id, "e": app.now() - Duration::minutes(1)}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "expiresAt");
}

#[tokio::test]
async fn another_tenants_roles_groups_and_assignments_are_invisible_and_untouchable() {
    let app = TestApp::spawn().await;
    let (alice, _) = app.owner_of("alice-rbac").await;
    let (bob, _) = app.owner_of("bob-rbac").await;
    let alice_staff = app.add_member(&alice, "staff@alice-rbac.test", &["staff"]).await;
    let role = id(
        &app.ok(&alice, "mutation { createRole(input: {name: \"Secret\", permissions: []}) { id } }", json!({})).await,
        "createRole",
    );
    let group = id(
        &app.ok(&alice, "mutation { createGroup(input: {name: \"Inner circle\"}) { id } }", json!({})).await,
        "createGroup",
    );
    app.ok(
        &alice,
        "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }",
        json!({"g": group, "u": alice_staff.user_id}),
    )
    .await;
    let assignment = id(
        &app.ok(
            &alice,
            "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }",
            json!({"r": role, "u": alice_staff.user_id}),
        )
        .await,
        "assignRole",
    );

    // Invisible: Bob's lists hold only his own, and Alice's ids resolve to nothing.
    let lists = app
        .ok(&bob, "{ roles { edges { node { name } } } groups { edges { node { id } } } roleAssignments(filter: {includeInactive: true}) { edges { node { user { email } } } } }", json!({}))
        .await;
    let names: Vec<&str> =
        lists["roles"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Owner", "Admin", "Staff", "Customer"]);
    assert_eq!(lists["groups"]["edges"], json!([]));
    assert_eq!(lists["roleAssignments"]["edges"], json!([{"node": {"user": {"email": "owner@bob-rbac.test"}}}]));
    assert_eq!(
        app.ok(&bob, "query($id: ID!) { role(id: $id) { id } }", json!({"id": role})).await["role"],
        Value::Null
    );
    let answer = explain(&app, &bob, &alice_staff, "booking:read", json!({})).await;
    assert_eq!(
        (answer["allowed"].clone(), answer["member"].clone(), answer["paths"].clone()),
        (json!(false), json!(false), json!([]))
    );

    // Untouchable: every write names something Bob cannot reach.
    let bob_role = id(
        &app.ok(&bob, "mutation { createRole(input: {name: \"Mine\", permissions: []}) { id } }", json!({})).await,
        "createRole",
    );
    let attempts: &[(&str, Value, &str)] = &[
        (
            "mutation($id: ID!) { updateRole(id: $id, input: {name: \"Taken\"}) { id } }",
            json!({"id": role}),
            "NOT_FOUND",
        ),
        ("mutation($id: ID!) { deleteRole(id: $id) { id } }", json!({"id": role}), "NOT_FOUND"),
        (
            "mutation($id: ID!) { updateGroup(id: $id, input: {name: \"Taken\"}) { id } }",
            json!({"id": group}),
            "NOT_FOUND",
        ),
        ("mutation($id: ID!) { deleteGroup(id: $id) { id } }", json!({"id": group}), "NOT_FOUND"),
        (
            "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }",
            json!({"g": group, "u": bob.user_id}),
            "NOT_FOUND",
        ),
        (
            "mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }",
            json!({"g": group, "u": alice_staff.user_id}),
            "NOT_FOUND",
        ),
        (
            "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }",
            json!({"r": role, "u": bob.user_id}),
            "BAD_USER_INPUT",
        ),
        (
            "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }",
            json!({"r": bob_role, "u": alice_staff.user_id}),
            "NOT_FOUND",
        ),
        ("mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }", json!({"id": assignment}), "NOT_FOUND"),
    ];
    for (document, variables, code) in attempts {
        assert_eq!(app.error_code(&bob, document, variables.clone()).await, *code, "{document}");
    }
    // Alice's side is unchanged.
    let alice_view = app
        .ok(&alice, "query($id: ID!) { role(id: $id) { name } groups { edges { node { name members { edges { node { user { email } } } } } } } }", json!({"id": role}))
        .await;
    assert_eq!(alice_view["role"]["name"], "Secret");
    assert_eq!(alice_view["groups"]["edges"][0]["node"]["name"], "Inner circle");
    assert_eq!(
        alice_view["groups"]["edges"][0]["node"]["members"]["edges"][0]["node"]["user"]["email"],
        "staff@alice-rbac.test"
    );
    let still = app
        .ok(
            &alice,
            "query($u: ID!) { roleAssignments(filter: {userId: $u}) { edges { node { role { name } state } } } }",
            json!({"u": alice_staff.user_id}),
        )
        .await;
    assert!(still.to_string().contains("Secret"), "{still}");
}

#[tokio::test]
async fn losing_a_role_ends_the_subscription() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("feed-rbac").await;
    let staff = app.add_member(&owner, "s@feed-rbac.test", &["staff"]).await;
    let mut feed = app.websocket("graphql-transport-ws", None).await.unwrap();
    feed.init(&staff).await;
    let subscription = "subscription { tenantUpdated { kind } }";
    feed.send(json!({"id": "t", "type": "subscribe", "payload": {"query": subscription}})).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let update = "mutation($n: String!) { updateTenant(input: {name: $n}) { id } }";
    app.ok(&owner, update, json!({"n": "First"})).await;
    let Some(WsEvent::Json(first)) = feed.next(StdDuration::from_secs(10)).await else { panic!("an event") };
    assert_eq!(first["type"], "next", "{first}");

    let assignments = app
        .ok(
            &owner,
            "query($u: ID!) { roleAssignments(filter: {userId: $u}) { edges { node { id } } } }",
            json!({"u": staff.user_id}),
        )
        .await;
    let staff_assignment = assignments["roleAssignments"]["edges"][0]["node"]["id"].clone();
    app.ok(&owner, "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }", json!({"id": staff_assignment}))
        .await;
    app.ok(&owner, update, json!({"n": "Second"})).await;
    loop {
        match feed.next(StdDuration::from_secs(10)).await {
            Some(WsEvent::Json(message)) if message["type"] == "complete" => break,
            Some(WsEvent::Json(message)) => {
                let code = &message["payload"]["errors"][0]["extensions"]["code"];
                assert_eq!(code, "FORBIDDEN", "no event after the role is gone, only the reason: {message}");
            }
            other => panic!("expected the feed to complete, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_role_on_one_provider_lets_a_stylist_manage_that_schedule_only() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("own-column").await;
    let stylist = app.add_member(&owner, "maria@own-column.test", &["staff"]).await;
    let create = "mutation($n: String!) { createProvider(input: {name: $n}) { id } }";
    let maria = id(&app.ok(&owner, create, json!({"n": "Maria"})).await, "createProvider");
    let marco = id(&app.ok(&owner, create, json!({"n": "Marco"})).await, "createProvider");
    let role = id(
        &app.ok(
            &owner,
            "mutation { createRole(input: {name: \"Own schedule\", permissions: [\"provider:manage\"]}) { id } }",
            json!({}),
        )
        .await,
        "createRole",
    );
    let hours = "mutation($p: ID!) { setWorkingHours(providerId: $p, intervals: [{weekday: MONDAY, startTime: \"09:00\", endTime: \"17:00\"}]) { id } }";
    assert_eq!(app.error_code(&stylist, hours, json!({"p": maria})).await, "FORBIDDEN", "not before the grant");
    app.ok(
        &owner,
        "mutation($r: ID!, $u: ID!, $p: ID!) { assignRole(input: {roleId: $r, userId: $u, providerId: $p}) { id } }",
        json!({"r": role, "u": stylist.user_id, "p": maria}),
    )
    .await;
    app.ok(&stylist, hours, json!({"p": maria})).await;
    assert_eq!(app.error_code(&stylist, hours, json!({"p": marco})).await, "FORBIDDEN");
    let time_off =
        "mutation($p: ID) { addScheduleException(input: {providerId: $p, date: \"2030-01-07\", kind: CLOSED}) { id } }";
    let own = app.ok(&stylist, time_off, json!({"p": maria})).await["addScheduleException"]["id"].clone();
    assert_eq!(app.error_code(&stylist, time_off, json!({"p": marco})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(&stylist, time_off, json!({"p": null})).await,
        "FORBIDDEN",
        "a tenant holiday is not theirs"
    );
    let theirs = app.ok(&owner, time_off, json!({"p": marco})).await["addScheduleException"]["id"].clone();
    let remove = "mutation($id: ID!) { removeScheduleException(id: $id) }";
    assert_eq!(app.error_code(&stylist, remove, json!({"id": theirs})).await, "FORBIDDEN");
    app.ok(&stylist, remove, json!({"id": own})).await;
    // Tenant-wide, the staff role still cannot create providers.
    assert_eq!(app.error_code(&stylist, create, json!({"n": "Mine"})).await, "FORBIDDEN");
    let permissions = app.ok(&stylist, "{ me { permissions } }", json!({})).await;
    assert!(!permissions["me"]["permissions"].as_array().unwrap().contains(&json!("provider:manage")));
}

#[tokio::test]
async fn parent_owners_manage_children_that_allow_it_and_nothing_flows_up_or_sideways() {
    let app = TestApp::spawn().await;
    let (alice, _) = app.owner_of("franchise").await;
    let branch = "mutation($s: String!) { createChildTenant(input: {name: $s, slug: $s, timezone: \"Europe/Madrid\"}) { id parentMayManage } }";
    let north = app.ok(&alice, branch, json!({"s": "franchise-north"})).await;
    assert_eq!(north["createChildTenant"]["parentMayManage"], true, "a branch starts managed by its franchise");
    app.ok(&alice, branch, json!({"s": "franchise-south"})).await;
    let carl = app.add_member(&alice, "carl@franchise.test", &["owner"]).await;
    let dave = app.add_member(&alice, "dave@franchise.test", &["admin"]).await;
    let erin = app.add_member(&alice.in_tenant("franchise-north"), "erin@franchise.test", &["owner"]).await;

    // A co-owner of the franchise manages the branch as an admin, without belonging.
    let carl_north = carl.in_tenant("franchise-north");
    let me = app.ok(&carl_north, "{ currentTenant { slug } me { roles { name } permissions } }", json!({})).await;
    assert_eq!(me["currentTenant"]["slug"], "franchise-north");
    assert_eq!(me["me"]["roles"], json!([]), "no role of the branch's own");
    let permissions = me["me"]["permissions"].as_array().unwrap();
    assert!(permissions.contains(&json!("tenant:manage")) && !permissions.contains(&json!("tenant:delete")), "{me}");
    app.ok(&carl_north, "mutation { createProvider(input: {name: \"Visiting\"}) { id } }", json!({})).await;
    assert_eq!(app.error_code(&carl_north, "mutation { deleteTenant { id } }", json!({})).await, "FORBIDDEN");
    let stop = "mutation($a: Boolean!) { setParentManagement(allowed: $a) { parentMayManage } }";
    assert_eq!(
        app.error_code(&carl_north, stop, json!({"a": false})).await,
        "FORBIDDEN",
        "the branch decides, not the franchise"
    );

    // explainAccess shows the route.
    let explain = "query($u: ID!, $p: String!) { explainAccess(userId: $u, permission: $p) { allowed member throughParent { allowedByTenant ownerOfParent grants } } }";
    let alice_north = alice.in_tenant("franchise-north");
    let answer = app.ok(&alice_north, explain, json!({"u": carl.user_id, "p": "provider:manage"})).await;
    assert_eq!(
        answer["explainAccess"],
        json!({"allowed": true, "member": false, "throughParent": {"allowedByTenant": true, "ownerOfParent": true, "grants": true}})
    );
    let answer = app.ok(&alice_north, explain, json!({"u": carl.user_id, "p": "tenant:delete"})).await;
    assert_eq!(answer["explainAccess"]["allowed"], false);
    let answer = app.ok(&alice_north, explain, json!({"u": dave.user_id, "p": "tenant:read"})).await;
    assert_eq!(answer["explainAccess"]["throughParent"]["ownerOfParent"], false, "an admin is not an owner");

    // Only owners; never upwards or sideways.
    let current = "{ currentTenant { slug } }";
    assert_eq!(app.error_code(&dave.in_tenant("franchise-north"), current, json!({})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&erin.in_tenant("franchise"), current, json!({})).await, "NOT_FOUND", "not upwards");
    assert_eq!(
        app.error_code(&erin.in_tenant("franchise-south"), current, json!({})).await,
        "NOT_FOUND",
        "nor sideways"
    );

    // The branch stops it, and the franchise's owners are out on their next request.
    assert_eq!(app.ok(&alice_north, stop, json!({"a": false})).await["setParentManagement"]["parentMayManage"], false);
    assert_eq!(app.error_code(&carl_north, current, json!({})).await, "NOT_FOUND");
    let answer = app.ok(&alice_north, explain, json!({"u": carl.user_id, "p": "provider:manage"})).await;
    assert_eq!(answer["explainAccess"]["allowed"], false);
    assert_eq!(answer["explainAccess"]["throughParent"]["allowedByTenant"], false);
    app.ok(&alice_north, stop, json!({"a": true})).await;
    app.ok(&carl_north, current, json!({})).await;

    // A tenant without a parent has nothing to allow.
    assert_eq!(app.error_code(&alice, stop, json!({"a": true})).await, "BAD_USER_INPUT");
    // Another business cannot see or switch it.
    let (stranger, _) = app.owner_of("elsewhere").await;
    let reaching_in = stranger.in_tenant("franchise-north");
    assert_eq!(app.error_code(&reaching_in, stop, json!({"a": false})).await, "NOT_FOUND");
    let still = app.ok(&alice_north, "{ currentTenant { parentMayManage } }", json!({})).await;
    assert_eq!(still["currentTenant"]["parentMayManage"], true);
}
