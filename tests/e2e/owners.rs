//! A business never loses the people who can run it: owners revoking each
//! other at once keep one, the last owner cannot close their account, only
//! owners set the security policy, and a policy never shuts its owners out.

use serde_json::json;
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};

const SET_POLICY: &str =
    "mutation($p: SecurityPolicyInput!) { setSecurityPolicy(input: $p) { securityPolicy { requireMfa } } }";
const CURRENT: &str = "{ currentTenant { slug } }";

#[tokio::test]
async fn owners_revoking_each_other_at_once_never_leave_the_tenant_without_one() {
    let app = TestApp::spawn().await;
    let (first, _) = app.owner_of("owner-race").await;
    let mut owners = vec![first.clone()];
    for n in 1..20 {
        owners.push(app.add_member(&first, &format!("owner{n}@owner-race.test"), &["owner"]).await);
    }
    let owner_role = app.builtin_role_id(&first, "OWNER").await;
    let list =
        "query($r: ID!) { roleAssignments(first: 50, filter: {roleId: $r}) { edges { node { id user { id } } } } }";
    let assignments = app.ok(&first, list, json!({"r": owner_role})).await;
    let assignment_of = |user: &str| -> String {
        assignments["roleAssignments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["user"]["id"] == user)
            .and_then(|e| e["node"]["id"].as_str())
            .unwrap()
            .to_owned()
    };
    // Each owner takes the next one's ownership away, all at the same time.
    let revoke = "mutation($id: ID!) { revokeRoleAssignment(id: $id) { id } }";
    let app = &app;
    let attempts = (0..owners.len()).map(|i| {
        let (actor, target) = (&owners[i], &owners[(i + 1) % owners.len()]);
        let id = assignment_of(target.user_id.as_deref().unwrap());
        async move { app.post(actor, revoke, json!({"id": id})).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let refused = answers.iter().filter(|(_, body)| body.get("errors").is_some()).count();
    assert!(refused >= 1, "the last owner's assignment cannot go: {answers:?}");

    let services = &app.state.services;
    let mut still_owners = 0;
    for owner in &owners {
        let user = owner.user_id.as_deref().unwrap().parse().unwrap();
        let reference = tessera_tenant::TenantRef::parse("owner-race").unwrap();
        if let Ok((_, scope)) = services.rbac.resolve_scope(user, &reference, app.now()).await
            && scope.permissions.contains(tessera_kernel::Permission::TenantDelete)
        {
            still_owners += 1;
        }
    }
    assert!(still_owners >= 1, "a tenant always keeps an owner ({refused} revocations refused)");
}

#[tokio::test]
async fn only_owners_set_the_security_policy() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("policy-owners").await;
    let admin = app.add_member(&owner, "admin@policy-owners.test", &["admin"]).await;
    let (_, body) = app.post(&admin, SET_POLICY, json!({"p": {"ipAllow": ["10.0.0.0/8"]}})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "an admin cannot lock the owners out: {body}");
    app.ok(&owner, SET_POLICY, json!({"p": {"sessionIdleMinutes": 30}})).await;
    assert_eq!(app.ok(&owner, CURRENT, json!({})).await["currentTenant"]["slug"], "policy-owners");
}

#[tokio::test]
async fn requiring_a_second_factor_of_everyone_gives_the_owner_time_to_set_one_up() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("mfa-owner").await;
    let staff = app.add_member(&owner, "staff@mfa-owner.test", &["staff"]).await;
    app.ok(&owner, SET_POLICY, json!({"p": {"requireMfa": "ALL_MEMBERS", "mfaGraceLogins": 0}})).await;

    assert_eq!(app.ok(&owner, CURRENT, json!({})).await["currentTenant"]["slug"], "mfa-owner", "not shut out");
    let again = app.login("owner@mfa-owner.test").await.in_tenant("mfa-owner");
    assert_eq!(app.ok(&again, CURRENT, json!({})).await["currentTenant"]["slug"], "mfa-owner", "a new sign-in too");
    let (_, body) = app.post(&staff, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "others get what the policy grants: {body}");
}

#[tokio::test]
async fn the_last_owner_cannot_close_their_account() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("last-owner").await;
    let account = Auth { tenant: None, ..owner.clone() };
    for close in [
        "mutation($p: String!) { deleteMyAccount(password: $p) }",
        "mutation($p: String!) { deactivateMyAccount(password: $p) }",
    ] {
        let (_, body) = app.post(&account, close, json!({"p": PASSWORD})).await;
        assert_eq!(error_code_of(&body), "CONFLICT", "{body}");
    }
    assert_eq!(app.ok(&owner, CURRENT, json!({})).await["currentTenant"]["slug"], "last-owner", "still open");

    app.add_member(&owner, "second@last-owner.test", &["owner"]).await;
    app.ok(&account, "mutation($p: String!) { deleteMyAccount(password: $p) }", json!({"p": PASSWORD})).await;
}
