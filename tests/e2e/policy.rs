//! A tenant's security policy over HTTP: networks, a second factor for all or
//! some members (grace sign-ins, enforcement date), idle and concurrent
//! sessions. The policy binds requests entering its tenant, and no other.

use std::net::{IpAddr, Ipv4Addr};

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of, totp};

const SET: &str = "mutation($p: SecurityPolicyInput!) { setSecurityPolicy(input: $p) { securityPolicy { requireMfa ipAllow ipBlock maxSessions } } }";
const CURRENT: &str = "{ currentTenant { slug } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken secondFactor { challenge } } }";

/// POSTs from another loopback address (127.0.0.2), as a device on another network.
async fn post_from_elsewhere(app: &TestApp, auth: &Auth, query: &str) -> Value {
    let client = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let mut request = client.post(app.url("/graphql")).json(&json!({ "query": query }));
    if let Some(token) = &auth.token {
        request = request.bearer_auth(token);
    }
    if let Some(tenant) = &auth.tenant {
        request = request.header("x-tenant", tenant);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_business_is_reachable_only_from_networks_its_policy_allows() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("walled").await;
    let staff = app.add_member(&owner, "staff@walled.test", &["staff"]).await;
    let (other_owner, _) = app.owner_of("open-door").await;

    let (_, body) = app.post(&owner, SET, json!({ "p": { "ipAllow": ["10.0.0.0/8"] } })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "the owner would shut themselves out: {body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "ipAllow");
    let (_, body) = app.post(&owner, SET, json!({ "p": { "ipBlock": ["10.0.0.0/33"] } })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "ipBlock", "{body}");
    let set = app.ok(&owner, SET, json!({ "p": { "ipBlock": ["127.0.0.2"] } })).await;
    assert_eq!(set["setSecurityPolicy"]["securityPolicy"]["ipBlock"], json!(["127.0.0.2/32"]));

    let from_elsewhere = post_from_elsewhere(&app, &staff, CURRENT).await;
    assert_eq!(error_code_of(&from_elsewhere), "FORBIDDEN", "{from_elsewhere}");
    assert_eq!(app.ok(&staff, CURRENT, json!({})).await["currentTenant"]["slug"], "walled");
    // The account itself, and other businesses, are not the policy's.
    let me = post_from_elsewhere(&app, &Auth { tenant: None, ..staff.clone() }, "{ me { email } }").await;
    assert_eq!(me["data"]["me"]["email"], "staff@walled.test", "{me}");
    let other = post_from_elsewhere(&app, &other_owner, CURRENT).await;
    assert_eq!(other["data"]["currentTenant"]["slug"], "open-door", "{other}");

    // Only those who manage the business read its policy; staff may not set it.
    let read = "{ currentTenant { securityPolicy { ipBlock } } }";
    assert_eq!(app.ok(&staff, read, json!({})).await["currentTenant"]["securityPolicy"], Value::Null);
    assert!(app.ok(&owner, read, json!({})).await["currentTenant"]["securityPolicy"].is_object());
    let (_, body) = app.post(&staff, SET, json!({ "p": {} })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    let log = app.ok(&owner, "{ auditLog(last: 3) { edges { node { action } } } }", json!({})).await;
    assert!(log.to_string().contains("tenant.security_policy_set"), "{log}");
}

#[tokio::test]
async fn members_need_a_second_factor_once_their_grace_sign_ins_are_spent() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("strict").await;
    let staff = app.add_member(&owner, "staff@strict.test", &["staff"]).await;
    app.ok(&owner, SET, json!({ "p": { "requireMfa": "ALL_MEMBERS", "mfaGraceLogins": 1 } })).await;

    // The first session without a second factor spends the one grace sign-in…
    assert_eq!(app.ok(&staff, CURRENT, json!({})).await["currentTenant"]["slug"], "strict");
    assert_eq!(app.ok(&staff, CURRENT, json!({})).await["currentTenant"]["slug"], "strict", "the same session");
    // …and the next one has none left.
    let again = app.login("staff@strict.test").await.in_tenant("strict");
    let (_, body) = app.post(&again, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("enrollTotp"), "{body}");

    // Setting up an app needs no tenant; the session then still lacks the factor.
    let account = Auth { tenant: None, ..again.clone() };
    let secret = app
        .ok(&account, "mutation($p: String!) { enrollTotp(password: $p) { secret } }", json!({"p": PASSWORD}))
        .await["enrollTotp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(&account, "mutation($c: String!) { confirmTotp(code: $c) }", json!({ "c": totp(&secret, app.now()) })).await;
    let (_, body) = app.post(&again, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "sign in again, with the factor: {body}");

    app.clock.advance(Duration::seconds(30));
    let login = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "staff@strict.test", "password": PASSWORD })).await;
    let challenge = login["login"]["secondFactor"]["challenge"].as_str().unwrap().to_owned();
    let complete = "mutation($ch: String!, $c: String!) { completeLogin(challenge: $ch, code: $c) { accessToken } }";
    let done = app.ok(&Auth::anonymous(), complete, json!({ "ch": challenge, "c": totp(&secret, app.now()) })).await;
    let strong = Auth {
        token: done["completeLogin"]["accessToken"].as_str().map(str::to_owned),
        tenant: Some("strict".into()),
        ..Auth::anonymous()
    };
    assert_eq!(app.ok(&strong, CURRENT, json!({})).await["currentTenant"]["slug"], "strict");
}

