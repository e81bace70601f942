//! Signing up (issue 14, item 5c): `signUp` tells nobody whether an address has
//! an account, creates nothing until the emailed link is opened (so nobody holds
//! an address they cannot read), and cannot be used to mail-bomb an address.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};

const SIGN_UP: &str = "mutation($email: String!, $password: String!) { signUp(input: {email: $email, password: $password, displayName: \"Someone\"}) { email expiresAt } }";
const COMPLETE: &str = "mutation($token: String!) { completeSignUp(token: $token) { accessToken deviceToken user { email emailVerified } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }";

async fn sign_up(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    app.post(&Auth::anonymous(), SIGN_UP, json!({ "email": email, "password": password })).await
}

fn subjects_to(app: &TestApp, to: &str) -> Vec<String> {
    app.email.sent().into_iter().filter(|e| e.to == to).map(|e| e.subject).collect()
}

#[tokio::test]
async fn signing_up_answers_alike_whether_or_not_the_address_has_an_account() {
    let app = TestApp::spawn().await;
    app.sign_up("taken@signup.test").await;
    let (taken_status, taken) = sign_up(&app, "taken@signup.test", "an attacker's passphrase").await;
    let (free_status, free) = sign_up(&app, "free@signup.test", "an attacker's passphrase").await;
    assert_eq!(taken_status, free_status);
    assert_eq!(taken["data"]["signUp"]["expiresAt"], free["data"]["signUp"]["expiresAt"], "{taken} {free}");
    assert_eq!(taken["data"]["signUp"]["email"], "taken@signup.test");
    assert_eq!(taken.get("errors"), None, "{taken}");

    // The address's owner hears that someone tried; nobody is told it is taken.
    app.deliver().await;
    assert_eq!(subjects_to(&app, "taken@signup.test"), ["Someone tried to sign up with your address"]);
    assert_eq!(subjects_to(&app, "free@signup.test"), ["Finish creating your account"]);
    // Nothing changed for the account, and the new address has no account until its link is opened.
    let (_, body) =
        app.post(&Auth::anonymous(), LOGIN, json!({ "email": "taken@signup.test", "password": PASSWORD })).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    for email in ["taken@signup.test", "free@signup.test"] {
        let (_, body) = app
            .post(&Auth::anonymous(), LOGIN, json!({ "email": email, "password": "an attacker's passphrase" }))
            .await;
        assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{email}: {body}");
    }
}

#[tokio::test]
async fn the_link_creates_the_account_once_and_a_stranger_cannot_hold_an_address() {
    let app = TestApp::spawn().await;
    // A stranger signs up with Ana's address first; only Ana's mailbox gets the link.
    sign_up(&app, "ana@hold.test", "the stranger's passphrase").await;
    let strangers = app.sign_up_link("ana@hold.test").await.expect("a link");
    // Ana signs up herself, and opens her link.
    app.clock.advance(Duration::minutes(1));
    sign_up(&app, "ana@hold.test", "Ana's own passphrase").await;
    let anas = app.sign_up_link("ana@hold.test").await.expect("a link");
    assert_ne!(anas, strangers);
    let done = app.ok(&Auth::anonymous(), COMPLETE, json!({ "token": anas })).await;
    assert_eq!(done["completeSignUp"]["user"], json!({ "email": "ana@hold.test", "emailVerified": true }));
    assert!(done["completeSignUp"]["deviceToken"].as_str().is_some_and(|t| t.starts_with("tdv_")));

    // Every link of the address is dead now, hers included.
    for token in [&anas, &strangers] {
        let (_, body) = app.post(&Auth::anonymous(), COMPLETE, json!({ "token": token })).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "token");
    }
    let (_, body) = app
        .post(&Auth::anonymous(), LOGIN, json!({ "email": "ana@hold.test", "password": "Ana's own passphrase" }))
        .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    // The unused link's email is withdrawn rather than sent.
    app.deliver().await;
    assert!(subjects_to(&app, "ana@hold.test").is_empty(), "{:?}", subjects_to(&app, "ana@hold.test"));

    // A link lasts a day.
    sign_up(&app, "late@hold.test", "a late passphrase here").await;
    let late = app.sign_up_link("late@hold.test").await.expect("a link");
    app.clock.advance(Duration::hours(25));
    let (_, body) = app.post(&Auth::anonymous(), COMPLETE, json!({ "token": late })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn nobody_can_mail_bomb_an_address_through_sign_up() {
    let app = TestApp::spawn().await;
    app.sign_up("owner@bomb.test").await;
    // (Its own sign-up's email counted in the hour before this one.)
    app.clock.advance(Duration::minutes(61));
    for n in 0..6 {
        for email in ["owner@bomb.test", "fresh@bomb.test"] {
            let (status, body) = sign_up(&app, email, &format!("bombing passphrase {n}")).await;
            assert_eq!(status, 200, "answered alike however often: {body}");
        }
    }
    app.deliver().await;
    assert_eq!(subjects_to(&app, "owner@bomb.test").len(), 3, "three emails an hour at most");
    assert_eq!(subjects_to(&app, "fresh@bomb.test").len(), 3);
    app.clock.advance(Duration::minutes(61));
    sign_up(&app, "owner@bomb.test", "an hour later passphrase").await;
    app.deliver().await;
    assert_eq!(subjects_to(&app, "owner@bomb.test").len(), 4, "a new hour, a new email");
}

#[tokio::test]
async fn one_client_address_may_ask_for_only_so_many_sign_ups_an_hour() {
    let app = TestApp::spawn_with(|args| args.sign_ups_per_client_hour = Some(4)).await;
    for n in 0..4 {
        let (_, body) = sign_up(&app, &format!("person{n}@client.test"), "a client's passphrase").await;
        assert!(body["data"]["signUp"]["email"].is_string(), "{body}");
    }
    let (_, body) = sign_up(&app, "person4@client.test", "a client's passphrase").await;
    assert_eq!(error_code_of(&body), "RATE_LIMITED", "{body}");
    assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some_and(|s| s > 0 && s <= 3600));
    assert_eq!(app.sign_up_link("person4@client.test").await, None, "nothing was queued");
    app.clock.advance(Duration::minutes(61));
    let (_, body) = sign_up(&app, "person4@client.test", "a client's passphrase").await;
    assert!(body["data"]["signUp"]["email"].is_string(), "{body}");
}

#[tokio::test]
async fn parallel_sign_ups_cannot_overfill_an_addresss_hour() {
    let app = TestApp::spawn().await;
    let attempts = (0..10).map(|n| {
        let app = &app;
        async move { sign_up(app, "race@bomb.test", &format!("a racing passphrase {n}")).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let links = app.rows("SELECT COUNT(*) FROM pending_sign_ups WHERE email = 'race@bomb.test'").await;
    assert_eq!(links[0].try_get_by_index::<i64>(0).unwrap(), 3, "three emails an hour, however parallel");
}
