//! Passkeys over HTTP, with the real WebAuthn ceremonies run by a software
//! authenticator (webauthn-authenticator-rs `SoftPasskey`): adding, listing,
//! renaming and removing them, signing in without a password, completing a
//! password login, single-use and expiring ceremonies, counter regression,
//! decoy options, and other people's passkeys.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of, totp};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const START_REGISTRATION: &str = "mutation($name: String!, $password: String!) { startPasskeyRegistration(name: $name, password: $password) { ceremony options expiresAt } }";
const FINISH_REGISTRATION: &str = "mutation($ceremony: String!, $credential: JSON!) { finishPasskeyRegistration(ceremony: $ceremony, credential: $credential) { backupCodes passkey { id name possiblyCloned lastUsedAt } } }";
const MY_PASSKEYS: &str = "{ myPasskeys { id name possiblyCloned possiblyClonedAt lastUsedAt } }";
const RENAME: &str = "mutation($id: ID!, $name: String!) { renamePasskey(id: $id, name: $name) { id name } }";
const REMOVE: &str = "mutation($id: ID!, $password: String!) { removePasskey(id: $id, password: $password) { id } }";
const START_LOGIN: &str =
    "mutation($email: String!) { startPasskeyLogin(email: $email) { ceremony options expiresAt } }";
const FINISH_LOGIN: &str = "mutation($ceremony: String!, $credential: JSON!) { finishPasskeyLogin(ceremony: $ceremony, credential: $credential) { accessToken refreshToken sessionId user { id email } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken secondFactor { challenge methods passkeyOptions } } }";
const COMPLETE_WITH_PASSKEY: &str = "mutation($challenge: String!, $credential: JSON!) { completeLoginWithPasskey(challenge: $challenge, credential: $credential) { accessToken user { email } } }";
const COMPLETE: &str = "mutation($challenge: String!, $code: String!) { completeLogin(challenge: $challenge, code: $code) { accessToken } }";
const MY_MFA: &str = "{ myMfa { totp backupCodesLeft passkeys } }";
const EVENTS: &str = "{ mySecurityEvents(last: 20) { edges { node { kind severity } } } }";

/// A device with a software passkey, used from the gateway's own origin (a
/// loopback gateway's passkeys belong to `localhost`).
pub(crate) struct Device {
    authenticator: SoftPasskey,
    origin: Url,
}

impl Device {
    pub(crate) fn new() -> Self {
        // `true`: it claims the user verification (PIN, biometric) a real device does.
        Self { authenticator: SoftPasskey::new(true), origin: Url::parse("http://localhost:8080").unwrap() }
    }

    /// `navigator.credentials.create(options)`, as `credential.toJSON()`.
    fn create(&mut self, options: &Value) -> Value {
        let options: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        json!(self.authenticator.do_registration(self.origin.clone(), options).unwrap())
    }

    /// `navigator.credentials.get(options)`, as `credential.toJSON()`.
    fn get(&mut self, options: &Value) -> Value {
        let options: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        json!(self.authenticator.do_authentication(self.origin.clone(), options).unwrap())
    }
}

/// Adds a passkey named `name` on `device` to `auth`'s account; returns the
/// `finishPasskeyRegistration` answer.
pub(crate) async fn add_passkey(app: &TestApp, auth: &Auth, device: &mut Device, name: &str) -> Value {
    let started = app.ok(auth, START_REGISTRATION, json!({ "name": name, "password": PASSWORD })).await;
    let started = &started["startPasskeyRegistration"];
    let credential = device.create(&started["options"]);
    let finished =
        app.ok(auth, FINISH_REGISTRATION, json!({ "ceremony": started["ceremony"], "credential": credential })).await;
    finished["finishPasskeyRegistration"].clone()
}

/// Starts a passkey sign-in for `email`: (ceremony, options).
async fn start_login(app: &TestApp, email: &str) -> (String, Value) {
    let data = app.ok(&Auth::anonymous(), START_LOGIN, json!({ "email": email })).await;
    (data["startPasskeyLogin"]["ceremony"].as_str().unwrap().to_owned(), data["startPasskeyLogin"]["options"].clone())
}

async fn finish_login(app: &TestApp, ceremony: &str, credential: &Value) -> Value {
    app.post(&Auth::anonymous(), FINISH_LOGIN, json!({ "ceremony": ceremony, "credential": credential })).await.1
}

