//! The token directory (`tessera_kernel::directory`): a key that arrives before
//! its tenant is known (an invitation link, a partner client's id) leads to one
//! row of one tenant, is unique across tenants, is replaced with its token, and
//! goes with its tenant.

use chrono::Duration;
use serde_json::json;
use tessera_e2e::TestApp;
use tessera_kernel::TenantId;
use tessera_kernel::directory::{self, Entry, KeyKind};
use tessera_kernel::token::hash_token;
use uuid::Uuid;

const CREATE_CLIENT: &str =
    "mutation { createOAuthClient(input: {name: \"Widget\", scopes: [\"service:read\"]}) { client { id clientId } } }";
const INVITE: &str = "mutation($email: String!) { inviteMember(input: {email: $email, roleIds: []}) { id } }";
const RESEND: &str = "mutation($id: ID!) { resendInvitation(id: $id) { status } }";

/// The token of the last invitation link sent to `to`.
async fn last_link_to(app: &TestApp, to: &str) -> String {
    app.deliver().await;
    let email = app.email.sent().into_iter().rfind(|e| e.to == to).expect("an invitation email");
    let (_, rest) = email.text.split_once("#token=").expect("a link");
    rest.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_key_leads_to_one_tenants_row_is_unique_across_tenants_and_goes_with_its_tenant() {
    let app = TestApp::spawn().await;
    let (alpha, alpha_id) = app.owner_of("dir-alpha").await;
    let (beta, beta_id) = app.owner_of("dir-beta").await;
    let (alpha_id, beta_id) = (TenantId(alpha_id.parse().unwrap()), TenantId(beta_id.parse().unwrap()));
    let conn = app.state.db.connection();

    let client = app.ok(&alpha, CREATE_CLIENT, json!({})).await["createOAuthClient"]["client"].clone();
    let client_id = client["clientId"].as_str().unwrap();
    let found = directory::resolve(conn, KeyKind::OAuthClient, client_id).await.unwrap().expect("registered");
    assert_eq!(found.tenant_id, Some(alpha_id));
    assert_eq!(found.row_id.to_string(), client["id"].as_str().unwrap());
    let elsewhere = Entry { tenant_id: Some(beta_id), row_id: Uuid::now_v7() };
    let taken = directory::register(conn, KeyKind::OAuthClient, client_id, elsewhere).await;
    assert!(taken.is_err(), "a key already naming one tenant's row cannot name another's");

    let invitation = app.ok(&beta, INVITE, json!({ "email": "guest@dir.test" })).await["inviteMember"]["id"].clone();
    let first = hash_token(&last_link_to(&app, "guest@dir.test").await);
    let found = directory::resolve(conn, KeyKind::Invitation, &first).await.unwrap().expect("registered");
    assert_eq!((found.tenant_id, found.row_id.to_string()), (Some(beta_id), invitation.as_str().unwrap().to_owned()));
    app.clock.advance(Duration::minutes(2));
    app.ok(&beta, RESEND, json!({ "id": invitation })).await;
    let second = hash_token(&last_link_to(&app, "guest@dir.test").await);
    assert_ne!(first, second);
    assert_eq!(directory::resolve(conn, KeyKind::Invitation, &first).await.unwrap(), None, "the old link is gone");
    assert_eq!(
        directory::resolve(conn, KeyKind::Invitation, &second).await.unwrap().map(|e| e.tenant_id),
        Some(Some(beta_id))
    );

    // A purged tenant's keys go with it; the other's stay.
    app.ok(&alpha, "mutation { deleteTenant { id } }", json!({})).await;
    app.clock.advance(Duration::days(31));
    assert_eq!(app.state.services.tenants.purge_expired(app.now()).await.unwrap(), 1);
    assert_eq!(directory::resolve(conn, KeyKind::OAuthClient, client_id).await.unwrap(), None);
    assert!(directory::resolve(conn, KeyKind::Invitation, &second).await.unwrap().is_some());
}
