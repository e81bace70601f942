//! Security events and login history end to end: access changes audited and
//! raised as permission changes; failed logins, a lockout, a reused refresh token
//! and a revoked session raised for the account; who reads them (the tenant's
//! auditors for its staff, each user for themselves) with filters and paging; and
//! what stays out of reach (customers' accounts, other tenants).

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

const EVENTS: &str = "query($f: SecurityEventFilterInput, $first: Int, $after: String) { securityEvents(first: $first, after: $after, filter: $f) { edges { node { kind severity tenantId user { id } actor { id } details } } pageInfo { hasNextPage endCursor } } }";
const MY_EVENTS: &str = "query($f: SecurityEventFilterInput) { mySecurityEvents(first: 50, filter: $f) { edges { node { kind severity tenantId details } } } }";
const LOGINS: &str = "query($f: LoginFilterInput) { loginHistory(first: 50, filter: $f) { edges { node { userId succeeded failureReason } } } }";
const LOG: &str = "query($f: AuditFilterInput) { auditLog(first: 100, filter: $f) { edges { node { seq action targetType changes actor { id } } } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";

fn nodes(data: &Value, field: &str) -> Vec<Value> {
    data[field]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn fail_login(app: &TestApp, email: &str) {
    let (_, body) = app.post(&Auth::anonymous(), LOGIN, json!({"email": email, "password": "not the password"})).await;
    assert!(body["errors"].is_array(), "{body}");
}

#[tokio::test]
async fn access_changes_are_audited_and_raised_as_permission_changes() {
    let app = TestApp::spawn().await;
    let (owner, tenant_id) = app.owner_of("guarded").await;
    let staff = app.add_member(&owner, "stylist@guarded.test", &["staff"]).await;
    let create = "mutation { createRole(input: {name: \"Front desk\", permissions: [\"booking:read\", \"customer:read\"]}) { id } }";
    let role = app.ok(&owner, create, json!({})).await["createRole"]["id"].clone();
    let assign = "mutation($r: ID!, $u: ID!) { assignRole(input: {roleId: $r, userId: $u}) { id } }";
    app.ok(&owner, assign, json!({"r": role, "u": staff.user_id})).await;
    let escalate =
        "mutation($r: ID!) { updateRole(id: $r, input: {permissions: [\"booking:read\", \"role:assign\"]}) { id } }";
    app.ok(&owner, escalate, json!({"r": role})).await;

    let log = nodes(&app.ok(&owner, LOG, json!({})).await, "auditLog");
    let actions: Vec<&str> = log.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.created", "member.added", "role.created", "assignment.granted", "role.updated"]);
    assert_eq!(log[0]["seq"], 1, "the chain starts with the tenant's creation");
    assert_eq!(log[0]["actor"]["id"], json!(owner.user_id));
    assert_eq!(log[3]["changes"]["after"]["userId"], json!(staff.user_id));
    assert_eq!(
        log[4]["changes"],
        json!({"before": {"permissions": ["customer:read", "booking:read"]}, "after": {"permissions": ["booking:read", "role:assign"]}}),
        "only what changed, in catalogue order"
    );

    let events = nodes(&app.ok(&owner, EVENTS, json!({"first": 50})).await, "securityEvents");
    let changes: Vec<&Value> = events.iter().filter(|e| e["kind"] == "PERMISSION_CHANGED").collect();
    let actions: Vec<&Value> = changes.iter().map(|e| &e["details"]["action"]).collect();
    assert_eq!(actions, ["member.added", "role.created", "assignment.granted", "role.updated"]);
    let granted = changes[2];
    assert_eq!((&granted["severity"], &granted["tenantId"]), (&json!("MEDIUM"), &json!(tenant_id)));
    assert_eq!((&granted["user"]["id"], &granted["actor"]["id"]), (&json!(staff.user_id), &json!(owner.user_id)));
    assert_eq!(granted["details"]["permissions"], json!(["customer:read", "booking:read"]), "catalogue order");
    assert_eq!(changes[3]["severity"], "HIGH", "a role that may hand out roles is administrative");

    // The stylist sees the grant about her among her own events.
    let mine =
        nodes(&app.ok(&staff, MY_EVENTS, json!({"f": {"kind": "PERMISSION_CHANGED"}})).await, "mySecurityEvents");
    let about_her: Vec<&Value> = mine.iter().map(|e| &e["details"]["action"]).collect();
    assert_eq!(about_her, ["member.added", "assignment.granted"]);
}

#[tokio::test]
async fn failed_logins_a_lockout_and_a_reused_refresh_token_are_raised_for_the_account() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("watched").await;
    let staff = app.add_member(&owner, "desk@watched.test", &["staff"]).await;
    for _ in 0..6 {
        fail_login(&app, "desk@watched.test").await;
    }
    fail_login(&app, "desk@watched.test").await; // refused while locked
    let refreshed = app.ok(&Auth::anonymous(), REFRESH, json!({"token": staff.refresh})).await;
    assert!(refreshed["refreshSession"]["accessToken"].is_string());
    // Past the window in which a repeat gets the same tokens.
    app.clock.advance(chrono::Duration::seconds(31));
    let code = app.error_code(&Auth::anonymous(), REFRESH, json!({"token": staff.refresh})).await;
    assert_eq!(code, "UNAUTHENTICATED", "the rotated token again: the session ends");

    let about_staff = json!({"first": 50, "f": {"userId": staff.user_id}});
    let events = nodes(&app.ok(&owner, EVENTS, about_staff).await, "securityEvents");
    let mut expected = vec!["PERMISSION_CHANGED"];
    expected.extend(["LOGIN_FAILED"; 5]);
    expected.extend(["ACCOUNT_LOCKED", "LOGIN_THROTTLED", "REFRESH_TOKEN_REUSED"]);
    assert_eq!(kinds(&events), expected);
    let locked = &events[6];
    assert_eq!((&locked["severity"], &locked["tenantId"]), (&json!("HIGH"), &Value::Null), "{locked}");
    assert_eq!(locked["details"]["failedAttempts"], 6);
    assert!(locked["actor"].is_null(), "nobody was signed in");

    let high = json!({"first": 50, "f": {"minSeverity": "HIGH", "userId": staff.user_id}});
    let serious = nodes(&app.ok(&owner, EVENTS, high).await, "securityEvents");
    assert_eq!(kinds(&serious), ["ACCOUNT_LOCKED", "REFRESH_TOKEN_REUSED"]);

    // Relay paging walks the same events.
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    loop {
        let page = json!({"first": 3, "after": after, "f": {"userId": staff.user_id}});
        let data = app.ok(&owner, EVENTS, page).await;
        seen.extend(nodes(&data, "securityEvents").iter().map(|e| e["kind"].as_str().unwrap().to_owned()));
        let info = &data["securityEvents"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(seen, expected);

    let failures = nodes(&app.ok(&owner, LOGINS, json!({"f": {"succeeded": false}})).await, "loginHistory");
    assert_eq!(failures.len(), 7, "{failures:?}");
    assert!(failures.iter().all(|a| a["userId"] == json!(staff.user_id)));
    assert_eq!(failures[6]["failureReason"], "throttled");

    // Revoking one's own other session is recorded too; the user sees it all.
    let desk = app.sign_up("second-device@watched.test").await;
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) { id } }";
    let other = app.login("second-device@watched.test").await;
    app.ok(&desk, revoke, json!({"id": other.session_id})).await;
    let mine = nodes(&app.ok(&desk, MY_EVENTS, json!({})).await, "mySecurityEvents");
    assert_eq!(kinds(&mine), ["SESSION_REVOKED"]);
    assert_eq!(mine[0]["details"]["sessionId"], json!(other.session_id));
}

