//! What an SPA sends after a while (issue 15, item 1): a stale token or a tenant
//! header never stops signing in, up or refreshing, a refused token says so in
//! the way client libraries act on, and several refreshes of one token at once
//! (requests failing together) get the same new tokens instead of a sign-out.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const ME: &str = "{ me { email } }";

/// `auth`'s credentials with a token that no longer works.
fn stale(auth: &Auth) -> Auth {
    Auth { token: auth.token.clone(), tenant: Some("no-such-business".into()), ..Auth::default() }
}

#[tokio::test]
async fn a_stale_token_or_a_tenant_header_never_stops_signing_in_up_or_refreshing() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@stale.test").await;
    app.ok(&ana, "mutation { logout }", json!({})).await;
    let left_over = stale(&ana);
    let garbage = Auth { token: Some("tsa_not-a-token".into()), ..Auth::default() };
    let tenant_only = Auth { tenant: Some("some-salon".into()), ..Auth::default() };

    for auth in [&left_over, &garbage, &tenant_only] {
        let (status, body) = app.post(auth, LOGIN, json!({ "email": "ana@stale.test", "password": PASSWORD })).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }
    let fresh = app.login("ana@stale.test").await;
    let (_, body) = app.post(&left_over, REFRESH, json!({ "token": fresh.refresh })).await;
    assert!(body["data"]["refreshSession"]["accessToken"].is_string(), "{body}");
    let (_, body) = app.post(&garbage, "mutation { requestPasswordReset(email: \"ana@stale.test\") }", json!({})).await;
    assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    let sign_up = "mutation { signUp(input: {email: \"bo@stale.test\", password: \"a long enough passphrase\", displayName: \"Bo\"}) { email } }";
    let (_, body) = app.post(&left_over, sign_up, json!({})).await;
    assert_eq!(body["data"]["signUp"]["email"], "bo@stale.test", "{body}");
    let (_, body) = app.post(&left_over, "{ permissionCatalogue { name } __typename }", json!({})).await;
    assert!(body["data"]["permissionCatalogue"].is_array(), "{body}");
}

#[tokio::test]
async fn a_refused_token_answers_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@challenge.test").await;
    app.ok(&ana, "mutation { logout }", json!({})).await;
    for query in [ME, "{ me { email } permissionCatalogue { name } }"] {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .bearer_auth(ana.token.as_deref().unwrap())
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{query}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    }
    // No token at all where one is needed: a challenge without an error.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .header("x-tenant", "some-salon")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"tessera\"");
}

#[tokio::test]
async fn refreshes_of_one_token_within_seconds_get_the_same_tokens_and_later_ones_end_the_session() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@repeat.test").await;
    let anonymous = Auth::anonymous();
    let refresh = || app.post(&anonymous, REFRESH, json!({ "token": ana.refresh }));
    let (a, b, c) = tokio::join!(refresh(), refresh(), refresh());
    let successors: Vec<&Value> = [&a, &b, &c].iter().map(|(_, body)| &body["data"]["refreshSession"]).collect();
    assert!(successors[0]["accessToken"].is_string(), "{a:?}");
    assert!(successors.iter().all(|s| *s == successors[0]), "one successor for all: {successors:?}");
    let next = Auth::from_payload(successors[0]);
    app.ok(&next, ME, json!({})).await;

    // Still the same a little later, while the successor is unused.
    app.clock.advance(Duration::seconds(20));
    let (_, again) = refresh().await;
    assert_eq!(&again["data"]["refreshSession"], successors[0], "{again}");

    // Past the window, a repeat is a stolen token: the session ends.
    app.clock.advance(Duration::seconds(11));
    let (_, late) = refresh().await;
    assert_eq!(error_code_of(&late), "UNAUTHENTICATED", "{late}");
    assert_eq!(app.error_code(&next, ME, json!({})).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_repeat_after_the_successor_was_used_ends_the_session_even_within_the_window() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@moved-on.test").await;
    let second = app.ok(&Auth::anonymous(), REFRESH, json!({ "token": ana.refresh })).await;
    let second = Auth::from_payload(&second["refreshSession"]);
    let third = app.ok(&Auth::anonymous(), REFRESH, json!({ "token": second.refresh })).await;
    let third = Auth::from_payload(&third["refreshSession"]);
    let (_, body) = app.post(&Auth::anonymous(), REFRESH, json!({ "token": ana.refresh })).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(app.error_code(&third, ME, json!({})).await, "UNAUTHENTICATED", "the session ended");
}

/// The README's code for Apollo Client and urql, run in Node against the
/// gateway: three queries at once with an expired access token are answered
/// after one refresh (or repeats of it inside the window), without signing out.
#[tokio::test]
async fn the_readmes_apollo_and_urql_set_ups_refresh_and_retry() {
    for client in ["apollo", "urql"] {
        let app = TestApp::spawn().await;
        let ana = app.sign_up(&format!("ana@{client}.test")).await;
        // An hour idle: the access token has expired; the refresh token has not.
        app.clock.advance(Duration::minutes(61));
        assert_eq!(app.error_code(&ana, ME, json!({})).await, "UNAUTHENTICATED");
        let (token, refresh) = (ana.token.clone().unwrap(), ana.refresh.clone().unwrap());
        let Some(report) =
            tessera_e2e::run_node("refresh_clients.mjs", &[&app.url("/graphql"), &token, &refresh, client]).await
        else {
            return;
        };
        let result: Value = serde_json::from_str(report.trim()).expect("the script's JSON report");
        let email = format!("ana@{client}.test");
        assert_eq!(result["emails"], json!([email, email, email]), "{client}: {report}");
        let fresh = Auth { token: result["accessToken"].as_str().map(str::to_owned), ..Auth::default() };
        app.ok(&fresh, ME, json!({})).await;
    }
}

/// The README shows the code the test above runs, word for word.
#[test]
fn the_readme_shows_the_refresh_code_that_is_tested() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("js/refresh_clients.mjs")).unwrap();
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let mut rest = script.as_str();
    let mut shown = 0;
    while let Some((_, after)) = rest.split_once("// README: ") {
        let (block, tail) = after.split_once("// end README").expect("every README block ends");
        let code = block.split_once('\n').expect("a block has a name line").1;
        assert!(readme.contains(code.trim()), "README.md does not show this block of refresh_clients.mjs:\n{code}");
        shown += 1;
        rest = tail;
    }
    assert_eq!(shown, 3);
}
