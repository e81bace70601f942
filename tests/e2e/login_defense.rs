//! Login abuse (issue 14, item 5b): guesses are throttled per client address and
//! network as well as per account, a device that signed in before still signs
//! its owner in while strangers hold the account in backoff, and a flood of
//! logins beyond what the hashing threads can take is refused at once.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, TestDatabase, error_code_of, totp};
use tessera_identity::PasswordHasher;

const LOGIN: &str = "mutation($email: String!, $password: String!, $device: String) { login(input: {email: $email, password: $password, deviceToken: $device}) { accessToken deviceToken secondFactor { challenge } } }";
const COMPLETE: &str = "mutation($challenge: String!, $code: String!) { completeLogin(challenge: $challenge, code: $code) { accessToken deviceToken } }";

async fn login(app: &TestApp, email: &str, password: &str, device: Option<&str>) -> Value {
    app.post(&Auth::anonymous(), LOGIN, json!({ "email": email, "password": password, "device": device })).await.1
}

/// Signs in with the right password and returns the device token it hands out.
async fn trusted_device(app: &TestApp, email: &str, device: Option<&str>) -> String {
    let body = login(app, email, PASSWORD, device).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    body["data"]["login"]["deviceToken"].as_str().expect("a device token").to_owned()
}

fn retry_after(body: &Value) -> u64 {
    assert_eq!(error_code_of(body), "RATE_LIMITED", "{body}");
    body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("when to retry")
}

#[tokio::test]
async fn one_address_guessing_over_many_accounts_is_throttled_though_no_account_is() {
    let app = TestApp::spawn().await;
    let emails: Vec<String> = (0..6).map(|n| format!("spray{n}@guess.test")).collect();
    for email in &emails {
        app.sign_up(email).await;
    }
    let device = trusted_device(&app, &emails[0], None).await;
    // Four wrong guesses at each of five accounts: under every account's limit,
    // but twenty failures from one address.
    for email in &emails[..5] {
        for guess in 0..4 {
            let body = login(&app, email, &format!("sprayed password {guess}"), None).await;
            assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
        }
    }
    let body = login(&app, &emails[5], "one more sprayed password", None).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "the twenty-first failure is checked, and locks the address");
    // Now even a right password from this address waits, on an account nobody guessed at…
    let wait = retry_after(&login(&app, &emails[5], PASSWORD, None).await);
    assert!(wait >= 1, "{wait}");
    // …except from a device that signed in to that account before.
    let renewed = trusted_device(&app, &emails[0], Some(&device)).await;
    assert_ne!(renewed, device, "each sign-in replaces the device token");
    // The replaced token is an unknown device again.
    retry_after(&login(&app, &emails[0], PASSWORD, Some(&device)).await);
    // A device token only speaks for its own account.
    retry_after(&login(&app, &emails[1], PASSWORD, Some(&renewed)).await);
    // Backoff, not a ban.
    app.clock.advance(Duration::minutes(16));
    trusted_device(&app, &emails[5], None).await;
}

#[tokio::test]
async fn strangers_holding_an_account_in_backoff_do_not_lock_its_owner_out_of_a_known_device() {
    let app = TestApp::spawn().await;
    app.sign_up("owner@device.test").await;
    app.sign_up("other@device.test").await;
    let device = trusted_device(&app, "owner@device.test", None).await;
    let others = trusted_device(&app, "other@device.test", None).await;
    for guess in 0..8 {
        login(&app, "owner@device.test", &format!("stranger guess {guess}"), None).await;
    }
    retry_after(&login(&app, "owner@device.test", PASSWORD, None).await);
    retry_after(&login(&app, "owner@device.test", PASSWORD, Some(&others)).await);
    let device = trusted_device(&app, "owner@device.test", Some(&device)).await;

    // Guessing with a stolen device token is throttled too, on that device.
    let answers: Vec<String> = {
        let mut codes = Vec::new();
        for guess in 0..7 {
            let body = login(&app, "owner@device.test", &format!("thief guess {guess}"), Some(&device)).await;
            codes.push(error_code_of(&body).to_owned());
        }
        codes
    };
    assert_eq!(answers.iter().filter(|c| *c == "UNAUTHENTICATED").count(), 6, "{answers:?}");
    assert_eq!(answers.last().map(String::as_str), Some("RATE_LIMITED"), "{answers:?}");
    retry_after(&login(&app, "owner@device.test", PASSWORD, Some(&device)).await);
}

