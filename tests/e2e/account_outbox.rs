//! Account messages ("confirm your sign-up", "reset your password") are the
//! platform's, about accounts no tenant owns: they are queued, sent, retried
//! and forgotten in their own outbox (`account_messages` and its delivery log),
//! so every row of the notification tables names its tenant. Migration 31
//! moved them there and moves them back on the way down, keeping each message,
//! its state and its tries.

use std::time::Duration as StdDuration;

use serde_json::json;
use tessera_e2e::{Auth, TestApp};
use tessera_migrations::{Migrator, MigratorTrait};
use uuid::Uuid;

const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const SIGN_UP: &str = "mutation($email: String!) { signUp(input: {email: $email, password: \"a long enough passphrase\", displayName: \"Ana\"}) { email } }";
const INVITE: &str = "mutation($email: String!) { inviteMember(input: {email: $email, roleIds: []}) { id } }";

/// The ids `sql` reads, in order.
async fn ids(app: &TestApp, sql: &str) -> Vec<Uuid> {
    app.rows(sql).await.iter().map(|row| row.try_get_by_index::<Uuid>(0).expect("an id")).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.rows(sql).await[0].try_get_by_index::<i64>(0).expect("a count")
}

/// Waits for the reset message a request queues in the background.
async fn pending_reset(app: &TestApp) -> Vec<Uuid> {
    let sql = "SELECT id FROM account_messages WHERE topic = 'password.reset' AND status = 'pending'";
    for _ in 0..100 {
        let pending = ids(app, sql).await;
        if !pending.is_empty() {
            return pending;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("no password reset was queued");
}

#[tokio::test]
async fn account_messages_have_their_own_outbox_and_migration_31_keeps_them_both_ways() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("outbox-salon").await;
    app.ok(&owner, INVITE, json!({ "email": "guest@outbox.test" })).await;
    app.ok(&Auth::anonymous(), SIGN_UP, json!({ "email": "ana@outbox.test" })).await;
    app.deliver().await;

    // The sign-up link went out from the account outbox, and was forgotten
    // there once sent; the tenant's invitation is the tenant's.
    let sent = "SELECT id FROM account_messages WHERE status = 'sent' ORDER BY id";
    let sent_before = ids(&app, sent).await;
    assert_eq!(sent_before.len(), 1, "the sign-up link is an account message");
    let forgotten = "SELECT count(*) FROM account_messages WHERE topic = 'account.sign_up' AND (body IS NOT NULL OR variables <> '{}')";
    assert_eq!(count(&app, forgotten).await, 0, "a sent link is not kept");
    let tries = "SELECT count(*) FROM account_message_attempts a JOIN account_messages m ON m.id = a.message_id \
                 WHERE m.status = 'sent' AND a.outcome = 'sent'";
    let tries_before = count(&app, tries).await;
    assert_eq!(tries_before, 1, "its try is in the delivery log");
    let account_topics = "SELECT count(*) FROM notifications WHERE topic IN ('account.sign_up', 'password.reset', 'email.verification', 'account.sign_up_attempted', 'account.sign_in_method_added')";
    assert_eq!(count(&app, account_topics).await, 0, "no account message in a tenant's outbox");
    let invitations = "SELECT count(*) FROM notifications WHERE topic = 'invitation'";
    assert_eq!(count(&app, invitations).await, 1);

    // A reset requested now is still waiting when the schema goes down and up.
    let (_, body) = app.post(&Auth::anonymous(), REQUEST_RESET, json!({ "email": "owner@outbox-salon.test" })).await;
    assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    let waiting = pending_reset(&app).await;

    let conn = app.state.db.connection();
    // Down to just before migration 31, however many came after it.
    let from_31 = u32::try_from(Migrator::migrations().len() - 30).unwrap();
    Migrator::down(conn, Some(from_31)).await.expect("migration 31 goes down");
    let moved_back = ids(&app, "SELECT n.id FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id WHERE n.tenant_id IS NULL AND d.status = 'sent' AND d.channel = 'email' ORDER BY n.id").await;
    assert_eq!(moved_back, sent_before, "each sent message is back with its delivery");
    let pending_back = "SELECT n.id FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id WHERE n.tenant_id IS NULL AND d.status = 'pending'";
    assert_eq!(ids(&app, pending_back).await, waiting);
    let tries_back = "SELECT count(*) FROM notification_attempts WHERE tenant_id IS NULL AND outcome = 'sent'";
    assert_eq!(count(&app, tries_back).await, tries_before);
    assert_eq!(count(&app, invitations).await, 1);

    Migrator::up(conn, None).await.expect("migration 31 goes up again");
    assert_eq!(ids(&app, sent).await, sent_before);
    assert_eq!(count(&app, tries).await, tries_before);
    assert_eq!(count(&app, account_topics).await, 0);
    assert_eq!(count(&app, invitations).await, 1);

    // The waiting reset is sent once, with its message's id.
    app.deliver().await;
    let resets: Vec<_> = app.email.sent().into_iter().filter(|e| e.subject == "Reset your password").collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert!(resets[0].message_id.contains(&waiting[0].to_string()), "{}", resets[0].message_id);
    assert!(!resets[0].html.contains("/n/open/"), "an account email carries no tracking pixel");
    assert_eq!(
        ids(&app, "SELECT id FROM account_messages WHERE topic = 'password.reset' AND status = 'sent'").await,
        waiting
    );
}
