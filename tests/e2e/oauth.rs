//! Partner clients over HTTP: a business's manager makes an OAuth 2.0
//! client-credentials client, the partner exchanges its id and secret at
//! `POST /oauth/token` and calls the API within the client's scopes; RFC 6749
//! errors, rotation with and without overlap, revocation, and other businesses.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

const CREATE: &str = "mutation($input: CreateOAuthClientInput!) { createOAuthClient(input: $input) { __typename clientSecret client { id clientId name scopes createdBy { email } revokedAt } } }";
const LIST: &str = "{ oauthClients { id clientId name scopes lastUsedAt revokedAt } }";
const ROTATE: &str = "mutation($id: ID!, $keep: Int) { rotateOAuthClientSecret(id: $id, keepPreviousMinutes: $keep) { clientSecret client { rotatedAt previousSecretExpiresAt } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeOAuthClient(id: $id) { revokedAt } }";
const SERVICES: &str = "{ services(first: 5) { edges { node { name } } } }";
const CREATE_SERVICE: &str =
    "mutation { createService(input: {name: \"Partner cut\", priceMinor: 1000, durationMinutes: 30}) { id } }";

/// (row id, client id, secret) of a new client of `owner`'s business.
pub(crate) async fn make_client(app: &TestApp, owner: &Auth, scopes: &[&str]) -> (String, String, String) {
    let data = app.ok(owner, CREATE, json!({ "input": { "name": "Acme widget", "scopes": scopes } })).await;
    let created = &data["createOAuthClient"];
    assert_eq!(created["__typename"], "OAuthClientWithSecret", "spelled as the `OAuthClient` it holds");
    (
        created["client"]["id"].as_str().unwrap().to_owned(),
        created["client"]["clientId"].as_str().unwrap().to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// `POST /oauth/token` with `form`; returns status, `Cache-Control`, body.
async fn token_request(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, String, Value) {
    let mut request = app.http.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response.headers().get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, cache, response.json().await.unwrap_or(Value::Null))
}

/// The token endpoint's status for `client_id` with `secret`.
async fn exchange(app: &TestApp, client_id: &str, secret: &str) -> u16 {
    let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
    token_request(app, &form, None).await.0
}

pub(crate) async fn access_token(app: &TestApp, client_id: &str, secret: &str) -> Auth {
    let (status, _, body) = token_request(
        app,
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    Auth { token: body["access_token"].as_str().map(str::to_owned), ..Auth::default() }
}

#[tokio::test]
async fn a_partner_gets_a_client_and_calls_the_api_within_its_scopes() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("acme").await;
    app.ok(&owner, CREATE_SERVICE, json!({})).await;
    let (_, client_id, secret) = make_client(&app, &owner, &["service:read"]).await;
    assert!(client_id.starts_with("tpc_") && secret.starts_with("tps_"));

    // Basic authentication (client_secret_basic), all the client's scopes.
    let (status, cache, body) =
        token_request(&app, &[("grant_type", "client_credentials")], Some((&client_id, &secret))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["scope"], "service:read");
    let partner = Auth { token: body["access_token"].as_str().map(str::to_owned), ..Auth::default() };
    assert!(partner.token.as_deref().unwrap().starts_with("tsc_"));

    // Without X-Tenant the client acts in its own business; with it, too.
    let listed = app.ok(&partner, SERVICES, json!({})).await;
    assert_eq!(listed["services"]["edges"][0]["node"]["name"], "Partner cut");
    app.ok(&partner.in_tenant("acme"), SERVICES, json!({})).await;
    // Its scopes bound it, though its maker may do far more.
    assert_eq!(app.error_code(&partner, CREATE_SERVICE, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(&partner, LIST, json!({})).await, "FORBIDDEN");
    // It never acts on its maker's account.
    assert_eq!(app.error_code(&partner, "{ me { email } }", json!({})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(&partner, "mutation { createApiKey(name: \"x\") { secret } }", json!({})).await,
        "FORBIDDEN"
    );

    // What a client does is recorded as its maker's, naming the client.
    let (_, manager_id, manager_secret) = make_client(&app, &owner, &["service:manage"]).await;
    let manager = access_token(&app, &manager_id, &manager_secret).await;
    app.ok(&manager, CREATE_SERVICE, json!({})).await;
    let log = app
        .ok(
            &owner,
            "{ auditLog(last: 1) { nodes { action actor { email } partnerClient { clientId name } } } }",
            json!({}),
        )
        .await;
    let record = &log["auditLog"]["nodes"][0];
    assert_eq!(record["actor"]["email"], "owner@acme.test", "{log}");
    assert_eq!(record["partnerClient"]["clientId"], manager_id.as_str(), "{log}");
    let log = app.ok(&owner, "{ auditLog(first: 1) { nodes { partnerClient { clientId } } } }", json!({})).await;
    assert_eq!(log["auditLog"]["nodes"][0]["partnerClient"], Value::Null, "the owner's own changes name no client");

    let clients = app.ok(&owner, LIST, json!({})).await;
    assert!(clients["oauthClients"][1]["lastUsedAt"].is_string());
    assert_eq!(clients["oauthClients"][1]["scopes"], json!(["service:read"]), "newest first");
    let events = app.ok(&owner, "{ securityEvents(last: 10) { edges { node { kind } } } }", json!({})).await;
    assert!(events.to_string().contains("OAUTH_CLIENT_CREATED"), "{events}");
}

#[tokio::test]
async fn the_token_endpoint_answers_with_rfc_6749_errors() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("errors").await;
    let (_, client_id, secret) = make_client(&app, &owner, &["service:read", "tenant:read"]).await;
    let credentials = [("client_id", client_id.as_str()), ("client_secret", secret.as_str())];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, &str)> = credentials.to_vec();
        form.extend_from_slice(extra);
        form
    };

    let (status, _, body) = token_request(&app, &with(&[("grant_type", "password")]), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, _, body) = token_request(&app, &with(&[]), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "grant_type missing");
    let (status, _, body) =
        token_request(&app, &with(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]), None)
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "repeated parameter");
    let (status, _, body) =
        token_request(&app, &with(&[("grant_type", "client_credentials")]), Some((&client_id, &secret))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "two ways at once");
    let (status, _, body) =
        token_request(&app, &with(&[("grant_type", "client_credentials"), ("scope", "service:manage")]), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, _, body) =
        token_request(&app, &with(&[("grant_type", "client_credentials"), ("scope", "tenant:read")]), None).await;
    assert_eq!((status, body["scope"].as_str()), (200, Some("tenant:read")), "fewer scopes on request");

    let wrong =
        [("grant_type", "client_credentials"), ("client_id", client_id.as_str()), ("client_secret", "tps_wrong")];
    let response = app.http.post(app.url("/oauth/token")).form(&wrong).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let unknown =
        [("grant_type", "client_credentials"), ("client_id", "tpc_nobody"), ("client_secret", secret.as_str())];
    let (status, _, body) = token_request(&app, &unknown, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .header("content-type", "application/json")
        .body(json!({ "grant_type": "client_credentials" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400, "parameters come as a form");
}

#[tokio::test]
async fn rotation_replaces_the_secret_with_an_optional_overlap_and_revocation_stops_at_once() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("rotate").await;
    let (id, client_id, first) = make_client(&app, &owner, &["service:read"]).await;

    let rotated = app.ok(&owner, ROTATE, json!({ "id": id })).await["rotateOAuthClientSecret"].clone();
    let second = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_eq!(exchange(&app, &client_id, &first).await, 401, "no overlap asked: the old secret stops");
    assert_eq!(exchange(&app, &client_id, &second).await, 200);

    let rotated = app.ok(&owner, ROTATE, json!({ "id": id, "keep": 60 })).await["rotateOAuthClientSecret"].clone();
    assert!(rotated["client"]["previousSecretExpiresAt"].is_string());
    let third = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_eq!(exchange(&app, &client_id, &second).await, 200, "within the overlap");
    assert_eq!(exchange(&app, &client_id, &third).await, 200);
    let (_, body) = app.post(&owner, ROTATE, json!({ "id": id, "keep": 100_000 })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT");
    app.clock.advance(Duration::minutes(61));
    assert_eq!(exchange(&app, &client_id, &second).await, 401, "after the overlap");
    let owner = app.login("owner@rotate.test").await.in_tenant("rotate");

    let partner = access_token(&app, &client_id, &third).await;
    app.ok(&partner, SERVICES, json!({})).await;
    app.ok(&owner, REVOKE, json!({ "id": id })).await;
    assert_eq!(app.error_code(&partner, SERVICES, json!({})).await, "UNAUTHENTICATED", "its tokens stop at once");
    assert_eq!(exchange(&app, &client_id, &third).await, 401);
    let listed = app.ok(&owner, LIST, json!({})).await;
    assert!(listed["oauthClients"][0]["revokedAt"].is_string());
}

#[tokio::test]
async fn clients_belong_to_one_business_and_never_exceed_their_maker() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("home").await;
    let (other, _) = app.owner_of("away").await;
    let (id, client_id, secret) = make_client(&app, &owner, &["service:read"]).await;

    // Another business sees and touches nothing of it.
    assert_eq!(app.ok(&other, LIST, json!({})).await["oauthClients"], json!([]));
    let (_, body) = app.post(&other, ROTATE, json!({ "id": id })).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    let (_, body) = app.post(&other, REVOKE, json!({ "id": id })).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    // Its token does not open another business, not even one its maker owns.
    let partner = access_token(&app, &client_id, &secret).await;
    assert_eq!(app.error_code(&partner.in_tenant("away"), SERVICES, json!({})).await, "NOT_FOUND");
    app.ok(
        &owner,
        "mutation { createTenant(input: {name: \"Second shop\", slug: \"home-two\", timezone: \"Europe/Madrid\"}) { id } }",
        json!({}),
    )
    .await;
    app.ok(&owner.in_tenant("home-two"), SERVICES, json!({})).await;
    assert_eq!(app.error_code(&partner.in_tenant("home-two"), SERVICES, json!({})).await, "FORBIDDEN");

    // Only permissions the maker holds can be given, and only real ones.
    let admin = app.add_member(&owner, "admin@home.test", &["admin"]).await;
    let (_, body) = app.post(&admin, CREATE, json!({ "input": { "name": "x", "scopes": ["tenant:delete"] } })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.post(&admin, CREATE, json!({ "input": { "name": "x", "scopes": ["everything"] } })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let staff = app.add_member(&owner, "staff@home.test", &["staff"]).await;
    let (_, body) = app.post(&staff, CREATE, json!({ "input": { "name": "x", "scopes": ["service:read"] } })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "managers only: {body}");

    // A client loses what its maker loses: made by someone who manages the
    // business for twenty minutes, it stops managing with them.
    let manager = app.add_member(&owner, "manager@home.test", &["staff"]).await;
    let admin_role = app.builtin_role_id(&owner, "ADMIN").await;
    let until = app.now() + Duration::minutes(20);
    app.ok(
        &owner,
        "mutation($r: ID!, $u: ID!, $e: DateTime!) { assignRole(input: {roleId: $r, userId: $u, expiresAt: $e}) { id } }",
        json!({ "r": admin_role, "u": manager.user_id, "e": until }),
    )
    .await;
    let (_, managers_client, managers_secret) = make_client(&app, &manager, &["service:manage"]).await;
    let managers_partner = access_token(&app, &managers_client, &managers_secret).await;
    app.ok(&managers_partner, CREATE_SERVICE, json!({})).await;
    app.clock.advance(Duration::minutes(30));
    let managers_partner = access_token(&app, &managers_client, &managers_secret).await;
    assert_eq!(app.error_code(&managers_partner, CREATE_SERVICE, json!({})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_clients_subscriptions_end_when_it_is_revoked() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("live").await;
    let (id, client_id, secret) = make_client(&app, &owner, &["booking:read"]).await;
    let partner = access_token(&app, &client_id, &secret).await;
    let mut ws = app.websocket("graphql-transport-ws", None).await.unwrap();
    ws.init(&partner).await;
    ws.send(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { bookingEvents { __typename } }"}}),
    )
    .await;
    app.ok(&owner, REVOKE, json!({ "id": id })).await;
    assert_eq!(ws.closed_with(std::time::Duration::from_secs(10)).await, Some(4403));
}
