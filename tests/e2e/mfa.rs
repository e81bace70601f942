//! Second factors over HTTP: setting up an authenticator app, the login
//! challenge, backup codes, replay, throttling and turning it off. Codes are
//! computed here from RFC 6238 itself, not with the server's library.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, base32_decode, error_code_of, totp};

const ENROLL: &str = "mutation($p: String!) { enrollTotp(password: $p) { secret otpauthUri } }";
const CONFIRM: &str = "mutation($code: String!) { confirmTotp(code: $code) }";
const MY_MFA: &str = "{ myMfa { totp backupCodesLeft } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken refreshToken secondFactor { challenge expiresAt methods } } }";
const COMPLETE: &str = "mutation($challenge: String!, $code: String!) { completeLogin(challenge: $challenge, code: $code) { accessToken refreshToken user { email } } }";
const DISABLE: &str = "mutation($password: String!) { disableTotp(password: $password) }";
const REGENERATE: &str = "mutation($password: String!) { regenerateBackupCodes(password: $password) }";
const EVENTS: &str = "{ mySecurityEvents(last: 20) { edges { node { kind } } } }";

/// A code that no step within reach of `at` has (so it is wrong, not unlucky).
fn wrong(secret: &str, at: DateTime<Utc>) -> String {
    let near: Vec<String> = (-1..=1).map(|step| totp(secret, at + Duration::seconds(30 * step))).collect();
    (0..).map(|n| format!("{:06}", n)).find(|c| !near.contains(c)).unwrap()
}

/// Signs up `email`, sets up an authenticator app and returns the session, the
/// secret and the backup codes.
async fn with_authenticator(app: &TestApp, email: &str) -> (Auth, String, Vec<String>) {
    let auth = app.sign_up(email).await;
    let enrollment = app.ok(&auth, ENROLL, json!({"p": PASSWORD})).await["enrollTotp"].clone();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let codes = app.ok(&auth, CONFIRM, json!({ "code": totp(&secret, app.now()) })).await["confirmTotp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (auth, secret, codes)
}

async fn challenge(app: &TestApp, email: &str) -> String {
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(data["login"]["accessToken"], Value::Null, "the password alone signs nobody in: {data}");
    data["login"]["secondFactor"]["challenge"].as_str().unwrap().to_owned()
}

async fn complete(app: &TestApp, challenge: &str, code: &str) -> Value {
    app.post(&Auth::anonymous(), COMPLETE, json!({ "challenge": challenge, "code": code })).await.1
}

#[tokio::test]
async fn an_authenticator_app_is_confirmed_then_asked_for_at_every_login_with_each_code_once() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@mfa.test").await;
    assert_eq!(app.ok(&ana, MY_MFA, json!({})).await["myMfa"], json!({ "totp": false, "backupCodesLeft": 0 }));
    let enrollment = app.ok(&ana, ENROLL, json!({"p": PASSWORD})).await["enrollTotp"].clone();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    assert_eq!(base32_decode(&secret).len(), 20, "160-bit secret");
    let uri = enrollment["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tessera:ana%40mfa.test?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Tessera"), "{uri}");

    // Until confirmed, nothing changes at login.
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@mfa.test", "password": PASSWORD })).await;
    assert!(data["login"]["accessToken"].is_string());

    let now_code = totp(&secret, app.now());
    let (_, body) = app.post(&ana, CONFIRM, json!({ "code": wrong(&secret, app.now()) })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let codes = app.ok(&ana, CONFIRM, json!({ "code": now_code })).await["confirmTotp"].clone();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    assert_eq!(app.ok(&ana, MY_MFA, json!({})).await["myMfa"], json!({ "totp": true, "backupCodesLeft": 10 }));
    let (_, body) = app.post(&ana, ENROLL, json!({"p": PASSWORD})).await;
    assert_eq!(error_code_of(&body), "CONFLICT", "one app at a time: {body}");

    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@mfa.test", "password": PASSWORD })).await;
    assert_eq!(data["login"]["accessToken"], Value::Null);
    assert_eq!(data["login"]["secondFactor"]["methods"], json!(["TOTP", "BACKUP_CODE"]));
    let first = data["login"]["secondFactor"]["challenge"].as_str().unwrap().to_owned();

    // The code that confirmed the app was used: it does not open a session.
    let body = complete(&app, &first, &now_code).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "replayed code: {body}");
    app.clock.advance(Duration::seconds(30));
    let next = totp(&secret, app.now());
    let body = complete(&app, &first, &next).await;
    assert_eq!(body["data"]["completeLogin"]["user"]["email"], "ana@mfa.test", "{body}");
    let signed_in =
        Auth { token: body["data"]["completeLogin"]["accessToken"].as_str().map(str::to_owned), ..Auth::anonymous() };
    assert_eq!(app.ok(&signed_in, "{ me { email } }", json!({})).await["me"]["email"], "ana@mfa.test");

    // A completed challenge is spent; the same code is refused on a new one.
    let body = complete(&app, &first, &next).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let second = challenge(&app, "ana@mfa.test").await;
    let body = complete(&app, &second, &next).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "the same code twice: {body}");

    // One step of drift either way is fine; more is not.
    app.clock.advance(Duration::seconds(60));
    let late_by_one = totp(&secret, app.now() - Duration::seconds(30));
    let body = complete(&app, &second, &late_by_one).await;
    assert!(body["data"]["completeLogin"]["accessToken"].is_string(), "{body}");
    let third = challenge(&app, "ana@mfa.test").await;
    let body = complete(&app, &third, &totp(&secret, app.now() + Duration::seconds(90))).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "three steps ahead: {body}");

    let events = app.ok(&signed_in, EVENTS, json!({})).await;
    assert!(events.to_string().contains("MFA_ENABLED"), "{events}");
}

