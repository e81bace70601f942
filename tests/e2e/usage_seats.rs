//! Staff seats over HTTP: a member holding any role but the built-in customer
//! role (directly or through a group) holds a seat; the business's tier
//! limits them, twenty parallel promotions against the last seats give
//! exactly those seats, a revoked role gives its seat back, customers never
//! count, the counters equal their records, and migration 36 counts the
//! seats that existed before it.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};
use tessera_ledger::{LimitMode, Metric};
use tessera_migrations::{Migrator, MigratorTrait};

use crate::usage::{counters_match_records, set_limit, tenant_id, used_now};

const ASSIGN: &str = "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { id } }";
const REVOKE: &str = "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }";
const ADD_TO_GROUP: &str = "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }";

async fn seats_used(app: &TestApp, owner: &Auth) -> i64 {
    used_now(app, owner, "STAFF_SEATS").await
}

/// The business's staff seats limited to `seats`, hard.
async fn limit_seats(app: &TestApp, owner: &Auth, seats: i64) {
    set_limit(app, &tenant_id(app, owner).await, Metric::StaffSeats, Some(seats), LimitMode::Hard).await;
}

/// A new group named `name` holding the role `role`.
async fn group_holding(app: &TestApp, owner: &Auth, name: &str, role: &str) -> Value {
    let made =
        app.ok(owner, "mutation($n: String!) { createGroup(input: {name: $n}) { id } }", json!({"n": name})).await;
    let group = made["createGroup"]["id"].clone();
    let grant = "mutation($g: ID!, $r: ID!) { assignRole(input: {groupId: $g, roleId: $r}) { id } }";
    app.ok(owner, grant, json!({"g": group, "r": role})).await;
    group
}
#[tokio::test]
async fn staff_hold_seats_customers_do_not_and_a_full_business_refuses_another() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("seats-mine").await;
    limit_seats(&app, &owner, 2).await;
    let customers = [
        app.add_member(&owner, "ana@seats-mine.test", &["customer"]).await,
        app.add_member(&owner, "bea@seats-mine.test", &["customer"]).await,
    ];
    assert_eq!(seats_used(&app, &owner).await, 1, "the owner alone");
    let staff = app.builtin_role_id(&owner, "STAFF").await;

    let first = app.ok(&owner, ASSIGN, json!({"u": customers[0].user_id, "r": staff})).await;
    assert_eq!(seats_used(&app, &owner).await, 2);
    let (status, refused) = app.post(&owner, ASSIGN, json!({"u": customers[1].user_id, "r": staff})).await;
    assert_eq!(error_code_of(&refused), "QUOTA_EXCEEDED", "{status}: {refused}");
    assert_eq!(refused["errors"][0]["extensions"]["metric"], "staff_seats");
    assert_eq!(refused["errors"][0]["extensions"]["limit"], 2);
    let held = "query($u: ID!) { roleAssignments(filter: {userId: $u}) { edges { node { role { builtin } } } } }";
    let roles = app.ok(&owner, held, json!({"u": customers[1].user_id})).await;
    assert_eq!(roles["roleAssignments"]["edges"].as_array().unwrap().len(), 1, "nothing was granted: {roles}");

    // A revoked role gives its seat back.
    app.ok(&owner, REVOKE, json!({"id": first["assignRole"]["id"]})).await;
    assert_eq!(seats_used(&app, &owner).await, 1);
    app.ok(&owner, ASSIGN, json!({"u": customers[1].user_id, "r": staff})).await;
    assert_eq!(seats_used(&app, &owner).await, 2);

    // Another business's seats are its own.
    let (theirs, _) = app.owner_of("seats-theirs").await;
    assert_eq!(seats_used(&app, &theirs).await, 1);
    counters_match_records(&app).await;
}

#[tokio::test]
async fn a_group_holding_a_staff_role_gives_its_members_seats() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("seats-group").await;
    limit_seats(&app, &owner, 2).await;
    let ana = app.add_member(&owner, "ana@seats-group.test", &["customer"]).await;
    let bea = app.add_member(&owner, "bea@seats-group.test", &["customer"]).await;
    let staff = app.builtin_role_id(&owner, "STAFF").await;
    let group = group_holding(&app, &owner, "Front desk", &staff).await;
    assert_eq!(seats_used(&app, &owner).await, 1, "an empty group holds no seat");
    app.ok(&owner, ADD_TO_GROUP, json!({"g": group, "u": ana.user_id})).await;
    assert_eq!(seats_used(&app, &owner).await, 2);
    let (_, refused) = app.post(&owner, ADD_TO_GROUP, json!({"g": group, "u": bea.user_id})).await;
    assert_eq!(error_code_of(&refused), "QUOTA_EXCEEDED", "{refused}");
    let remove = "mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }";
    app.ok(&owner, remove, json!({"g": group, "u": ana.user_id})).await;
    app.ok(&owner, ADD_TO_GROUP, json!({"g": group, "u": bea.user_id})).await;
    assert_eq!(seats_used(&app, &owner).await, 2);
    counters_match_records(&app).await;
}

#[tokio::test]
async fn twenty_parallel_promotions_against_four_free_seats_make_four() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("seats-race").await;
    limit_seats(&app, &owner, 5).await;
    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(app.add_member(&owner, &format!("c{i}@seats-race.test"), &["customer"]).await);
    }
    let staff = app.builtin_role_id(&owner, "STAFF").await;
    let promotions = customers.iter().map(|c| app.post(&owner, ASSIGN, json!({"u": c.user_id, "r": staff})));
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(promotions).await;
    let granted = answers.iter().filter(|(_, body)| body.get("errors").is_none()).count();
    let refused = answers.iter().filter(|(_, body)| error_code_of(body) == "QUOTA_EXCEEDED").count();
    assert_eq!((granted, refused), (4, 16), "{answers:?}");
    assert_eq!(seats_used(&app, &owner).await, 5);
    counters_match_records(&app).await;
}

#[tokio::test]
async fn migration_36_counts_the_seats_that_already_exist() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("seats-before").await;
    app.add_member(&owner, "staff@seats-before.test", &["staff"]).await;
    app.add_member(&owner, "ana@seats-before.test", &["customer"]).await;
    let bea = app.add_member(&owner, "bea@seats-before.test", &["customer"]).await;
    let staff = app.builtin_role_id(&owner, "STAFF").await;
    let group = group_holding(&app, &owner, "Desk", &staff).await;
    app.ok(&owner, ADD_TO_GROUP, json!({"g": group, "u": bea.user_id})).await;

    let conn = app.state.db.connection();
    let from_36 = u32::try_from(Migrator::migrations().len() - 35).unwrap();
    Migrator::down(conn, Some(from_36)).await.expect("migration 36 goes down");
    let left = app.rows("SELECT count(*) FROM usage_records WHERE metric = 'staff_seats'").await;
    assert_eq!(left[0].try_get_by_index::<i64>(0).unwrap(), 0);
    Migrator::up(conn, None).await.expect("migration 36 goes up again");

    assert_eq!(seats_used(&app, &owner).await, 3, "the owner, the stylist and the desk's member");
    counters_match_records(&app).await;
}