#[tokio::test]
async fn a_tenant_sees_its_staff_but_not_its_customers_nor_other_tenants_accounts() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("private").await;
    let (other_owner, _) = app.owner_of("elsewhere").await;
    let staff = app.add_member(&owner, "staff@private.test", &["staff"]).await;
    let customer = app.add_member(&owner, "client@private.test", &["customer"]).await;
    let outsider = app.sign_up("outsider@nowhere.test").await;
    for email in ["staff@private.test", "client@private.test", "outsider@nowhere.test"] {
        fail_login(&app, email).await;
    }
    let accounts = |data: &Value, field: &str| -> Vec<Value> {
        nodes(data, field).iter().filter(|e| e["tenantId"].is_null()).map(|e| e["user"]["id"].clone()).collect()
    };
    let seen = app.ok(&owner, EVENTS, json!({"first": 50})).await;
    assert_eq!(accounts(&seen, "securityEvents"), [json!(staff.user_id)], "only the staff's account events");
    let logins = nodes(&app.ok(&owner, LOGINS, json!({})).await, "loginHistory");
    let staff_accounts = [json!(owner.user_id), json!(staff.user_id)];
    assert!(logins.iter().all(|a| staff_accounts.contains(&a["userId"])), "{logins:?}");
    assert!(logins.iter().any(|a| a["userId"] == json!(staff.user_id) && a["succeeded"] == false));

    // The customer still sees her own; the other business sees none of these.
    let hers = nodes(&app.ok(&customer, MY_EVENTS, json!({"f": {"kind": "LOGIN_FAILED"}})).await, "mySecurityEvents");
    assert_eq!(hers.len(), 1);
    let elsewhere = app.ok(&other_owner, EVENTS, json!({"first": 50})).await;
    assert!(accounts(&elsewhere, "securityEvents").is_empty());
    let theirs = nodes(&app.ok(&other_owner, EVENTS, json!({"first": 50})).await, "securityEvents");
    assert!(theirs.iter().all(|e| e["user"]["id"] != json!(staff.user_id)), "{theirs:?}");
    let their_logins =
        nodes(&app.ok(&other_owner, LOGINS, json!({"f": {"userId": staff.user_id}})).await, "loginHistory");
    assert!(their_logins.is_empty());
    assert!(nodes(&app.ok(&outsider, MY_EVENTS, json!({})).await, "mySecurityEvents").len() == 1);

    // Reaching into the tenant, or reading as staff, is refused.
    let reaching_in = other_owner.in_tenant("private");
    assert_eq!(app.error_code(&reaching_in, EVENTS, json!({"first": 5})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&reaching_in, LOGINS, json!({})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&staff, EVENTS, json!({"first": 5})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&staff, LOGINS, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&Auth::anonymous(), MY_EVENTS, json!({})).await, "UNAUTHENTICATED");
}
