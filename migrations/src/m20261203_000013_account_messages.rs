//! Account messages and tokens.
//!
//! - Notifications may belong to no tenant: messages about a person's account
//!   (verify your email, reset your password) are the platform's, since accounts
//!   are global. `tenant_id` of the three outbox tables becomes nullable; a
//!   tenant's requests still see only their tenant's rows, and a request outside
//!   any tenant may queue a platform message.
//! - `account_tokens`: single-use email-verification and password-reset tokens,
//!   kept as SHA-256 hashes with an expiry.
//! - `users.email_verified_at`.
//!
//! SQLite cannot drop a NOT NULL constraint, so there the outbox tables are rebuilt
//! (new tables, rows copied, old tables dropped children first, new ones renamed;
//! SQLite rewrites the foreign keys on rename).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    Email,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerifiedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

const OUTBOX: [&str; 3] = ["notifications", "notification_deliveries", "notification_attempts"];

/// The outbox tables as they are after this migration, under `names` (the real
/// names, or the temporary ones of the SQLite rebuild).
fn outbox_tables(names: [&str; 3]) -> [TableCreateStatement; 3] {
    let [notifications, deliveries, attempts] = names.map(Alias::new);
    let tenant_fk = |table: &Alias| {
        ForeignKey::create()
            .from(table.clone(), Alias::new("tenant_id"))
            .to(Tenants::Table, Tenants::Id)
            .on_delete(ForeignKeyAction::Cascade)
            .to_owned()
    };
    let c = Alias::new;
    let notifications_table = Table::create()
        .table(notifications.clone())
        .col(uuid(c("id")).primary_key())
        .col(uuid_null(c("tenant_id")))
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
        .foreign_key(&mut tenant_fk(&notifications))
        .to_owned();
    let deliveries_table = Table::create()
        .table(deliveries.clone())
        .col(uuid(c("id")).primary_key())
        .col(uuid_null(c("tenant_id")))
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
        .col(uuid_null(c("tenant_id")))
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

/// The outbox's indexes, as migration 8 made them.
fn outbox_indexes() -> Vec<IndexCreateStatement> {
    let index = |name: &str, table: &str, columns: &[&str], unique: bool| {
        let mut index = Index::create();
        index.name(name).table(Alias::new(table));
        for column in columns {
            index.col(Alias::new(*column));
        }
        if unique {
            index.unique();
        }
        index.to_owned()
    };
    vec![
        index("notifications_dedupe_key", "notifications", &["tenant_id", "dedupe_key"], true),
        index("notifications_recipient_idx", "notifications", &["recipient_user_id", "id"], false),
        index("notifications_subject_idx", "notifications", &["tenant_id", "subject_type", "subject_id"], false),
        index("notification_deliveries_due_idx", "notification_deliveries", &["status", "next_attempt_at"], false),
        index(
            "notification_deliveries_target_key",
            "notification_deliveries",
            &["notification_id", "channel", "destination"],
            true,
        ),
        index("notification_deliveries_open_key", "notification_deliveries", &["open_token_hash"], true),
        index("notification_attempts_delivery_idx", "notification_attempts", &["delivery_id", "number"], false),
    ]
}

/// Rebuilds the outbox in one transaction on one connection: atomic, and no
/// pooled connection with an older copy of the schema takes part (SQLite checks
/// names against a connection's cached schema while parsing `RENAME`).
async fn rebuild_outbox_on_sqlite(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let txn = manager.get_connection().begin().await?;
    let staged = OUTBOX.map(|name| format!("{name}_rebuilt"));
    let staged_names = [staged[0].as_str(), staged[1].as_str(), staged[2].as_str()];
    for table in outbox_tables(staged_names) {
        txn.execute(&table).await?;
    }
    for (old, new) in OUTBOX.iter().zip(&staged) {
        txn.execute_unprepared(&format!("INSERT INTO {new} SELECT * FROM {old}")).await?;
    }
    // Children first, so dropping a parent cascades into nothing.
    for old in OUTBOX.iter().rev() {
        txn.execute_unprepared(&format!("DROP TABLE {old}")).await?;
    }
    for (old, new) in OUTBOX.iter().zip(&staged) {
        txn.execute_unprepared(&format!("ALTER TABLE {new} RENAME TO {old}")).await?;
    }
    for index in outbox_indexes() {
        txn.execute(&index).await?;
    }
    txn.commit().await
}

/// Lets requests outside a tenant queue platform messages (tenant NULL), which
/// stay invisible to every tenant.
async fn allow_platform_rows_on_postgres(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    for table in OUTBOX {
        conn.execute_unprepared(&format!("ALTER TABLE {table} ALTER COLUMN tenant_id DROP NOT NULL")).await?;
    }
    postgres::drop_policies(manager, &OUTBOX).await?;
    let own = format!("tenant_id = {TENANT_FN}");
    let own_or_platform = format!("{own} OR (tenant_id IS NULL AND {TENANT_FN} IS NULL)");
    for table in OUTBOX {
        postgres::isolate(manager, table, &own, &own_or_platform).await?;
    }
    Ok(())
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => allow_platform_rows_on_postgres(manager).await?,
            _ => rebuild_outbox_on_sqlite(manager).await?,
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::EmailVerifiedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountTokens::Table)
                    .col(uuid(AccountTokens::Id).primary_key())
                    .col(uuid(AccountTokens::UserId))
                    .col(string_len(AccountTokens::Purpose, 30))
                    .col(string_len(AccountTokens::TokenHash, 64))
                    .col(string_len(AccountTokens::Email, 320))
                    .col(timestamp_with_time_zone(AccountTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountTokens::UsedAt))
                    .col(timestamp_with_time_zone(AccountTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountTokens::Table, AccountTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "account_tokens_hash_key", AccountTokens::Table, [AccountTokens::TokenHash], true)
            .await?;
        create_index(
            manager,
            "account_tokens_user_idx",
            AccountTokens::Table,
            [AccountTokens::UserId, AccountTokens::Purpose],
            false,
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "account_tokens", "SELECT, INSERT, UPDATE, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccountTokens::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailVerifiedAt).to_owned()).await?;
        // Platform messages cannot go back into tables that require a tenant.
        let conn = manager.get_connection();
        for table in OUTBOX.iter().rev() {
            conn.execute_unprepared(&format!("DELETE FROM {table} WHERE tenant_id IS NULL")).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, &OUTBOX).await?;
            let own = format!("tenant_id = {TENANT_FN}");
            for table in OUTBOX {
                conn.execute_unprepared(&format!("ALTER TABLE {table} ALTER COLUMN tenant_id SET NOT NULL")).await?;
                postgres::isolate(manager, table, &own, &own).await?;
            }
        }
        Ok(())
    }
}
