//! Email verification and password reset: single-use links sent as account
//! messages, over HTTP.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::json;
use tessera_e2e::{Auth, PASSWORD, TestApp, error_code_of};
use tessera_notify::EmailMessage;

const ME: &str = "{ me { email emailVerified emailVerifiedAt } }";
const VERIFY: &str = "mutation($token: String!) { verifyEmail(token: $token) }";
const RESEND: &str = "mutation { resendEmailVerification }";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const SIGN_UP: &str = "mutation($email: String!) { signUp(input: {email: $email, password: \"a long enough passphrase\", displayName: \"Someone\"}) { email } }";
const RESET: &str =
    "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }";

/// Runs the delivery worker until `count` emails to `to` with `subject` went
/// out (account messages may be queued in the background); returns them.
async fn emails_to(app: &TestApp, to: &str, subject: &str, count: usize) -> Vec<EmailMessage> {
    for _ in 0..100 {
        app.deliver().await;
        let found: Vec<EmailMessage> =
            app.email.sent().into_iter().filter(|e| e.to == to && e.subject == subject).collect();
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("expected {count} email(s) to {to} titled {subject:?}, got {:?}", app.email.sent());
}

/// The token of the link in an email (after `#token=`).
fn token_in(email: &EmailMessage) -> String {
    let (_, rest) = email.text.split_once("#token=").unwrap_or_else(|| panic!("no link in {}", email.text));
    rest.split_whitespace().next().unwrap().to_owned()
}

/// An account whose address is not verified: made before sign-ups proved
/// addresses (the API makes none any more).
async fn unverified(app: &TestApp, email: &str) -> Auth {
    let auth = app.sign_up(email).await;
    app.execute(&format!("UPDATE users SET email_verified_at = NULL WHERE email = '{email}'")).await;
    auth
}

#[tokio::test]
async fn an_unverified_address_is_verified_once_by_a_link() {
    let app = TestApp::spawn().await;
    let ana = unverified(&app, "ana@verify.test").await;
    assert_eq!(app.ok(&ana, ME, json!({})).await["me"]["emailVerified"], false);
    assert_eq!(app.ok(&ana, RESEND, json!({})).await["resendEmailVerification"], true);

    let sent = emails_to(&app, "ana@verify.test", "Confirm your email address", 1).await;
    let token = token_in(&sent[0]);
    assert!(sent[0].text.contains("http://127.0.0.1:"), "the link points at the app: {}", sent[0].text);
    assert!(token.starts_with("tsv_"));

    // No session needed: the link is the proof.
    let data = app.ok(&Auth::anonymous(), VERIFY, json!({ "token": token })).await;
    assert_eq!(data["verifyEmail"], true);
    let me = app.ok(&ana, ME, json!({})).await;
    assert_eq!(me["me"]["emailVerified"], true);
    assert!(me["me"]["emailVerifiedAt"].is_string());

    // Once only.
    let (_, body) = app.post(&Auth::anonymous(), VERIFY, json!({ "token": token })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "token", "{body}");
    // Verified: nothing more to send.
    assert_eq!(app.ok(&ana, RESEND, json!({})).await["resendEmailVerification"], false);

    // The outbox forgets the link once it is delivered.
    let rows = app.rows("SELECT body, variables FROM account_messages WHERE topic = 'email.verification'").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get_by_index::<Option<String>>(0).unwrap(), None, "the text with the link is gone");
    assert_eq!(rows[0].try_get_by_index::<String>(1).unwrap(), "{}");
}