#[tokio::test]
async fn backup_codes_work_once_and_new_ones_replace_them() {
    let app = TestApp::spawn().await;
    let (ana, _, codes) = with_authenticator(&app, "ana@backup.test").await;
    let body = complete(&app, &challenge(&app, "ana@backup.test").await, &codes[0]).await;
    assert!(body["data"]["completeLogin"]["accessToken"].is_string(), "{body}");
    let body = complete(&app, &challenge(&app, "ana@backup.test").await, &codes[0]).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "a backup code works once: {body}");
    assert_eq!(app.ok(&ana, MY_MFA, json!({})).await["myMfa"]["backupCodesLeft"], 9);
    assert!(app.ok(&ana, EVENTS, json!({})).await.to_string().contains("BACKUP_CODE_USED"));

    let (_, body) = app.post(&ana, REGENERATE, json!({ "password": "not my password at all" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "password");
    let fresh = app.ok(&ana, REGENERATE, json!({ "password": PASSWORD })).await["regenerateBackupCodes"].clone();
    let fresh: Vec<String> = fresh.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(fresh.len(), 10);
    let body = complete(&app, &challenge(&app, "ana@backup.test").await, &codes[1]).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "old codes are gone: {body}");
    // Typed loosely: lower case, spaces instead of dashes.
    let typed = fresh[0].to_lowercase().replace('-', " ");
    let body = complete(&app, &challenge(&app, "ana@backup.test").await, &typed).await;
    assert!(body["data"]["completeLogin"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn wrong_codes_are_throttled_with_the_password_and_a_challenge_dies_after_five() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = with_authenticator(&app, "ana@guess.test").await;
    app.clock.advance(Duration::seconds(30));
    let open = challenge(&app, "ana@guess.test").await;
    let right = totp(&secret, app.now());
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(error_code_of(&complete(&app, &open, &wrong(&secret, app.now())).await).to_owned());
    }
    assert!(codes.iter().all(|c| c == "UNAUTHENTICATED" || c == "RATE_LIMITED"), "{codes:?}");
    let body = complete(&app, &open, &right).await;
    assert!(
        matches!(error_code_of(&body), "UNAUTHENTICATED" | "RATE_LIMITED"),
        "a challenge that took five wrong codes is dead, even for the right one: {body}"
    );
    // Logging in again with the password does not buy more guesses.
    let (_, body) =
        app.post(&Auth::anonymous(), LOGIN, json!({ "email": "ana@guess.test", "password": PASSWORD })).await;
    assert_eq!(error_code_of(&body), "RATE_LIMITED", "{body}");

    // Expired challenges die too.
    app.clock.advance(Duration::hours(2));
    let open = challenge(&app, "ana@guess.test").await;
    app.clock.advance(Duration::minutes(6));
    let body = complete(&app, &open, &totp(&secret, app.now())).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "expired after five minutes: {body}");
}

#[tokio::test]
async fn turning_the_app_off_needs_the_password_and_logins_stop_asking() {
    let app = TestApp::spawn().await;
    let (ana, _, _) = with_authenticator(&app, "ana@off.test").await;
    let (_, body) = app.post(&ana, DISABLE, json!({ "password": "not my password at all" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.ok(&ana, DISABLE, json!({ "password": PASSWORD })).await["disableTotp"], true);
    assert_eq!(app.ok(&ana, MY_MFA, json!({})).await["myMfa"], json!({ "totp": false, "backupCodesLeft": 0 }));
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@off.test", "password": PASSWORD })).await;
    assert!(data["login"]["accessToken"].is_string(), "{data}");
    let events = app.ok(&ana, EVENTS, json!({})).await.to_string();
    assert!(events.contains("MFA_ENABLED") && events.contains("MFA_DISABLED"), "{events}");
    assert_eq!(app.ok(&ana, DISABLE, json!({ "password": PASSWORD })).await["disableTotp"], false);
}

#[tokio::test]
async fn a_rotated_refresh_token_reused_after_a_second_factor_login_ends_the_session() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = with_authenticator(&app, "ana@refresh-mfa.test").await;
    app.clock.advance(Duration::seconds(30));
    let body = complete(&app, &challenge(&app, "ana@refresh-mfa.test").await, &totp(&secret, app.now())).await;
    let old_refresh = body["data"]["completeLogin"]["refreshToken"].as_str().unwrap().to_owned();
    let refresh = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
    let rotated = app.ok(&Auth::anonymous(), refresh, json!({ "token": old_refresh })).await;
    let access = rotated["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
    // Past the window in which a repeat gets the same tokens.
    app.clock.advance(Duration::seconds(31));
    let (_, body) = app.post(&Auth::anonymous(), refresh, json!({ "token": old_refresh })).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let holder = Auth { token: Some(access), ..Auth::anonymous() };
    let (_, body) = app.post(&holder, "{ me { email } }", json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "the whole session ended: {body}");
}

#[tokio::test]
async fn one_accounts_codes_do_not_complete_anothers_login() {
    let app = TestApp::spawn().await;
    let (_, _, ana_codes) = with_authenticator(&app, "ana@two.test").await;
    let (_, bob_secret, bob_codes) = with_authenticator(&app, "bob@two.test").await;
    app.clock.advance(Duration::seconds(30));
    let anas = challenge(&app, "ana@two.test").await;
    for other in [totp(&bob_secret, app.now()), bob_codes[0].clone()] {
        let body = complete(&app, &anas, &other).await;
        assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{other}: {body}");
    }
    let body = complete(&app, &anas, &ana_codes[0]).await;
    assert_eq!(body["data"]["completeLogin"]["user"]["email"], "ana@two.test", "{body}");
}
