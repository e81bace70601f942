//! Sign-up, login, throttling, sessions and refresh tokens.

use chrono::Duration;
use serde_json::json;
use tessera_e2e::{Auth, PASSWORD, TestApp};

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken refreshToken sessionId user { id email } } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const ME: &str = "{ me { id email } }";

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, serde_json::Value) {
    app.post(&Auth::anonymous(), LOGIN, json!({"email": email, "password": password})).await
}

#[tokio::test]
async fn a_new_user_is_signed_in_and_can_read_themselves() {
    let app = TestApp::spawn().await;
    let auth = app.sign_up("Ana@Example.com").await;
    let data = app.ok(&auth, ME, json!({})).await;
    assert_eq!(data["me"]["email"], "ana@example.com", "emails are normalised");
    assert_eq!(data["me"]["id"].as_str(), auth.user_id.as_deref());
}

#[tokio::test]
async fn an_email_is_one_account_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.sign_up("ana@example.com").await;
    let again = "mutation { signUp(input: {email: \" ANA@example.com\", password: \"another long password\", displayName: \"Ana\"}) { email } }";
    let data = app.ok(&Auth::anonymous(), again, json!({})).await;
    assert_eq!(data["signUp"]["email"], "ana@example.com", "answered as for any address");
    assert_eq!(app.sign_up_link("ana@example.com").await, None, "no second account can be made");
    let (status, body) = login(&app, "ANA@EXAMPLE.COM", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["login"]["user"]["email"], "ana@example.com");
    let (_, body) = login(&app, "ana@example.com", "another long password").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "the attempt changed nothing: {body}");
}

#[tokio::test]
async fn easily_guessed_passwords_are_refused_and_the_minimum_length_is_configurable() {
    let app = TestApp::spawn_with(|args| args.password_min_length = Some(16)).await;
    let sign_up = "mutation($password: String!) { signUp(input: {email: \"lucia.ferrari@example.com\", password: $password, displayName: \"Lucia Ferrari\"}) { email } }";
    for easy in ["password12345678", "qwertyuiopasdfgh", "1234567890123456", "lucia.ferrari@example.com"] {
        let (_, body) = app.post(&Auth::anonymous(), sign_up, json!({"password": easy})).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "password", "{easy}: {body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("too easy to guess"), "{easy}: {body}");
    }
    let (_, body) = app.post(&Auth::anonymous(), sign_up, json!({"password": "violet lantern"})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("at least 16 characters"), "{body}");
    app.ok(&Auth::anonymous(), sign_up, json!({"password": "violet lantern harbour"})).await;
}