#[tokio::test]
async fn a_new_verification_link_replaces_the_old_one_and_links_expire() {
    let app = TestApp::spawn().await;
    let ana = unverified(&app, "ana@resend.test").await;
    assert_eq!(app.ok(&ana, RESEND, json!({})).await["resendEmailVerification"], true);
    let first = token_in(&emails_to(&app, "ana@resend.test", "Confirm your email address", 1).await[0]);

    let (_, body) = app.post(&ana, RESEND, json!({})).await;
    assert_eq!(error_code_of(&body), "RATE_LIMITED", "a minute between links: {body}");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.ok(&ana, RESEND, json!({})).await["resendEmailVerification"], true);
    let second = token_in(&emails_to(&app, "ana@resend.test", "Confirm your email address", 2).await[1]);
    assert_ne!(first, second);

    let (_, body) = app.post(&Auth::anonymous(), VERIFY, json!({ "token": first })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "the older link no longer works: {body}");

    app.clock.advance(Duration::hours(25));
    let (_, body) = app.post(&Auth::anonymous(), VERIFY, json!({ "token": second })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "expired after 24 hours: {body}");
    let ana = app.login("ana@resend.test").await;
    assert_eq!(app.ok(&ana, ME, json!({})).await["me"]["emailVerified"], false);

    // A token of another kind or made up is refused the same way.
    for token in ["tsv_made-up", "tsa_whatever", ""] {
        let (_, body) = app.post(&Auth::anonymous(), VERIFY, json!({ "token": token })).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{token}: {body}");
    }
}