#[tokio::test]
async fn a_known_device_completes_a_second_factor_while_the_account_is_in_backoff() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("mfa@device.test").await;
    let secret = app
        .ok(&owner, "mutation($p: String!) { enrollTotp(password: $p) { secret } }", json!({"p": PASSWORD}))
        .await["enrollTotp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(&owner, "mutation($c: String!) { confirmTotp(code: $c) }", json!({ "c": totp(&secret, app.now()) })).await;
    let first = login(&app, "mfa@device.test", PASSWORD, None).await;
    assert_eq!(first["data"]["login"]["deviceToken"], Value::Null, "no device token before the second factor");
    let challenge = first["data"]["login"]["secondFactor"]["challenge"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::seconds(30));
    let done = app
        .post(&Auth::anonymous(), COMPLETE, json!({ "challenge": challenge, "code": totp(&secret, app.now()) }))
        .await
        .1;
    let device = done["data"]["completeLogin"]["deviceToken"].as_str().expect("a device token").to_owned();

    for guess in 0..8 {
        login(&app, "mfa@device.test", &format!("stranger guess {guess}"), None).await;
    }
    retry_after(&login(&app, "mfa@device.test", PASSWORD, None).await);
    let body = login(&app, "mfa@device.test", PASSWORD, Some(&device)).await;
    let challenge = body["data"]["login"]["secondFactor"]["challenge"].as_str().expect("a challenge").to_owned();
    app.clock.advance(Duration::seconds(30));
    let done = app
        .post(&Auth::anonymous(), COMPLETE, json!({ "challenge": challenge, "code": totp(&secret, app.now()) }))
        .await
        .1;
    assert!(done["data"]["completeLogin"]["accessToken"].is_string(), "{done}");
    assert_ne!(done["data"]["completeLogin"]["deviceToken"].as_str(), Some(device.as_str()));
}

#[tokio::test]
async fn logins_beyond_the_hashing_queue_are_refused_at_once_but_not_a_known_device() {
    let database = Arc::new(TestDatabase::create().await);
    // One hashing thread and no queue: whatever finds it busy is refused.
    let app = TestApp::spawn_with_options(database, |_| {}, |o| o.hasher = PasswordHasher::new(1, 0)).await;
    app.sign_up("busy@flood.test").await;
    let device = trusted_device(&app, "busy@flood.test", None).await;
    let flood = (0..16).map(|n| {
        let app = &app;
        async move { login(app, &format!("nobody{n}@flood.test"), "a flood of guesses", None).await }
    });
    let owner = login(&app, "busy@flood.test", PASSWORD, Some(&device));
    let (answers, owner) = tokio::join!(futures_util::future::join_all(flood), owner);
    assert!(owner["data"]["login"]["accessToken"].is_string(), "the known device has a queue of its own: {owner}");
    let busy = answers.iter().filter(|body| error_code_of(body) == "RATE_LIMITED").count();
    let checked = answers.iter().filter(|body| error_code_of(body) == "UNAUTHENTICATED").count();
    assert_eq!(busy + checked, 16, "{answers:?}");
    assert!(busy > 0, "sixteen logins at once cannot all have found the one thread free: {answers:?}");
    assert!(answers.iter().filter(|b| error_code_of(b) == "RATE_LIMITED").all(|b| retry_after(b) == 1));
    // Refused unchecked, so not counted: the address has exactly the failures
    // that were checked, and takes the rest of its twenty before its backoff.
    for n in checked..20 {
        let body = login(&app, &format!("later{n}@flood.test"), "checked this time", None).await;
        assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "failure {n}: {body}");
    }
}

/// `login` from `client` through the proxy in front of the gateway (this test's
/// own address), which says so in `X-Forwarded-For`.
async fn login_via_proxy(app: &TestApp, client: &str, email: &str, password: &str) -> Value {
    app.http
        .post(app.url("/graphql"))
        .header("x-forwarded-for", client)
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_on_its_own_address() {
    let app = TestApp::spawn_with(|args| args.trusted_proxies = "127.0.0.1".parse().ok()).await;
    let emails: Vec<String> = (0..6).map(|n| format!("proxied{n}@guess.test")).collect();
    for email in &emails {
        app.sign_up(email).await;
    }
    for email in &emails[..5] {
        for guess in 0..4 {
            login_via_proxy(&app, "203.0.113.7", email, &format!("sprayed {guess}")).await;
        }
    }
    login_via_proxy(&app, "203.0.113.7", &emails[5], "sprayed once more").await;
    // The sprayer's address is in backoff…
    retry_after(&login_via_proxy(&app, "203.0.113.7", &emails[5], PASSWORD).await);
    // …and one forged entry in front of it changes nothing…
    retry_after(&login_via_proxy(&app, "198.51.100.20, 203.0.113.7", &emails[5], PASSWORD).await);
    // …while another client behind the same proxy signs in.
    let body = login_via_proxy(&app, "198.51.100.20", &emails[5], PASSWORD).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    let auth = Auth::from_payload(&body["data"]["login"]);
    let sessions = app.ok(&auth, "{ mySessions(first: 5) { edges { node { ip } } } }", json!({})).await;
    let ips: Vec<&str> =
        sessions["mySessions"]["edges"].as_array().unwrap().iter().filter_map(|e| e["node"]["ip"].as_str()).collect();
    assert!(ips.contains(&"198.51.100.20"), "the session records the client, not the proxy: {ips:?}");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    let app = TestApp::spawn().await;
    app.sign_up("direct@guess.test").await;
    let body = login_via_proxy(&app, "198.51.100.20", "direct@guess.test", PASSWORD).await;
    let auth = Auth::from_payload(&body["data"]["login"]);
    let sessions = app.ok(&auth, "{ mySessions(first: 5) { edges { node { ip } } } }", json!({})).await;
    let ips: Vec<&str> =
        sessions["mySessions"]["edges"].as_array().unwrap().iter().filter_map(|e| e["node"]["ip"].as_str()).collect();
    assert!(ips.iter().all(|ip| *ip == "127.0.0.1"), "{ips:?}");
}