#[tokio::test]
async fn passwords_follow_length_rules_only() {
    let app = TestApp::spawn().await;
    let sign_up = "mutation($password: String!) { signUp(input: {email: \"p@example.com\", password: $password, displayName: \"P\"}) { email } }";
    let (_, body) = app.post(&Auth::anonymous(), sign_up, json!({"password": "short"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "password");
    let long = "a passphrase of many plain lowercase words that goes on past sixty-four characters";
    assert!(long.len() > 64);
    app.ok(&Auth::anonymous(), sign_up, json!({"password": long})).await;
    let token = app.sign_up_link("p@example.com").await.expect("a sign-up link");
    app.ok(
        &Auth::anonymous(),
        "mutation($t: String!) { completeSignUp(token: $t) { accessToken } }",
        json!({"t": token}),
    )
    .await;
    let (status, _) = login(&app, "p@example.com", long).await;
    assert_eq!(status, 200, "the whole passphrase is checked, not a truncation");
    let (_, body) = login(&app, "p@example.com", &long[..64]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "a prefix is not the password");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_give_the_same_answer() {
    let app = TestApp::spawn().await;
    app.sign_up("known@example.com").await;
    let (status_wrong, wrong) = login(&app, "known@example.com", "not the password at all").await;
    let (status_unknown, unknown) = login(&app, "nobody@example.com", "not the password at all").await;
    assert_eq!(status_wrong, status_unknown);
    assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"]);
    assert_eq!(wrong["errors"][0]["extensions"], unknown["errors"][0]["extensions"]);
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn parallel_guesses_cannot_get_past_the_login_throttle() {
    let app = TestApp::spawn().await;
    app.sign_up("target@example.com").await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        async move { login(app, "target@example.com", &format!("wrong guess number {i}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let code =
        |body: &serde_json::Value| body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();
    let checked = answers.iter().filter(|(_, body)| code(body) == "UNAUTHENTICATED").count();
    let throttled = answers.iter().filter(|(_, body)| code(body) == "RATE_LIMITED").count();
    assert_eq!(checked + throttled, 20, "every guess is answered: {answers:?}");
    assert!(checked <= 6, "at most the free attempts and one more reach the password check, got {checked}");
    assert!(throttled >= 14);

    // Even the right password waits for the backoff…
    let (_, body) = login(&app, "target@example.com", PASSWORD).await;
    assert_eq!(code(&body), "RATE_LIMITED");
    assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some_and(|s| s > 0));
    // …and is accepted once it is over: backoff, not a permanent lockout.
    app.clock.advance(Duration::minutes(16));
    let (status, body) = login(&app, "target@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn failed_and_successful_logins_are_in_the_login_history() {
    let app = TestApp::spawn().await;
    app.sign_up("hist@example.com").await;
    login(&app, "hist@example.com", "definitely wrong password").await;
    let (_, body) = login(&app, "hist@example.com", PASSWORD).await;
    let auth = Auth::from_payload(&body["data"]["login"]);
    let data =
        app.ok(&auth, "{ myLoginHistory(last: 10) { edges { node { succeeded failureReason } } } }", json!({})).await;
    let attempts: Vec<_> =
        data["myLoginHistory"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    assert_eq!(attempts.len(), 3, "sign-up, failure, success: {attempts:?}");
    assert_eq!(attempts[1]["failureReason"], "invalid_credentials");
    assert_eq!(attempts[2]["succeeded"], true);
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_ends_the_session() {
    let app = TestApp::spawn().await;
    let first = app.sign_up("rot@example.com").await;
    let data = app.ok(&Auth::anonymous(), REFRESH, json!({"token": first.refresh})).await;
    let second = Auth::from_payload(&data["refreshSession"]);
    assert_ne!(second.token, first.token);
    assert_eq!(app.error_code(&first, ME, json!({})).await, "UNAUTHENTICATED", "the old access token is gone");
    app.ok(&second, ME, json!({})).await;

    // The first refresh token again, well after it was used: a thief or a
    // replay. The whole session ends.
    app.clock.advance(Duration::seconds(31));
    let code = app.error_code(&Auth::anonymous(), REFRESH, json!({"token": first.refresh})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(app.error_code(&second, ME, json!({})).await, "UNAUTHENTICATED");
    let code = app.error_code(&Auth::anonymous(), REFRESH, json!({"token": second.refresh})).await;
    assert_eq!(code, "UNAUTHENTICATED", "the newer refresh token died with the session");
}

#[tokio::test]
async fn two_parallel_refreshes_of_one_token_rotate_it_once() {
    let app = TestApp::spawn().await;
    let auth = app.sign_up("race@example.com").await;
    let anonymous = Auth::anonymous();
    let refresh = || app.post(&anonymous, REFRESH, json!({"token": auth.refresh}));
    let (a, b) = tokio::join!(refresh(), refresh());
    let tokens: Vec<&serde_json::Value> = [&a, &b].iter().map(|(_, body)| &body["data"]["refreshSession"]).collect();
    assert!(tokens[0]["accessToken"].is_string(), "{a:?} {b:?}");
    assert_eq!(tokens[0], tokens[1], "one rotation, whose tokens both get: {a:?} {b:?}");
    let rows = app.rows("SELECT COUNT(*) FROM refresh_tokens").await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), 2, "the first token and one successor");
}

#[tokio::test]
async fn logout_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let auth = app.sign_up("bye@example.com").await;
    assert_eq!(app.ok(&auth, "mutation { logout }", json!({})).await["logout"], true);
    let (status, body) = app.post(&auth, ME, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_user_lists_and_revokes_their_own_sessions_but_not_others() {
    let app = TestApp::spawn().await;
    let laptop = app.sign_up("multi@example.com").await;
    let (_, body) = login(&app, "multi@example.com", PASSWORD).await;
    let phone = Auth::from_payload(&body["data"]["login"]);
    let data = app.ok(&laptop, "{ mySessions { edges { node { id current } } } }", json!({})).await;
    assert_eq!(data["mySessions"]["edges"].as_array().unwrap().len(), 2);

    let revoke = "mutation($id: ID!) { revokeSession(id: $id) { id revokedReason } }";
    let data = app.ok(&laptop, revoke, json!({"id": phone.session_id})).await;
    assert_eq!(data["revokeSession"]["revokedReason"], "revoked_by_user");
    assert_eq!(app.error_code(&phone, ME, json!({})).await, "UNAUTHENTICATED");

    let stranger = app.sign_up("stranger@example.com").await;
    let code = app.error_code(&stranger, revoke, json!({"id": laptop.session_id})).await;
    assert_eq!(code, "NOT_FOUND", "another user's session is invisible");
    app.ok(&laptop, ME, json!({})).await;
}

#[tokio::test]
async fn an_unused_session_expires_and_a_used_one_is_extended() {
    let app = TestApp::spawn().await;
    let idle = app.sign_up("idle@example.com").await;
    let busy = app.sign_up("busy@example.com").await;
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(30));
        app.ok(&busy, ME, json!({})).await;
    }
    assert_eq!(app.error_code(&idle, ME, json!({})).await, "UNAUTHENTICATED");
    app.ok(&busy, ME, json!({})).await;
}

#[tokio::test]
async fn a_malformed_or_unknown_bearer_token_is_refused_with_401() {
    let app = TestApp::spawn().await;
    for token in ["tsa_not-a-real-token", "garbage"] {
        let auth = Auth { token: Some(token.into()), ..Auth::default() };
        let (status, body) = app.post(&auth, "{ __typename }", json!({})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_refuses_a_recent_one() {
    let app = TestApp::spawn_with(|args| args.password_history = Some(2)).await;
    let here = app.sign_up("mover@example.com").await;
    let phone = app.login("mover@example.com").await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let attempt = |current: &str, new: &str| json!({"c": current, "n": new});
    let (_, body) = app.post(&here, change, attempt("not my password at all", "violet lantern harbour")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "currentPassword", "{body}");
    let (_, body) = app.post(&here, change, attempt(PASSWORD, PASSWORD)).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "newPassword", "the current one is a recent one: {body}");
    let (_, body) = app.post(&here, change, attempt(PASSWORD, "password12345678")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "password", "the policy holds: {body}");
    assert_eq!(app.ok(&here, ME, json!({})).await["me"]["email"], "mover@example.com", "refusals change nothing");

    let ended = app.ok(&here, change, attempt(PASSWORD, "violet lantern harbour")).await;
    assert_eq!(ended["changePassword"], 1, "the phone's session");
    assert_eq!(app.error_code(&phone, ME, json!({})).await, "UNAUTHENTICATED");
    app.ok(&here, ME, json!({})).await;
    let (status, body) = login(&app, "mover@example.com", PASSWORD).await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (200, Some("UNAUTHENTICATED")));
    let (_, body) = login(&app, "mover@example.com", "violet lantern harbour").await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");

    // History of two: the first password is still recent after one more change,
    // and free again after two.
    let second = app.ok(&here, change, attempt("violet lantern harbour", "amber meadow compass")).await;
    assert_eq!(second["changePassword"], 1, "the session just opened by login");
    let (_, body) = app.post(&here, change, attempt("amber meadow compass", "violet lantern harbour")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "newPassword", "{body}");
    app.ok(&here, change, attempt("amber meadow compass", "copper river evening")).await;
    app.ok(&here, change, attempt("copper river evening", PASSWORD)).await;
    let events = app
        .ok(
            &here,
            "{ mySecurityEvents(first: 10, filter: {kind: PASSWORD_CHANGED}) { edges { node { details } } } }",
            json!({}),
        )
        .await;
    assert_eq!(events["mySecurityEvents"]["edges"].as_array().unwrap().len(), 4);

    // Guessing the current password is throttled like a login.
    let mut codes = Vec::new();
    for guess in 0..7 {
        let (_, body) = app.post(&here, change, attempt(&format!("wrong guess {guess}"), "amber meadow compass")).await;
        codes.push(body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(codes.iter().filter(|c| *c == "BAD_USER_INPUT").count(), 6, "{codes:?}");
    assert_eq!(codes.last().map(String::as_str), Some("RATE_LIMITED"), "{codes:?}");
}