#[tokio::test]
async fn asking_for_a_reset_answers_alike_for_every_address() {
    let app = TestApp::spawn().await;
    app.sign_up("ana@reset.test").await;
    let (known_status, known) = app.post(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@reset.test" })).await;
    let (unknown_status, unknown) =
        app.post(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "nobody@reset.test" })).await;
    assert_eq!((known_status, &known), (unknown_status, &unknown), "the same answer either way");
    assert_eq!(known["data"]["requestPasswordReset"], true);

    let sent = emails_to(&app, "ana@reset.test", "Reset your password", 1).await;
    assert!(token_in(&sent[0]).starts_with("tsp_"));
    assert!(sent[0].text.contains("30 minutes"), "{}", sent[0].text);
    // Let any background request finish, then look: nothing went to the unknown address.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    app.deliver().await;
    assert!(app.email.sent().iter().all(|e| e.to != "nobody@reset.test"));

    // A malformed address is the caller's mistake, and says so.
    let (_, body) = app.post(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "not an address" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");

    // At most three links an hour; the fourth request is answered alike but sends nothing.
    for _ in 0..3 {
        let data = app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@reset.test" })).await;
        assert_eq!(data["requestPasswordReset"], true);
    }
    emails_to(&app, "ana@reset.test", "Reset your password", 3).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    app.deliver().await;
    let resets = app.email.sent().into_iter().filter(|e| e.subject == "Reset your password").count();
    assert_eq!(resets, 3);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_ends_sessions_and_clears_the_lockout() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@lockout.test").await;
    // Someone guesses until the account backs off.
    let mut throttled = false;
    for guess in 0..10 {
        let (_, body) = app
            .post(
                &Auth::anonymous(),
                LOGIN,
                json!({ "email": "ana@lockout.test", "password": format!("guess {guess}") }),
            )
            .await;
        throttled |= error_code_of(&body) == "RATE_LIMITED";
    }
    assert!(throttled, "the account is backing off");

    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@lockout.test" })).await;
    let token = token_in(&emails_to(&app, "ana@lockout.test", "Reset your password", 1).await[0]);

    // The policy and the history apply; a refused password does not use up the link.
    let (_, body) = app.post(&Auth::anonymous(), RESET, json!({ "token": token, "password": "password123" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app.post(&Auth::anonymous(), RESET, json!({ "token": token, "password": PASSWORD })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "the current password is a recent one: {body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "newPassword", "{body}");

    let data = app.ok(&Auth::anonymous(), RESET, json!({ "token": token, "password": "lantern orchard velvet" })).await;
    assert_eq!(data["resetPassword"], true);

    // Every session ended; the backoff is gone; the new password works at once.
    let (_, body) = app.post(&ana, ME, json!({})).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");
    let (_, body) = app
        .post(&Auth::anonymous(), LOGIN, json!({ "email": "ana@lockout.test", "password": "lantern orchard velvet" }))
        .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    let signed_in =
        Auth { token: body["data"]["login"]["accessToken"].as_str().map(str::to_owned), ..Auth::anonymous() };
    let me = app.ok(&signed_in, ME, json!({})).await;
    assert_eq!(me["me"]["emailVerified"], true, "the link proved the address");
    let events =
        app.ok(&signed_in, "{ mySecurityEvents(last: 1) { edges { node { kind details } } } }", json!({})).await;
    let event = &events["mySecurityEvents"]["edges"][0]["node"];
    assert_eq!(event["kind"], "PASSWORD_CHANGED", "{events}");

    // The link worked once.
    let (_, body) =
        app.post(&Auth::anonymous(), RESET, json!({ "token": token, "password": "another fine passphrase" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn two_requests_racing_with_one_reset_link_succeed_once() {
    let app = TestApp::spawn().await;
    app.sign_up("ana@race.test").await;
    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@race.test" })).await;
    let token = token_in(&emails_to(&app, "ana@race.test", "Reset your password", 1).await[0]);
    let attempts = ["first racing passphrase", "second racing passphrase"].map(|password| {
        let app = &app;
        let token = token.clone();
        async move { app.post(&Auth::anonymous(), RESET, json!({ "token": token, "password": password })).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let succeeded: Vec<usize> = (0..2).filter(|i| answers[*i].1["data"]["resetPassword"] == true).collect();
    assert_eq!(succeeded.len(), 1, "{answers:?}");
    let loser = 1 - succeeded[0];
    assert_eq!(error_code_of(&answers[loser].1), "BAD_USER_INPUT", "{answers:?}");
    let winner = ["first racing passphrase", "second racing passphrase"][succeeded[0]];
    let (_, body) = app.post(&Auth::anonymous(), LOGIN, json!({ "email": "ana@race.test", "password": winner })).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn reset_links_expire_and_do_not_work_for_another_address_or_a_disabled_account() {
    let app = TestApp::spawn().await;
    app.sign_up("ana@expiry.test").await;
    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@expiry.test" })).await;
    let token = token_in(&emails_to(&app, "ana@expiry.test", "Reset your password", 1).await[0]);
    app.clock.advance(Duration::minutes(31));
    let (_, body) =
        app.post(&Auth::anonymous(), RESET, json!({ "token": token, "password": "too late a passphrase" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "expired after 30 minutes: {body}");
    // The old password still works: nothing changed.
    let (_, body) =
        app.post(&Auth::anonymous(), LOGIN, json!({ "email": "ana@expiry.test", "password": PASSWORD })).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    // A sign-up link is not a reset link.
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "other@expiry.test" })).await;
    let sign_up = app.sign_up_link("other@expiry.test").await.expect("a sign-up link");
    let (_, body) =
        app.post(&Auth::anonymous(), RESET, json!({ "token": sign_up, "password": "wrong kind passphrase" })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn account_messages_belong_to_no_tenant_and_no_tenant_can_word_them() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("acct-msgs").await;
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "owner@acct-msgs.test" })).await;
    emails_to(&app, "owner@acct-msgs.test", "Someone tried to sign up with your address", 1).await;
    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "owner@acct-msgs.test" })).await;
    emails_to(&app, "owner@acct-msgs.test", "Reset your password", 1).await;

    // The tenant's delivery log holds only the tenant's messages.
    let log = app.ok(&owner, "{ notificationDeliveries(first: 50) { edges { node { topic } } } }", json!({})).await;
    assert_eq!(log["notificationDeliveries"]["edges"], json!([]), "{log}");
    // Nor can the tenant word account messages, or even see them among its templates.
    let (_, body) = app
        .post(
            &owner,
            "mutation { setNotificationTemplate(topic: PASSWORD_RESET, language: \"en\", title: \"Hi\", body: \"Click {{ link }}\") { topic } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let templates = app.ok(&owner, "{ notificationTemplates { topic } }", json!({})).await;
    let topics: Vec<&str> =
        templates["notificationTemplates"].as_array().unwrap().iter().filter_map(|t| t["topic"].as_str()).collect();
    assert!(!topics.contains(&"PASSWORD_RESET") && !topics.contains(&"EMAIL_VERIFICATION"), "{topics:?}");
    assert!(topics.contains(&"INVITATION"));
}

#[tokio::test]
async fn the_gateway_serves_the_pages_the_links_lead_to() {
    let app = TestApp::spawn().await;
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "ana@pages.test" })).await;
    let link = emails_to(&app, "ana@pages.test", "Finish creating your account", 1).await[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("#token="))
        .unwrap()
        .to_owned();
    // The link names the gateway's own page (no TESSERA_APP_URL here).
    let path = link.split_once("#").unwrap().0.rsplit_once('/').unwrap().1.to_owned();
    assert_eq!(path, "complete-sign-up");
    for page in ["/complete-sign-up", "/verify-email", "/reset-password", "/accept-invitation"] {
        let response = app.http.get(app.url(page)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["referrer-policy"], "no-referrer", "{page}");
        assert_eq!(headers["cache-control"], "no-store", "{page}");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"), "{page}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<script src=\"/assets/account.js\">"), "{html}");
    }
    let script = app.http.get(app.url("/assets/account.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    let script = script.text().await.unwrap();
    assert!(script.contains("verifyEmail(token: $token)") && script.contains("resetPassword(token: $token"));
    assert!(script.contains("completeSignUp(token: $token)"));
    assert!(script.contains("invitationOffer(token: $token)") && script.contains("acceptInvitation(token: $token)"));
}

#[tokio::test]
async fn links_point_at_the_configured_app() {
    let app = TestApp::spawn_with(|args| args.app_url = Some("https://book.example.com/".into())).await;
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "ana@app-url.test" })).await;
    let email = &emails_to(&app, "ana@app-url.test", "Finish creating your account", 1).await[0];
    assert!(email.text.contains("https://book.example.com/complete-sign-up#token=tsu_"), "{}", email.text);
}

#[tokio::test]
async fn expired_links_and_login_challenges_are_swept_away() {
    let app = TestApp::spawn().await;
    app.sign_up("ana@sweep.test").await;
    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "ana@sweep.test" })).await;
    emails_to(&app, "ana@sweep.test", "Reset your password", 1).await;
    // A sign-up nobody finished.
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "never@sweep.test" })).await;
    let app = &app;
    let count = |table: &'static str| async move {
        let rows = app.rows(&format!("SELECT COUNT(*) FROM {table}")).await;
        rows[0].try_get_by_index::<i64>(0).unwrap()
    };
    assert_eq!(count("account_tokens").await, 1, "the reset link");
    assert_eq!(count("pending_sign_ups").await, 1);
    let sweep = || tessera_api::retention::sweep(&app.state.services, Duration::days(365), app.now());
    assert_eq!(sweep().await.unwrap().account_tokens, 0, "nothing is old enough yet");
    app.clock.advance(Duration::days(3));
    assert!(sweep().await.unwrap().account_tokens >= 2);
    for table in ["account_tokens", "pending_sign_ups", "rate_windows"] {
        assert_eq!(count(table).await, 0, "{table}");
    }
}

