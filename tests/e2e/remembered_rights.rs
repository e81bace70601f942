//! A gateway reuses the session and rights one request found for the next only
//! while nothing they rest on changed: a revoked role, an ended session and a
//! changed policy are refused on the very next request, on the gateway that
//! made the change and on another replica (two gateways, each with its own
//! memory and connections, on one PostgreSQL and one Redis); an assignment
//! ends with its time; and a Redis outage sends rights back to the database
//! rather than past a change.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::live_rights::revoke_all_roles;

const CUSTOMERS: &str = "{ customers(first: 1) { edges { node { id } } } }";
const ROLES: &str = "{ roles(first: 1) { edges { node { id } } } }";
const POLICY: &str =
    "mutation($p: SecurityPolicyInput!) { setSecurityPolicy(input: $p) { securityPolicy { requireMfa } } }";

/// Two requests on `app`, the second answered from what the first found.
async fn seen_twice(app: &TestApp, auth: &Auth) {
    for _ in 0..2 {
        app.ok(auth, CUSTOMERS, json!({})).await;
    }
}

/// A second gateway on `first`'s database and Redis, when there is a Redis to
/// share; replicas without one share nothing to remember by.
async fn replica_of(first: &TestApp) -> Option<TestApp> {
    if !first.state.services.bus.uses_redis() {
        eprintln!("replicas share access stamps through Redis only; set TESSERA_TEST_REDIS_URL");
        return None;
    }
    Some(TestApp::spawn_on(first.database.clone(), |_| {}).await)
}

/// Revokes a member's roles through `changes`, then asks `reads`.
async fn a_revoked_role_is_refused_next(changes: &TestApp, reads: &TestApp, slug: &str) {
    let (owner, _) = changes.owner_of(slug).await;
    let admin = changes.add_member(&owner, &format!("admin@{slug}.test"), &["admin"]).await;
    seen_twice(reads, &admin).await;
    revoke_all_roles(changes, &owner, &admin).await;
    assert_eq!(reads.error_code(&admin, CUSTOMERS, json!({})).await, "FORBIDDEN");
}

/// Ends one of the owner's sessions through `changes`, then asks `reads`.
async fn an_ended_session_is_refused_next(changes: &TestApp, reads: &TestApp, slug: &str) {
    let (owner, tenant) = changes.owner_of(slug).await;
    let email = changes.ok(&owner, "{ me { email } }", json!({})).await["me"]["email"].as_str().unwrap().to_owned();
    let other = changes.login(&email).await.in_tenant(&tenant);
    seen_twice(reads, &other).await;
    let revoked = changes
        .ok(&owner, "mutation($id: ID!) { revokeSession(id: $id) { id } }", json!({"id": other.session_id}))
        .await;
    assert_eq!(revoked["revokeSession"]["id"], json!(other.session_id));
    assert_eq!(reads.error_code(&other, CUSTOMERS, json!({})).await, "UNAUTHENTICATED");
    // The owner's own session is untouched.
    reads.ok(&owner, CUSTOMERS, json!({})).await;
}

/// Requires a second factor of every member through `changes`, then asks
/// `reads` for a member who signed in with a password only.
async fn a_changed_policy_is_refused_next(changes: &TestApp, reads: &TestApp, slug: &str) {
    let (owner, _) = changes.owner_of(slug).await;
    let staff = changes.add_member(&owner, &format!("staff@{slug}.test"), &["staff"]).await;
    seen_twice(reads, &staff).await;
    changes.ok(&owner, POLICY, json!({"p": {"requireMfa": "ALL_MEMBERS", "mfaGraceLogins": 0}})).await;
    assert_eq!(reads.error_code(&staff, CUSTOMERS, json!({})).await, "FORBIDDEN");
}

#[tokio::test]
async fn on_one_gateway_a_revoked_role_an_ended_session_and_a_changed_policy_are_refused_next() {
    let app = TestApp::spawn().await;
    a_revoked_role_is_refused_next(&app, &app, "remember-role").await;
    an_ended_session_is_refused_next(&app, &app, "remember-session").await;
    a_changed_policy_is_refused_next(&app, &app, "remember-policy").await;
}

#[tokio::test]
async fn a_role_revoked_on_one_replica_is_refused_by_the_next_request_on_another() {
    let first = TestApp::spawn().await;
    let Some(second) = replica_of(&first).await else { return };
    a_revoked_role_is_refused_next(&first, &second, "replica-role").await;
}

#[tokio::test]
async fn a_session_ended_on_one_replica_is_refused_by_the_next_request_on_another() {
    let first = TestApp::spawn().await;
    let Some(second) = replica_of(&first).await else { return };
    an_ended_session_is_refused_next(&first, &second, "replica-session").await;
}

#[tokio::test]
async fn a_policy_changed_on_one_replica_is_refused_by_the_next_request_on_another() {
    let first = TestApp::spawn().await;
    let Some(second) = replica_of(&first).await else { return };
    a_changed_policy_is_refused_next(&first, &second, "replica-policy").await;
}

#[tokio::test]
async fn remembered_rights_end_when_their_assignment_expires() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("remember-expiry").await;
    let member = app.add_member(&owner, "temp@remember-expiry.test", &[]).await;
    let admin_role = app.builtin_role_id(&owner, "ADMIN").await;
    let until = app.now() + Duration::minutes(30);
    app.ok(
        &owner,
        "mutation($u: ID!, $r: ID!, $e: DateTime) { assignRole(input: {userId: $u, roleId: $r, expiresAt: $e}) { id } }",
        json!({"u": member.user_id, "r": admin_role, "e": until.to_rfc3339()}),
    )
    .await;
    for _ in 0..2 {
        app.ok(&member, ROLES, json!({})).await;
    }
    app.clock.set(until + Duration::seconds(1));
    assert_eq!(app.error_code(&member, ROLES, json!({})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_request_that_reuses_rights_still_sees_another_tenant_as_not_found() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("remember-mine").await;
    let (_, theirs) = app.owner_of("remember-theirs").await;
    seen_twice(&app, &owner).await;
    let elsewhere = owner.in_tenant(&theirs);
    for _ in 0..2 {
        assert_eq!(app.error_code(&elsewhere, CUSTOMERS, json!({})).await, "NOT_FOUND");
    }
}

#[tokio::test]
async fn while_redis_is_away_rights_come_from_the_database_and_a_change_still_holds() {
    let Some((link, via_link)) = tessera_e2e::FlakyLink::to_redis("this outage needs Redis").await else { return };
    let app = TestApp::spawn_with(|c| c.redis_url = Some(via_link.clone())).await;
    let (owner, _) = app.owner_of("remember-outage").await;
    let admin = app.add_member(&owner, "admin@remember-outage.test", &["admin"]).await;
    seen_twice(&app, &admin).await;

    link.cut();
    // Nothing can be confirmed: each request reads its rights afresh.
    seen_twice(&app, &admin).await;
    revoke_all_roles(&app, &owner, &admin).await;
    assert_eq!(app.error_code(&admin, CUSTOMERS, json!({})).await, "FORBIDDEN");

    link.restore();
    // What was kept before the outage is not trusted after it.
    let answer: Value = app.post(&admin, CUSTOMERS, json!({})).await.1;
    assert_eq!(tessera_e2e::error_code_of(&answer), "FORBIDDEN", "{answer}");
}