fn kinds(events: &Value) -> Vec<String> {
    events["mySecurityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_passkey_is_added_with_the_password_then_signs_in_without_one() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@passkeys.test").await;
    let mut phone = Device::new();

    let (_, body) = app.post(&ana, START_REGISTRATION, json!({ "name": "Phone", "password": "not my password" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "the password is checked again: {body}");
    let (_, body) = app.post(&ana, START_REGISTRATION, json!({ "name": " ", "password": PASSWORD })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");

    let started = app.ok(&ana, START_REGISTRATION, json!({ "name": "Phone", "password": PASSWORD })).await;
    let started = &started["startPasskeyRegistration"];
    let options = &started["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    let credential = phone.create(&started["options"]);
    let finish = json!({ "ceremony": started["ceremony"], "credential": credential });
    let added = app.ok(&ana, FINISH_REGISTRATION, finish.clone()).await["finishPasskeyRegistration"].clone();
    assert_eq!(added["passkey"]["name"], "Phone");
    assert_eq!(added["backupCodes"].as_array().unwrap().len(), 10, "the first second factor brings backup codes");
    let (_, body) = app.post(&ana, FINISH_REGISTRATION, finish).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "a ceremony finishes once: {body}");
    assert_eq!(
        app.ok(&ana, MY_MFA, json!({})).await["myMfa"],
        json!({ "totp": false, "backupCodesLeft": 10, "passkeys": 1 })
    );

    let id = added["passkey"]["id"].clone();
    let renamed = app.ok(&ana, RENAME, json!({ "id": id, "name": "Work phone" })).await;
    assert_eq!(renamed["renamePasskey"]["name"], "Work phone");

    // Signing in: the options name the passkey; the device answers.
    let (ceremony, options) = start_login(&app, "Ana@Passkeys.test").await;
    assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let answer = phone.get(&options);
    let body = finish_login(&app, &ceremony, &answer).await;
    let session = &body["data"]["finishPasskeyLogin"];
    assert_eq!(session["user"]["email"], "ana@passkeys.test", "{body}");
    let signed_in = Auth::from_payload(session);
    let me = app.ok(&signed_in, "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "ana@passkeys.test");
    let body = finish_login(&app, &ceremony, &answer).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "a sign-in ceremony is used once: {body}");

    let listed = app.ok(&ana, MY_PASSKEYS, json!({})).await;
    assert_eq!(listed["myPasskeys"][0]["name"], "Work phone");
    assert!(listed["myPasskeys"][0]["lastUsedAt"].is_string());
    assert_eq!(listed["myPasskeys"][0]["possiblyCloned"], false);

    // The same authenticator cannot be added twice.
    let again = app.ok(&ana, START_REGISTRATION, json!({ "name": "Again", "password": PASSWORD })).await;
    let excluded = &again["startPasskeyRegistration"]["options"]["publicKey"]["excludeCredentials"];
    assert_eq!(excluded.as_array().unwrap().len(), 1, "{excluded}");

    let events = kinds(&app.ok(&ana, EVENTS, json!({})).await);
    assert!(events.contains(&"PASSKEY_ADDED".to_owned()), "{events:?}");
}

#[tokio::test]
async fn a_password_login_is_completed_with_a_passkey_once_per_challenge() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@second.test").await;
    let mut phone = Device::new();
    let added = add_passkey(&app, &ana, &mut phone, "Phone").await;
    let codes = added["backupCodes"].clone();

    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@second.test", "password": PASSWORD })).await;
    assert_eq!(data["login"]["accessToken"], Value::Null, "the password alone signs nobody in: {data}");
    let second = &data["login"]["secondFactor"];
    assert_eq!(second["methods"], json!(["PASSKEY", "BACKUP_CODE"]));
    let challenge = second["challenge"].as_str().unwrap().to_owned();
    let answer = phone.get(&second["passkeyOptions"]);
    let done = app
        .ok(&Auth::anonymous(), COMPLETE_WITH_PASSKEY, json!({ "challenge": challenge, "credential": answer }))
        .await;
    assert_eq!(done["completeLoginWithPasskey"]["user"]["email"], "ana@second.test");
    let (_, body) = app
        .post(&Auth::anonymous(), COMPLETE_WITH_PASSKEY, json!({ "challenge": challenge, "credential": answer }))
        .await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "the challenge is spent: {body}");

    // An answer from another device fails and costs the passkey step; a backup
    // code still completes the same challenge.
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@second.test", "password": PASSWORD })).await;
    let second = &data["login"]["secondFactor"];
    let challenge = second["challenge"].as_str().unwrap().to_owned();
    let mut stranger = Device::new();
    let strangers_options = {
        let eve = app.sign_up("eve@second.test").await;
        add_passkey(&app, &eve, &mut stranger, "Eve's").await;
        start_login(&app, "eve@second.test").await.1
    };
    // Eve's device signs Eve's challenge; sent for Ana's sign-in it must fail.
    let forged = stranger.get(&strangers_options);
    let (_, body) = app
        .post(&Auth::anonymous(), COMPLETE_WITH_PASSKEY, json!({ "challenge": challenge, "credential": forged }))
        .await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let answer = phone.get(&second["passkeyOptions"]);
    let (_, body) = app
        .post(&Auth::anonymous(), COMPLETE_WITH_PASSKEY, json!({ "challenge": challenge, "credential": answer }))
        .await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "one passkey try per challenge: {body}");
    let done = app.ok(&Auth::anonymous(), COMPLETE, json!({ "challenge": challenge, "code": codes[0] })).await;
    assert!(done["completeLogin"]["accessToken"].is_string());
}

