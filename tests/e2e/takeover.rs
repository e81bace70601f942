//! A stolen access token or API key cannot take an account over: adding or
//! removing a way to sign in needs the password, and API keys never manage
//! sign-in methods, the password or other keys.

use serde_json::json;
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};

const ENROLL: &str = "mutation($p: String!) { enrollTotp(password: $p) { secret } }";

#[tokio::test]
async fn setting_up_an_authenticator_app_needs_the_password() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@takeover.test").await;
    let (_, body) = app.post(&ana, "mutation { enrollTotp { secret } }", json!({})).await;
    assert_eq!(error_code_of(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let (_, body) = app.post(&ana, ENROLL, json!({"p": "a thief does not know it"})).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let enrolled = app.ok(&ana, ENROLL, json!({"p": PASSWORD})).await;
    assert!(enrolled["enrollTotp"]["secret"].is_string());
}

#[tokio::test]
async fn an_api_key_never_manages_how_its_owner_signs_in() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("bea@takeover.test").await;
    let created = app.ok(&ana, "mutation { createApiKey(name: \"ci\") { secret } }", json!({})).await;
    let key = Auth { token: created["createApiKey"]["secret"].as_str().map(str::to_owned), ..Auth::default() };
    app.ok(&key, "{ me { email } }", json!({})).await;

    for (operation, variables) in [
        (ENROLL, json!({"p": PASSWORD})),
        ("mutation($p: String!) { disableTotp(password: $p) }", json!({"p": PASSWORD})),
        ("mutation($p: String!) { regenerateBackupCodes(password: $p) }", json!({"p": PASSWORD})),
        (
            "mutation($p: String!) { startPasskeyRegistration(name: \"x\", password: $p) { ceremony } }",
            json!({"p": PASSWORD}),
        ),
        (
            "mutation($p: String!) { changePassword(currentPassword: $p, newPassword: \"an entirely new passphrase here\") }",
            json!({"p": PASSWORD}),
        ),
        ("mutation { createApiKey(name: \"another\") { secret } }", json!({})),
    ] {
        let (_, body) = app.post(&key, operation, variables).await;
        assert_eq!(error_code_of(&body), "FORBIDDEN", "{operation}: {body}");
    }
    let mfa = app.ok(&ana, "{ myMfa { totp } }", json!({})).await;
    assert_eq!(mfa["myMfa"]["totp"], false, "nothing was set up: {mfa}");
    app.login("bea@takeover.test").await;
}

#[tokio::test]
async fn the_owner_hears_of_every_new_way_into_the_account() {
    let app = TestApp::spawn().await;
    let cara = app.sign_up("cara@takeover.test").await;
    app.settle().await;
    app.ok(&cara, "mutation { createApiKey(name: \"laptop script\") { secret } }", json!({})).await;
    let secret =
        app.ok(&cara, ENROLL, json!({"p": PASSWORD})).await["enrollTotp"]["secret"].as_str().unwrap().to_owned();
    let code = tessera_e2e::totp(&secret, app.now());
    app.ok(&cara, "mutation($c: String!) { confirmTotp(code: $c) }", json!({"c": code})).await;
    app.deliver().await;

    let told: Vec<String> = app
        .email
        .sent()
        .into_iter()
        .filter(|e| e.to == "cara@takeover.test" && e.subject == "A new way into your account was added")
        .map(|e| e.text)
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[0].contains("an API key (“laptop script”) was added"), "{told:?}");
    assert!(told[1].contains("an authenticator app was added"), "{told:?}");
}
