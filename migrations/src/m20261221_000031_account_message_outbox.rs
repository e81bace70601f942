//! Account messages get an outbox of their own.
//!
//! "Confirm your email", "reset your password" and the other account messages
//! are the platform's, about accounts no tenant owns; since migration 13 they
//! sat in the notification tables with a NULL tenant. A table a distributed
//! PostgreSQL shards by tenant cannot hold rows of no tenant (rule R8 of
//! ARCHITECTURE.md's "Growing past one database"), so they move to the global
//! `account_messages` (a message and its one email delivery, which is all an
//! account message ever has) and `account_message_attempts` (its delivery
//! log), keeping their ids, so a message sent again keeps its `Message-ID`.
//!
//! The three notification tables then become tenant tables like the others:
//! `tenant_id` NOT NULL on both engines (SQLite rebuilds them, see migration
//! 13), the deliveries' target key led by it, and on PostgreSQL keys led by it
//! (R1), foreign keys between them carrying it (R4) and policies without the
//! NULL case (R7). Open-tracking keys of account emails go: account emails
//! carry no tracking pixel any more.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};

use crate::index_on;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const OUTBOX: [&str; 3] = ["notifications", "notification_deliveries", "notification_attempts"];

const NOTIFICATION_COLUMNS: &str = "id, tenant_id, topic, priority, recipient_user_id, recipient_name, \
    recipient_email, recipient_phone, locale, variables, subject_type, subject_id, dedupe_key, not_before, \
    created_at, read_at, cancelled_at, title, body, sent_by";
const DELIVERY_COLUMNS: &str = "id, tenant_id, notification_id, channel, destination, status, priority, attempts, \
    next_attempt_at, lease_until, last_error, provider_message_id, sent_at, opened_at, open_token_hash, \
    created_at, updated_at";
const ATTEMPT_COLUMNS: &str = "id, tenant_id, delivery_id, number, started_at, finished_at, outcome, response, error";

