//! The platform is not a spam relay (issue 14, item 7): a tenant sends a limited
//! number of invitation emails a day, counted under a lock; its own invitation
//! text goes out inside the platform's frame and link; and each message keeps
//! who sent it, without the link.

use chrono::Duration;
use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

const INVITE: &str = "mutation($email: String!) { inviteMember(input: {email: $email, roleIds: []}) { id } }";
const RESEND: &str = "mutation($id: ID!) { resendInvitation(id: $id) { status } }";
const SET_TEMPLATE: &str = "mutation($title: String!, $body: String!) { setNotificationTemplate(topic: INVITATION, language: \"en\", title: $title, body: $body) { custom } }";

async fn invite(app: &TestApp, owner: &Auth, email: &str) -> Value {
    app.post(owner, INVITE, json!({ "email": email })).await.1
}

#[tokio::test]
async fn a_tenant_sends_its_days_invitations_and_no_more_while_another_tenant_is_unaffected() {
    let app = TestApp::spawn_with(|args| args.invitations_per_day = Some(3)).await;
    let (owner, _) = app.owner_of("spam-one").await;
    let (other, _) = app.owner_of("spam-two").await;
    let first = invite(&app, &owner, "a@spam.test").await;
    let first_id = first["data"]["inviteMember"]["id"].clone();
    invite(&app, &owner, "b@spam.test").await;
    app.clock.advance(Duration::minutes(2));
    // A resend is one more email.
    let resent = app.post(&owner, RESEND, json!({ "id": first_id })).await.1;
    assert_eq!(resent["data"]["resendInvitation"]["status"], "PENDING", "{resent}");
    let refused = invite(&app, &owner, "c@spam.test").await;
    assert_eq!(error_code_of(&refused), "RATE_LIMITED", "{refused}");
    let wait = refused["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap();
    assert!((23 * 3600..=24 * 3600).contains(&wait), "until the first leaves the day: {wait}");
    app.deliver().await;
    assert!(app.email.sent().iter().all(|e| e.to != "c@spam.test"), "nothing went to the refused address");
    // Another tenant's day is its own.
    assert!(invite(&app, &other, "c@spam.test").await["data"]["inviteMember"]["id"].is_string());
    // A day later the first ones no longer count.
    app.clock.advance(Duration::hours(24));
    let owner = app.login("owner@spam-one.test").await.in_tenant("spam-one");
    assert!(invite(&app, &owner, "c@spam.test").await["data"]["inviteMember"]["id"].is_string());
}

#[tokio::test]
async fn parallel_invitations_cannot_overshoot_the_days_limit() {
    let app = TestApp::spawn_with(|args| args.invitations_per_day = Some(3)).await;
    let (owner, _) = app.owner_of("spam-race").await;
    let attempts = (0..12).map(|n| {
        let (app, owner) = (&app, &owner);
        async move { invite(app, owner, &format!("race{n}@spam.test")).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let sent = answers.iter().filter(|b| b["data"]["inviteMember"]["id"].is_string()).count();
    let refused = answers.iter().filter(|b| error_code_of(b) == "RATE_LIMITED").count();
    assert_eq!((sent, refused), (3, 9), "{answers:?}");
}

#[tokio::test]
async fn a_tenants_own_invitation_text_goes_inside_the_platform_frame_and_is_kept_with_its_sender() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("spam-frame").await;
    let saved = app
        .ok(
            &owner,
            SET_TEMPLATE,
            json!({
                "title": "Your bank account is suspended",
                "body": "Log in at http://phish.example to keep it. {{ businessName }}",
            }),
        )
        .await;
    assert_eq!(saved["setNotificationTemplate"]["custom"], true);
    invite(&app, &owner, "target@frame.test").await;
    app.deliver().await;
    let sent: Vec<_> = app.email.sent().into_iter().filter(|e| e.to == "target@frame.test").collect();
    assert_eq!(sent.len(), 1);
    let email = &sent[0];
    assert_eq!(email.subject, "owner@spam-frame.test invited you to Tenant spam-frame", "the platform's title");
    let text = &email.text;
    let (before, rest) = text.split_once("────────").expect("the tenant's words are set apart");
    let (theirs, after) = rest.split_once("────────").expect("and closed");
    assert!(before.contains("owner@spam-frame.test invited you to join Tenant spam-frame"), "{text}");
    assert!(theirs.contains("Your bank account is suspended") && theirs.contains("http://phish.example"), "{text}");
    assert!(after.contains("#token=tsi_"), "the platform's link is there whatever the template says: {text}");
    assert!(after.contains("Sent on behalf of Tenant spam-frame"), "{text}");

    // The record keeps who sent what, without the link.
    let token = after.split_once("#token=").unwrap().1.split_whitespace().next().unwrap().to_owned();
    let rows = app
        .rows(
            "SELECT n.body, u.email FROM notifications n JOIN users u ON u.id = n.sent_by WHERE n.topic = 'invitation'",
        )
        .await;
    assert_eq!(rows.len(), 1);
    let body = rows[0].try_get_by_index::<Option<String>>(0).unwrap().expect("the words are kept");
    assert!(body.contains("Your bank account is suspended"), "{body}");
    assert!(!body.contains(&token), "the link is not kept: {body}");
    assert_eq!(rows[0].try_get_by_index::<String>(1).unwrap(), "owner@spam-frame.test");
}
