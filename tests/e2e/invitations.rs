//! Invitations over HTTP: inviting with roles, joining by the emailed link as a
//! new or an existing user, expiry, cancelling, resending, and isolation.

use chrono::Duration;
use serde_json::json;
use tessera_e2e::{Auth, TestApp, error_code_of};
use tessera_notify::EmailMessage;

const INVITE: &str = "mutation($email: String!, $roles: [ID!]!) { inviteMember(input: {email: $email, roleIds: $roles}) { id email status roles { name } invitedBy { email } expiresAt } }";
const OFFER: &str =
    "query($token: String!) { invitationOffer(token: $token) { businessName tenantSlug email roleNames status } }";
const SIGN_UP: &str = "mutation($input: SignUpWithInvitationInput!) { signUpWithInvitation(input: $input) { accessToken refreshToken sessionId user { id email emailVerified } } }";
const ACCEPT: &str = "mutation($token: String!) { acceptInvitation(token: $token) { status tenantSlug } }";
const LIST: &str = "query($status: InvitationStatus) { invitations(status: $status, first: 20) { edges { node { id email status acceptedBy { email } cancelledAt } } } }";
const CANCEL: &str = "mutation($id: ID!) { cancelInvitation(id: $id) { status } }";
const RESEND: &str = "mutation($id: ID!) { resendInvitation(id: $id) { status expiresAt } }";
const MY_ROLES: &str = "{ me { roles { builtin } } }";

/// The invitation emails sent to `to` so far (delivering what is due first).
async fn invitations_to(app: &TestApp, to: &str) -> Vec<EmailMessage> {
    app.deliver().await;
    app.email.sent().into_iter().filter(|e| e.to == to && e.subject.contains("invited you")).collect()
}