/// The account messages and their delivery log.
fn account_tables() -> [TableCreateStatement; 2] {
    let c = Alias::new;
    let messages = Table::create()
        .table(c("account_messages"))
        .col(uuid(c("id")).primary_key())
        .col(string_len(c("topic"), 60))
        .col(string_len(c("priority"), 10))
        .col(uuid_null(c("recipient_user_id")))
        .col(string_len_null(c("recipient_name"), 200))
        .col(string_len(c("recipient_email"), 320))
        .col(string_len(c("locale"), 35))
        .col(text(c("variables")))
        .col(string_len_null(c("subject_type"), 50))
        .col(string_len_null(c("subject_id"), 100))
        .col(text_null(c("title")))
        .col(text_null(c("body")))
        .col(string_len(c("status"), 10))
        .col(integer(c("attempts")))
        .col(timestamp_with_time_zone(c("next_attempt_at")))
        .col(timestamp_with_time_zone_null(c("lease_until")))
        .col(text_null(c("last_error")))
        .col(string_len_null(c("provider_message_id"), 200))
        .col(timestamp_with_time_zone_null(c("sent_at")))
        .col(timestamp_with_time_zone_null(c("cancelled_at")))
        .col(timestamp_with_time_zone(c("created_at")))
        .col(timestamp_with_time_zone(c("updated_at")))
        .to_owned();
    let attempts = Table::create()
        .table(c("account_message_attempts"))
        .col(uuid(c("id")).primary_key())
        .col(uuid(c("message_id")))
        .col(integer(c("number")))
        .col(timestamp_with_time_zone(c("started_at")))
        .col(timestamp_with_time_zone(c("finished_at")))
        .col(string_len(c("outcome"), 10))
        .col(text_null(c("response")))
        .col(text_null(c("error")))
        .foreign_key(
            ForeignKey::create()
                .from(c("account_message_attempts"), c("message_id"))
                .to(c("account_messages"), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    [messages, attempts]
}

/// Creates the account outbox and moves the messages of no tenant there (each
/// with its email delivery: an account message has no other), then forgets
/// them in the notification tables.
async fn move_account_messages(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for table in account_tables() {
        conn.execute(&table).await?;
    }
    conn.execute(&index_on("account_messages_due_idx", "account_messages", &["status", "next_attempt_at"], false))
        .await?;
    conn.execute(&index_on(
        "account_messages_subject_idx",
        "account_messages",
        &["subject_type", "subject_id", "topic"],
        false,
    ))
    .await?;
    conn.execute(&index_on(
        "account_message_attempts_message_idx",
        "account_message_attempts",
        &["message_id", "number"],
        false,
    ))
    .await?;
    for statement in [
        "INSERT INTO account_messages (id, topic, priority, recipient_user_id, recipient_name, recipient_email, \
         locale, variables, subject_type, subject_id, title, body, status, attempts, next_attempt_at, lease_until, \
         last_error, provider_message_id, sent_at, cancelled_at, created_at, updated_at) \
         SELECT n.id, n.topic, n.priority, n.recipient_user_id, n.recipient_name, d.destination, n.locale, \
         n.variables, n.subject_type, n.subject_id, n.title, n.body, d.status, d.attempts, d.next_attempt_at, \
         d.lease_until, d.last_error, d.provider_message_id, d.sent_at, n.cancelled_at, n.created_at, d.updated_at \
         FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id AND d.channel = 'email' \
         WHERE n.tenant_id IS NULL",
        "INSERT INTO account_message_attempts (id, message_id, number, started_at, finished_at, outcome, response, \
         error) SELECT a.id, d.notification_id, a.number, a.started_at, a.finished_at, a.outcome, a.response, a.error \
         FROM notification_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id \
         WHERE a.tenant_id IS NULL AND d.channel = 'email'",
        "DELETE FROM token_directory WHERE kind = 'email_open' AND owner_tenant_id IS NULL",
        "DELETE FROM notification_attempts WHERE tenant_id IS NULL",
        "DELETE FROM notification_deliveries WHERE tenant_id IS NULL",
        "DELETE FROM notifications WHERE tenant_id IS NULL",
    ] {
        conn.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Moves the account messages back into the notification tables (each
/// delivery keeps its message's id) and drops the account outbox.
async fn move_back_account_messages(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for statement in [
        "INSERT INTO notifications (id, topic, priority, recipient_user_id, recipient_name, recipient_email, locale, \
         variables, subject_type, subject_id, not_before, created_at, cancelled_at, title, body) \
         SELECT id, topic, priority, recipient_user_id, recipient_name, recipient_email, locale, variables, \
         subject_type, subject_id, created_at, created_at, cancelled_at, title, body FROM account_messages",
        "INSERT INTO notification_deliveries (id, notification_id, channel, destination, status, priority, attempts, \
         next_attempt_at, lease_until, last_error, provider_message_id, sent_at, created_at, updated_at) \
         SELECT id, id, 'email', recipient_email, status, \
         CASE priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END, attempts, \
         next_attempt_at, lease_until, last_error, provider_message_id, sent_at, created_at, updated_at \
         FROM account_messages",
        "INSERT INTO notification_attempts (id, delivery_id, number, started_at, finished_at, outcome, response, \
         error) SELECT id, message_id, number, started_at, finished_at, outcome, response, error \
         FROM account_message_attempts",
        "DROP TABLE account_message_attempts",
        "DROP TABLE account_messages",
    ] {
        conn.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// The notification tables under `names` (the real ones or the staged copies
/// of the SQLite rebuild), `tenant_id` required or not, as SQLite keeps them.
fn outbox_tables(names: [&str; 3], tenant_required: bool) -> [TableCreateStatement; 3] {
    let [notifications, deliveries, attempts] = names.map(Alias::new);
    let c = Alias::new;
    let tenant = || if tenant_required { uuid(c("tenant_id")) } else { uuid_null(c("tenant_id")) };
    let tenant_fk = |table: &Alias| {
        ForeignKey::create()
            .from(table.clone(), c("tenant_id"))
            .to(c("tenants"), c("id"))
            .on_delete(ForeignKeyAction::Cascade)
            .to_owned()
    };
    let notifications_table = Table::create()
        .table(notifications.clone())
        .col(uuid(c("id")).primary_key())
        .col(tenant())
        .col(string_len(c("topic"), 60))
        .col(string_len(c("priority"), 10))
        .col(uuid_null(c("recipient_user_id")))
        .col(string_len_null(c("recipient_name"), 200))
        .col(string_len_null(c("recipient_email"), 320))
        .col(string_len_null(c("recipient_phone"), 32))
        .col(string_len(c("locale"), 35))
        .col(text(c("variables")))
        .col(string_len_null(c("subject_type"), 50))
        .col(string_len_null(c("subject_id"), 100))
        .col(string_len_null(c("dedupe_key"), 200))
        .col(timestamp_with_time_zone(c("not_before")))
        .col(timestamp_with_time_zone(c("created_at")))
        .col(timestamp_with_time_zone_null(c("read_at")))
        .col(timestamp_with_time_zone_null(c("cancelled_at")))
        .col(text_null(c("title")))
        .col(text_null(c("body")))
        .col(uuid_null(c("sent_by")))
        .foreign_key(&mut tenant_fk(&notifications))
        .to_owned();
    let deliveries_table = Table::create()
        .table(deliveries.clone())
        .col(uuid(c("id")).primary_key())
        .col(tenant())
        .col(uuid(c("notification_id")))
        .col(string_len(c("channel"), 10))
        .col(string_len(c("destination"), 320))
        .col(string_len(c("status"), 10))
        .col(small_integer(c("priority")))
        .col(integer(c("attempts")))
        .col(timestamp_with_time_zone(c("next_attempt_at")))
        .col(timestamp_with_time_zone_null(c("lease_until")))
        .col(text_null(c("last_error")))
        .col(string_len_null(c("provider_message_id"), 200))
        .col(timestamp_with_time_zone_null(c("sent_at")))
        .col(timestamp_with_time_zone_null(c("opened_at")))
        .col(string_len_null(c("open_token_hash"), 64))
        .col(timestamp_with_time_zone(c("created_at")))
        .col(timestamp_with_time_zone(c("updated_at")))
        .foreign_key(&mut tenant_fk(&deliveries))
        .foreign_key(
            ForeignKey::create()
                .from(deliveries.clone(), c("notification_id"))
                .to(notifications.clone(), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    let attempts_table = Table::create()
        .table(attempts.clone())
        .col(uuid(c("id")).primary_key())
        .col(tenant())
        .col(uuid(c("delivery_id")))
        .col(integer(c("number")))
        .col(timestamp_with_time_zone(c("started_at")))
        .col(timestamp_with_time_zone(c("finished_at")))
        .col(string_len(c("outcome"), 10))
        .col(text_null(c("response")))
        .col(text_null(c("error")))
        .foreign_key(&mut tenant_fk(&attempts))
        .foreign_key(
            ForeignKey::create()
                .from(attempts.clone(), c("delivery_id"))
                .to(deliveries.clone(), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    [notifications_table, deliveries_table, attempts_table]
}

/// The deliveries' target key: one delivery per message, channel and
/// destination; led by the tenant from this migration on.
fn target_key(with_tenant: bool) -> IndexCreateStatement {
    let columns: &[&str] = if with_tenant {
        &["tenant_id", "notification_id", "channel", "destination"]
    } else {
        &["notification_id", "channel", "destination"]
    };
    index_on("notification_deliveries_target_key", "notification_deliveries", columns, true)
}

/// Rebuilds the notification tables on SQLite, which cannot change a column's
/// nullability, keeping every row and index (see migration 13 for why in one
/// transaction on one connection).
async fn rebuild_on_sqlite(conn: &impl ConnectionTrait, tenant_required: bool) -> Result<(), DbErr> {
    let staged = OUTBOX.map(|name| format!("{name}_rebuilt"));
    for table in outbox_tables([&staged[0], &staged[1], &staged[2]], tenant_required) {
        conn.execute(&table).await?;
    }
    let columns = [NOTIFICATION_COLUMNS, DELIVERY_COLUMNS, ATTEMPT_COLUMNS];
    for ((old, new), columns) in OUTBOX.iter().zip(&staged).zip(columns) {
        conn.execute_unprepared(&format!("INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}")).await?;
    }
    // Children first, so dropping a parent cascades into nothing.
    for old in OUTBOX.iter().rev() {
        conn.execute_unprepared(&format!("DROP TABLE {old}")).await?;
    }
    for (old, new) in OUTBOX.iter().zip(&staged) {
        conn.execute_unprepared(&format!("ALTER TABLE {new} RENAME TO {old}")).await?;
    }
    for index in [
        index_on("notifications_dedupe_key", "notifications", &["tenant_id", "dedupe_key"], true),
        index_on("notifications_recipient_idx", "notifications", &["recipient_user_id", "id"], false),
        index_on("notifications_subject_idx", "notifications", &["tenant_id", "subject_type", "subject_id"], false),
        index_on("notifications_topic_day_idx", "notifications", &["tenant_id", "topic", "created_at"], false),
        index_on("notification_deliveries_due_idx", "notification_deliveries", &["status", "next_attempt_at"], false),
        target_key(tenant_required),
        index_on("notification_attempts_delivery_idx", "notification_attempts", &["delivery_id", "number"], false),
    ] {
        conn.execute(&index).await?;
    }
    Ok(())
}

/// The PostgreSQL statements giving the notification tables keys led by the
/// tenant (`up`) or taking it out again, one statement each.
fn rekey_on_postgres(up: bool) -> Vec<String> {
    let (lead, nullability) = if up { ("tenant_id, ", "SET NOT NULL") } else { ("", "DROP NOT NULL") };
    let mut statements = vec![
        "ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_delivery_id_fkey".to_owned(),
        "ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_notification_id_fkey".to_owned(),
        "DROP INDEX notification_deliveries_target_key".to_owned(),
    ];
    for table in OUTBOX {
        // The new key first on the way down: a key's column cannot be nullable.
        let rekey = format!("DROP CONSTRAINT {table}_pkey, ADD CONSTRAINT {table}_pkey PRIMARY KEY ({lead}id)");
        let nulls = format!("ALTER COLUMN tenant_id {nullability}");
        let (first, second) = if up { (nulls, rekey) } else { (rekey, nulls) };
        statements.push(format!("ALTER TABLE {table} {first}, {second}"));
    }
    statements.push(format!(
        "ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_notification_id_fkey \
         FOREIGN KEY ({lead}notification_id) REFERENCES notifications ({lead}id) ON DELETE CASCADE"
    ));
    statements.push(format!(
        "ALTER TABLE notification_attempts ADD CONSTRAINT notification_attempts_delivery_id_fkey \
         FOREIGN KEY ({lead}delivery_id) REFERENCES notification_deliveries ({lead}id) ON DELETE CASCADE"
    ));
    statements
}

/// Drops the notification tables' policies and lets their owner, which may
/// be the migrating user, see every row while they move: a forced policy for
/// the request role alone hides them all from anyone else but a superuser.
/// `postgres::isolate` forces it again.
async fn unguard(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    postgres::drop_policies(manager, &OUTBOX).await?;
    for table in OUTBOX {
        manager
            .get_connection()
            .execute_unprepared(&format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
            .await?;
    }
    Ok(())
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let txn = manager.get_connection().begin().await?;
            move_account_messages(&txn).await?;
            rebuild_on_sqlite(&txn, true).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        unguard(manager).await?;
        move_account_messages(conn).await?;
        // Queued in the causing request outside any tenant, sent and withdrawn
        // by the worker and by later requests.
        for table in ["account_messages", "account_message_attempts"] {
            postgres::grant(manager, table, "SELECT, INSERT, UPDATE").await?;
        }
        for statement in rekey_on_postgres(true) {
            conn.execute_unprepared(&statement).await?;
        }
        conn.execute(&target_key(true)).await?;
        let own = format!("tenant_id = {TENANT_FN}");
        for table in OUTBOX {
            postgres::isolate(manager, table, &own, &own).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let txn = manager.get_connection().begin().await?;
            rebuild_on_sqlite(&txn, false).await?;
            move_back_account_messages(&txn).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        unguard(manager).await?;
        for statement in rekey_on_postgres(false) {
            conn.execute_unprepared(&statement).await?;
        }
        conn.execute(&target_key(false)).await?;
        // As migration 13 left them.
        let own = format!("tenant_id = {TENANT_FN}");
        let own_or_platform = format!("{own} OR (tenant_id IS NULL AND {TENANT_FN} IS NULL)");
        for table in OUTBOX {
            postgres::isolate(manager, table, &own, &own_or_platform).await?;
        }
        move_back_account_messages(conn).await
    }
}