#[tokio::test]
async fn a_requirement_by_role_waits_for_its_date() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("by-role").await;
    app.add_member(&owner, "staff@by-role.test", &["staff"]).await;
    app.add_member(&owner, "client@by-role.test", &["customer"]).await;
    let staff_role = app.builtin_role_id(&owner, "STAFF").await;
    let from = app.now() + Duration::days(1);
    let policy = json!({ "requireMfa": "ROLES", "mfaRoles": [staff_role], "mfaEnforcedFrom": from });
    app.ok(&owner, SET, json!({ "p": policy })).await;
    let (_, body) = app.post(&owner, SET, json!({ "p": { "requireMfa": "ROLES" } })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "mfaRoles", "{body}");

    let staff = app.login("staff@by-role.test").await.in_tenant("by-role");
    assert_eq!(app.ok(&staff, CURRENT, json!({})).await["currentTenant"]["slug"], "by-role", "not yet enforced");
    app.clock.advance(Duration::days(2));
    let staff = app.login("staff@by-role.test").await.in_tenant("by-role");
    let (_, body) = app.post(&staff, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    let client = app.login("client@by-role.test").await.in_tenant("by-role");
    assert_eq!(app.ok(&client, CURRENT, json!({})).await["currentTenant"]["slug"], "by-role", "not a staff role");
}

#[tokio::test]
async fn idle_and_concurrent_sessions_are_limited() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("brief").await;
    let staff = app.add_member(&owner, "staff@brief.test", &["staff"]).await;
    app.ok(&owner, SET, json!({ "p": { "sessionIdleMinutes": 5, "maxSessions": 2 } })).await;

    app.clock.advance(Duration::minutes(6));
    let (_, body) = app.post(&staff, CURRENT, json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "idle longer than the business allows: {body}");
    let account = Auth { tenant: None, ..staff.clone() };
    assert!(
        app.ok(&account, "{ me { email } }", json!({})).await["me"].is_object(),
        "the gateway's own idle limit is longer"
    );

    let first = app.login("staff@brief.test").await.in_tenant("brief");
    let second = app.login("staff@brief.test").await.in_tenant("brief");
    let third = app.login("staff@brief.test").await.in_tenant("brief");
    for (session, expected) in [(&account, "UNAUTHENTICATED"), (&first, "UNAUTHENTICATED")] {
        let (_, body) = app.post(session, "{ me { email } }", json!({})).await;
        assert_eq!(error_code_of(&body), expected, "the oldest sessions ended: {body}");
    }
    for session in [&second, &third] {
        assert_eq!(app.ok(session, CURRENT, json!({})).await["currentTenant"]["slug"], "brief");
    }
    // The owner's session idled too.
    let owner = app.login("owner@brief.test").await.in_tenant("brief");
    let (_, body) = app.post(&owner, SET, json!({ "p": { "maxSessions": 0 } })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "maxSessions", "{body}");
}