#[tokio::test]
async fn a_passkey_whose_counter_goes_backwards_is_refused_and_flagged() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@cloned.test").await;
    let mut phone = Device::new();
    add_passkey(&app, &ana, &mut phone, "Phone").await;

    // Two sign-ins signed in order (counters 1 and 2) and presented in reverse:
    // the older signature is what a copy of the key would present.
    let (first, first_options) = start_login(&app, "ana@cloned.test").await;
    let (second, second_options) = start_login(&app, "ana@cloned.test").await;
    let older = phone.get(&first_options);
    let newer = phone.get(&second_options);
    let body = finish_login(&app, &second, &newer).await;
    assert!(body["data"]["finishPasskeyLogin"]["accessToken"].is_string(), "{body}");
    let body = finish_login(&app, &first, &older).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("copied"), "{message}");

    let listed = app.ok(&ana, MY_PASSKEYS, json!({})).await;
    assert_eq!(listed["myPasskeys"][0]["possiblyCloned"], true, "{listed}");
    assert!(listed["myPasskeys"][0]["possiblyClonedAt"].is_string());
    let events = app.ok(&ana, EVENTS, json!({})).await;
    let flagged = events["mySecurityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["kind"] == "PASSKEY_POSSIBLY_CLONED")
        .cloned();
    assert_eq!(flagged.map(|e| e["node"]["severity"].clone()), Some(json!("HIGH")), "{events}");

    // The flagged passkey signs nobody in any more, not even with a fresh,
    // higher counter; the options no longer name it.
    let (ceremony, options) = start_login(&app, "ana@cloned.test").await;
    let credential_id = options["publicKey"]["allowCredentials"][0]["id"].clone();
    let registered = app.ok(&ana, MY_MFA, json!({})).await;
    assert_eq!(registered["myMfa"]["passkeys"], 0);
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@cloned.test", "password": PASSWORD })).await;
    assert_eq!(data["login"]["secondFactor"], Value::Null, "no usable second factor is left");
    assert!(data["login"]["accessToken"].is_string());
    assert_ne!(credential_id, Value::Null, "decoy options still name a credential");
    let body = finish_login(&app, &ceremony, &newer).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn passkey_sign_in_options_do_not_tell_who_has_an_account_or_a_passkey() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@decoy.test").await;
    let mut phone = Device::new();
    add_passkey(&app, &ana, &mut phone, "Phone").await;
    app.sign_up("bob@decoy.test").await;

    let (_, real) = start_login(&app, "ana@decoy.test").await;
    let (_, no_passkey) = start_login(&app, "bob@decoy.test").await;
    let (_, no_account) = start_login(&app, "nobody@decoy.test").await;
    let (_, no_account_again) = start_login(&app, "NOBODY@decoy.test").await;
    let shape = |options: &Value| {
        let mut keys: Vec<String> = options["publicKey"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let allowed = &options["publicKey"]["allowCredentials"];
        (keys, allowed.as_array().unwrap().len(), allowed[0]["type"].clone(), options["publicKey"]["rpId"].clone())
    };
    assert_eq!(shape(&real), shape(&no_passkey), "{real} vs {no_passkey}");
    assert_eq!(shape(&real), shape(&no_account));
    let id = |options: &Value| options["publicKey"]["allowCredentials"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id(&no_account), id(&no_account_again), "the same address gets the same decoy");
    assert_ne!(id(&no_account), id(&no_passkey));
    assert_ne!(real["publicKey"]["challenge"], no_account["publicKey"]["challenge"]);

    // Nothing signs in through a decoy, not even a real passkey's answer.
    let (ceremony, _) = start_login(&app, "nobody@decoy.test").await;
    let (_, options) = start_login(&app, "ana@decoy.test").await;
    let body = finish_login(&app, &ceremony, &phone.get(&options)).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let (_, body) = app.post(&Auth::anonymous(), START_LOGIN, json!({ "email": "not an address" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn ceremonies_expire_and_a_parallel_finish_has_one_winner() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@ceremony.test").await;
    let mut phone = Device::new();
    add_passkey(&app, &ana, &mut phone, "Phone").await;

    let (ceremony, options) = start_login(&app, "ana@ceremony.test").await;
    let answer = phone.get(&options);
    app.clock.advance(Duration::minutes(6));
    let body = finish_login(&app, &ceremony, &answer).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "expired: {body}");

    let (ceremony, options) = start_login(&app, "ana@ceremony.test").await;
    let answer = phone.get(&options);
    let attempts = (0..4).map(|_| finish_login(&app, &ceremony, &answer));
    let bodies = futures_util::future::join_all(attempts).await;
    let winners = bodies.iter().filter(|b| b["data"]["finishPasskeyLogin"]["accessToken"].is_string()).count();
    assert_eq!(winners, 1, "{bodies:?}");
}

#[tokio::test]
async fn other_peoples_passkeys_are_invisible_and_untouchable() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@others.test").await;
    let bob = app.sign_up("bob@others.test").await;
    let mut phone = Device::new();
    let added = add_passkey(&app, &ana, &mut phone, "Phone").await;
    let id = added["passkey"]["id"].clone();

    assert_eq!(app.ok(&bob, MY_PASSKEYS, json!({})).await["myPasskeys"], json!([]));
    let (_, body) = app.post(&bob, RENAME, json!({ "id": id, "name": "Mine now" })).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    let (_, body) = app.post(&bob, REMOVE, json!({ "id": id, "password": PASSWORD })).await;
    assert_eq!(error_code_of(&body), "NOT_FOUND", "{body}");
    assert_eq!(app.ok(&ana, MY_PASSKEYS, json!({})).await["myPasskeys"][0]["name"], "Phone");

    // Bob cannot finish Ana's registration ceremony with his own device.
    let started = app.ok(&ana, START_REGISTRATION, json!({ "name": "Laptop", "password": PASSWORD })).await;
    let started = &started["startPasskeyRegistration"];
    let mut bobs = Device::new();
    let credential = bobs.create(&started["options"]);
    let (_, body) =
        app.post(&bob, FINISH_REGISTRATION, json!({ "ceremony": started["ceremony"], "credential": credential })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.ok(&bob, MY_PASSKEYS, json!({})).await["myPasskeys"], json!([]));

    // An API key cannot add a way in.
    let key = app.ok(&ana, "mutation { createApiKey(name: \"script\") { secret } }", json!({})).await;
    let key = Auth { token: key["createApiKey"]["secret"].as_str().map(str::to_owned), ..Auth::default() };
    let (_, body) = app.post(&key, START_REGISTRATION, json!({ "name": "Backdoor", "password": PASSWORD })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");

    // Removing the last second factor (with the password) removes the backup
    // codes too, and the password alone signs in again.
    let (_, body) = app.post(&ana, REMOVE, json!({ "id": id, "password": "wrong password" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    app.ok(&ana, REMOVE, json!({ "id": id, "password": PASSWORD })).await;
    assert_eq!(
        app.ok(&ana, MY_MFA, json!({})).await["myMfa"],
        json!({ "totp": false, "backupCodesLeft": 0, "passkeys": 0 })
    );
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@others.test", "password": PASSWORD })).await;
    assert!(data["login"]["accessToken"].is_string(), "{data}");
    let events = kinds(&app.ok(&ana, EVENTS, json!({})).await);
    assert!(events.contains(&"PASSKEY_REMOVED".to_owned()), "{events:?}");
}

#[tokio::test]
async fn a_passkey_comes_after_an_authenticator_app_without_new_backup_codes() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@both.test").await;
    let enrollment =
        app.ok(&ana, "mutation($p: String!) { enrollTotp(password: $p) { secret } }", json!({"p": PASSWORD})).await;
    let secret = enrollment["enrollTotp"]["secret"].as_str().unwrap().to_owned();
    app.ok(&ana, "mutation($code: String!) { confirmTotp(code: $code) }", json!({ "code": totp(&secret, app.now()) }))
        .await;
    let mut phone = Device::new();
    let added = add_passkey(&app, &ana, &mut phone, "Phone").await;
    assert_eq!(added["backupCodes"], json!([]), "the codes from the app stay valid");
    let data = app.ok(&Auth::anonymous(), LOGIN, json!({ "email": "ana@both.test", "password": PASSWORD })).await;
    assert_eq!(data["login"]["secondFactor"]["methods"], json!(["PASSKEY", "TOTP", "BACKUP_CODE"]));

    // Turning the app off keeps the backup codes while a passkey remains.
    app.ok(&ana, "mutation($password: String!) { disableTotp(password: $password) }", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(
        app.ok(&ana, MY_MFA, json!({})).await["myMfa"],
        json!({ "totp": false, "backupCodesLeft": 10, "passkeys": 1 })
    );
}

#[tokio::test]
async fn a_passkey_sign_in_satisfies_a_business_that_requires_two_factors() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("strict-keys").await;
    let staff = app.add_member(&owner, "staff@strict-keys.test", &["staff"]).await;
    let policy =
        "mutation($p: SecurityPolicyInput!) { setSecurityPolicy(input: $p) { securityPolicy { requireMfa } } }";
    app.ok(&owner, policy, json!({ "p": { "requireMfa": "ALL_MEMBERS", "mfaGraceLogins": 1 } })).await;
    let current = "{ currentTenant { slug } }";
    app.ok(&staff, current, json!({})).await;

    // With a passkey on the account, a session begun with the password alone
    // is turned away; one begun with the passkey is let in.
    let account = Auth { tenant: None, ..staff.clone() };
    let mut phone = Device::new();
    add_passkey(&app, &account, &mut phone, "Phone").await;
    let (_, body) = app.post(&staff, current, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("passkey"), "{body}");
    let (ceremony, options) = start_login(&app, "staff@strict-keys.test").await;
    let body = finish_login(&app, &ceremony, &phone.get(&options)).await;
    let with_passkey = Auth::from_payload(&body["data"]["finishPasskeyLogin"]).in_tenant("strict-keys");
    assert_eq!(app.ok(&with_passkey, current, json!({})).await["currentTenant"]["slug"], "strict-keys");
}

#[tokio::test]
async fn the_passkey_page_adds_a_passkey_and_signs_in_with_it_in_a_browser() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@browser-keys.test").await;
    // Passkeys belong to a domain: the browser opens the gateway as localhost.
    let base = format!("http://localhost:{}", app.address.port());
    if !tessera_e2e::run_in_browser("passkeys.mjs", &[&base, "ana@browser-keys.test", PASSWORD]).await {
        return;
    }
    let listed = app.ok(&ana, MY_PASSKEYS, json!({})).await;
    assert_eq!(listed["myPasskeys"][0]["name"], "Headless Chromium");
    assert!(listed["myPasskeys"][0]["lastUsedAt"].is_string(), "it signed in: {listed}");
}

/// The form of a JSON value: its keys and the kinds and sizes of its leaves,
/// without the values that differ per ceremony (challenges, ids).
fn form(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), form(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(form).collect()),
        Value::String(text) => json!(format!("string of {}", text.len())),
        other => other.clone(),
    }
}

#[tokio::test]
async fn decoy_options_have_the_form_of_real_ones_to_the_last_member() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@form.test").await;
    let mut phone = Device::new();
    add_passkey(&app, &ana, &mut phone, "Phone").await;
    let (_, real) = start_login(&app, "ana@form.test").await;
    let (_, decoy) = start_login(&app, "nobody@form.test").await;
    assert_eq!(form(&decoy), form(&real), "decoy {decoy} vs real {real}");
}