#[tokio::test]
async fn the_pages_behind_the_links_work_in_a_browser() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("pages-salon").await;
    app.ok(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "owner@pages-salon.test" })).await;
    let reset = token_in(&emails_to(&app, "owner@pages-salon.test", "Reset your password", 1).await[0]);
    let invite = "mutation { inviteMember(input: {email: \"joiner@pages.test\"}) { id } }";
    app.ok(&owner, invite, json!({})).await;
    let subject = "owner@pages-salon.test invited you to Tenant pages-salon";
    let invitation = token_in(&emails_to(&app, "joiner@pages.test", subject, 1).await[0]);

    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "newcomer@pages.test" })).await;
    let sign_up = token_in(&emails_to(&app, "newcomer@pages.test", "Finish creating your account", 1).await[0]);

    let url = app.url("");
    let args = [url.as_str(), &reset, "a page typed passphrase", &invitation, &sign_up];
    let ran = tessera_e2e::run_in_browser("account_pages.mjs", &args).await;
    if !ran {
        return;
    }

    app.login_with("owner@pages-salon.test", "a page typed passphrase").await;
    app.login_with("newcomer@pages.test", "a long enough passphrase").await;
    let joiner = app.login_with("joiner@pages.test", "joined through the page").await.in_tenant("pages-salon");
    let current = app.ok(&joiner, "{ currentTenant { slug } }", json!({})).await;
    assert_eq!(current["currentTenant"]["slug"], "pages-salon");
}