fn token_in(email: &EmailMessage) -> String {
    let (_, rest) = email.text.split_once("#token=").unwrap_or_else(|| panic!("no link in {}", email.text));
    rest.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_person_joins_by_the_link_with_the_roles_offered() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-salon").await;
    let staff = app.builtin_role_id(&owner, "STAFF").await;
    let invited = app.ok(&owner, INVITE, json!({ "email": " Maria@New.test ", "roles": [staff] })).await;
    let invitation = &invited["inviteMember"];
    assert_eq!(invitation["email"], "maria@new.test", "normalised");
    assert_eq!(invitation["status"], "PENDING");
    assert_eq!(invitation["roles"], json!([{ "name": "Staff" }]));
    assert_eq!(invitation["invitedBy"]["email"], "owner@inv-salon.test");

    let emails = invitations_to(&app, "maria@new.test").await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].subject, "owner@inv-salon.test invited you to Tenant inv-salon");
    assert!(emails[0].text.contains("/accept-invitation#token=tsi_"), "{}", emails[0].text);
    let token = token_in(&emails[0]);

    // The link holder sees the offer without a session.
    let offer = app.ok(&Auth::anonymous(), OFFER, json!({ "token": token })).await["invitationOffer"].clone();
    assert_eq!(
        offer,
        json!({ "businessName": "Tenant inv-salon", "tenantSlug": "inv-salon", "email": "maria@new.test",
                "roleNames": ["Staff"], "status": "PENDING" })
    );

    let input = json!({ "token": token, "displayName": "Maria", "password": "copper lantern meadow" });
    let joined = app.ok(&Auth::anonymous(), SIGN_UP, json!({ "input": input })).await;
    let maria = Auth::from_payload(&joined["signUpWithInvitation"]).in_tenant("inv-salon");
    assert_eq!(joined["signUpWithInvitation"]["user"]["email"], "maria@new.test");
    assert_eq!(joined["signUpWithInvitation"]["user"]["emailVerified"], true, "the link proved the address");
    assert_eq!(app.ok(&maria, MY_ROLES, json!({})).await["me"]["roles"], json!([{ "builtin": "STAFF" }]));

    // Used once.
    let (_, body) = app.post(&Auth::anonymous(), OFFER, json!({ "token": token })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let again = json!({ "token": token, "displayName": "Eve", "password": "another fine passphrase" });
    let (_, body) = app.post(&Auth::anonymous(), SIGN_UP, json!({ "input": again })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");

    let accepted = app.ok(&owner, LIST, json!({ "status": "ACCEPTED" })).await;
    assert_eq!(accepted["invitations"]["edges"][0]["node"]["acceptedBy"]["email"], "maria@new.test");
    let log = app.ok(&owner, "{ auditLog(last: 5) { edges { node { action } } } }", json!({})).await;
    let actions: Vec<&str> =
        log["auditLog"]["edges"].as_array().unwrap().iter().filter_map(|e| e["node"]["action"].as_str()).collect();
    assert!(actions.ends_with(&["invitation.created", "invitation.accepted", "member.added"]), "{actions:?}");
}

#[tokio::test]
async fn an_existing_user_accepts_signed_in_with_the_invited_address_only() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-existing").await;
    let luis = app.sign_up("luis@have.test").await;
    let other = app.sign_up("other@have.test").await;
    app.ok(&owner, INVITE, json!({ "email": "luis@have.test", "roles": [] })).await;
    let token = token_in(&invitations_to(&app, "luis@have.test").await[0]);

    let (_, body) = app.post(&other, ACCEPT, json!({ "token": token })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "someone else's invitation: {body}");
    let (_, body) = app.post(&Auth::anonymous(), ACCEPT, json!({ "token": token })).await;
    assert_eq!(error_code_of(&body), "UNAUTHENTICATED", "{body}");

    let accepted = app.ok(&luis, ACCEPT, json!({ "token": token })).await;
    assert_eq!(accepted["acceptInvitation"], json!({ "status": "ACCEPTED", "tenantSlug": "inv-existing" }));
    let luis = luis.in_tenant("inv-existing");
    let roles = app.ok(&luis, MY_ROLES, json!({})).await;
    assert_eq!(roles["me"]["roles"], json!([{ "builtin": "CUSTOMER" }]), "the default role when none is named");

    // A member is not invited again.
    let (_, body) = app.post(&owner, INVITE, json!({ "email": "luis@have.test", "roles": [] })).await;
    assert_eq!(error_code_of(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn invitations_expire_and_are_resent_or_cancelled() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-expiry").await;
    let first =
        app.ok(&owner, INVITE, json!({ "email": "late@inv.test", "roles": [] })).await["inviteMember"]["id"].clone();
    let (_, body) = app.post(&owner, INVITE, json!({ "email": "late@inv.test", "roles": [] })).await;
    assert_eq!(error_code_of(&body), "CONFLICT", "one pending invitation per address: {body}");
    let (_, body) = app.post(&owner, RESEND, json!({ "id": first })).await;
    assert_eq!(error_code_of(&body), "RATE_LIMITED", "{body}");
    let old = token_in(&invitations_to(&app, "late@inv.test").await[0]);

    app.clock.advance(Duration::days(8));
    let owner = app.login("owner@inv-expiry.test").await.in_tenant("inv-expiry");
    let offer = app.ok(&Auth::anonymous(), OFFER, json!({ "token": old })).await;
    assert_eq!(offer["invitationOffer"]["status"], "EXPIRED");
    let late = app.sign_up("late@inv.test").await;
    let (_, body) = app.post(&late, ACCEPT, json!({ "token": old })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "expired: {body}");
    let expired = app.ok(&owner, LIST, json!({ "status": "EXPIRED" })).await;
    assert_eq!(expired["invitations"]["edges"].as_array().unwrap().len(), 1);

    // Resent: a new link, the old one dead.
    let resent = app.ok(&owner, RESEND, json!({ "id": first })).await;
    assert_eq!(resent["resendInvitation"]["status"], "PENDING");
    let emails = invitations_to(&app, "late@inv.test").await;
    assert_eq!(emails.len(), 2);
    let new = token_in(&emails[1]);
    let (_, body) = app.post(&Auth::anonymous(), OFFER, json!({ "token": old })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.ok(&late, ACCEPT, json!({ "token": new })).await["acceptInvitation"]["status"], "ACCEPTED");

    // Cancelled: the link dies, and the email not yet sent is withdrawn.
    let second =
        app.ok(&owner, INVITE, json!({ "email": "never@inv.test", "roles": [] })).await["inviteMember"]["id"].clone();
    assert_eq!(app.ok(&owner, CANCEL, json!({ "id": second })).await["cancelInvitation"]["status"], "CANCELLED");
    assert!(invitations_to(&app, "never@inv.test").await.is_empty(), "withdrawn before it went out");
    let (_, body) = app.post(&owner, CANCEL, json!({ "id": second })).await;
    assert_eq!(error_code_of(&body), "CONFLICT", "{body}");
    let (_, body) = app.post(&owner, RESEND, json!({ "id": second })).await;
    assert_eq!(error_code_of(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn nobody_invites_into_more_than_they_hold() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-escalate").await;
    let admin = app.add_member(&owner, "admin@inv-escalate.test", &["admin"]).await;
    let staff = app.add_member(&owner, "staff@inv-escalate.test", &["staff"]).await;
    let owner_role = app.builtin_role_id(&owner, "OWNER").await;
    let staff_role = app.builtin_role_id(&owner, "STAFF").await;
    let (_, body) = app.post(&admin, INVITE, json!({ "email": "boss@x.test", "roles": [owner_role] })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "an admin cannot offer the owner's rights: {body}");
    let (_, body) = app.post(&staff, INVITE, json!({ "email": "pal@x.test", "roles": [staff_role] })).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "staff may not invite: {body}");
    let (_, body) = app.post(&owner, INVITE, json!({ "email": "pal@x.test", "roles": ["not-a-role"] })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app.post(&owner, INVITE, json!({ "email": "not an address", "roles": [] })).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert!(app.ok(&admin, INVITE, json!({ "email": "pal@x.test", "roles": [staff_role] })).await.is_object());
}

#[tokio::test]
async fn another_tenants_invitations_are_out_of_reach() {
    let app = TestApp::spawn().await;
    let (alice, _) = app.owner_of("inv-alice").await;
    let (bob, _) = app.owner_of("inv-bob").await;
    let id =
        app.ok(&alice, INVITE, json!({ "email": "guest@inv.test", "roles": [] })).await["inviteMember"]["id"].clone();
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.ok(&bob, LIST, json!({})).await["invitations"]["edges"], json!([]));
    for mutation in [CANCEL, RESEND] {
        let (_, body) = app.post(&bob, mutation, json!({ "id": id })).await;
        assert_eq!(error_code_of(&body), "NOT_FOUND", "{mutation}: {body}");
    }
    // The email is in Alice's delivery log, not Bob's.
    app.deliver().await;
    let log = "{ notificationDeliveries(first: 20) { edges { node { topic destination } } } }";
    let alices = app.ok(&alice, log, json!({})).await;
    assert_eq!(alices["notificationDeliveries"]["edges"][0]["node"]["topic"], "invitation", "{alices}");
    assert_eq!(app.ok(&bob, log, json!({})).await["notificationDeliveries"]["edges"], json!([]));
    // Still pending for Alice.
    let pending = app.ok(&alice, LIST, json!({ "status": "PENDING" })).await;
    assert_eq!(pending["invitations"]["edges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn two_sign_ups_racing_with_one_invitation_make_one_member() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-race").await;
    app.ok(&owner, INVITE, json!({ "email": "twin@inv.test", "roles": [] })).await;
    let token = token_in(&invitations_to(&app, "twin@inv.test").await[0]);
    let attempts = ["first twin passphrase", "second twin passphrase"].map(|password| {
        let app = &app;
        let input = json!({ "token": token, "displayName": "Twin", "password": password });
        async move { app.post(&Auth::anonymous(), SIGN_UP, json!({ "input": input })).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let joined = answers.iter().filter(|(_, body)| body["data"]["signUpWithInvitation"].is_object()).count();
    assert_eq!(joined, 1, "{answers:?}");
    let members = app.ok(&owner, "{ members(first: 10) { edges { node { user { email } } } } }", json!({})).await;
    let emails: Vec<&str> = members["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["node"]["user"]["email"].as_str())
        .collect();
    assert_eq!(emails.iter().filter(|e| **e == "twin@inv.test").count(), 1, "{emails:?}");
}

#[tokio::test]
async fn two_invitations_of_one_address_at_once_make_one() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("inv-twice").await;
    let admin = app.add_member(&owner, "admin@inv-twice.test", &["admin"]).await;
    let invites = [&owner, &admin].map(|who| {
        let app = &app;
        async move { app.post(who, INVITE, json!({ "email": "wanted@inv.test", "roles": [] })).await }
    });
    let answers = futures_util::future::join_all(invites).await;
    let made = answers.iter().filter(|(_, body)| body["data"]["inviteMember"].is_object()).count();
    let refused = answers.iter().filter(|(_, body)| error_code_of(body) == "CONFLICT").count();
    assert_eq!((made, refused), (1, 1), "{answers:?}");
    let pending = app.ok(&owner, LIST, json!({ "status": "PENDING" })).await;
    assert_eq!(pending["invitations"]["edges"].as_array().unwrap().len(), 1);
}
