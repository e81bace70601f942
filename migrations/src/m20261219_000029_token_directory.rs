//! The token directory: globally unique keys (invitation tokens, open-tracking
//! tokens, partner client ids) leave the tenant tables' unique indexes for one
//! global table that maps each to its tenant and row (`tessera_kernel::directory`).
//!
//! A tenant table a distributed PostgreSQL shards by tenant can only keep
//! unique indexes that name the tenant (rule R2 of ARCHITECTURE.md's "Growing
//! past one database"), and a global table may not reference it (R5). So:
//! - `token_directory (kind, key)` is filled from the three tables, and their
//!   unique indexes on the key alone go; the directory's primary key keeps each
//!   key unique across tenants, and a lookup by key stays one indexed read
//!   (the directory is global, so its tenant column is `owner_tenant_id`: a
//!   `tenant_id` column marks a table distributed by it);
//! - the invitations' lookup function, which searched every tenant's
//!   invitations, goes: the directory answers instead;
//! - `oauth_tokens` (global: a bearer token arrives before any tenant) names
//!   its client's tenant (`client_tenant_id`, referencing `tenants`) instead of
//!   referencing `oauth_clients`, which becomes a tenant table keyed
//!   `(tenant_id, id)` on PostgreSQL. SQLite rebuilds `oauth_tokens` to drop
//!   the reference.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};

use crate::index_on;
use crate::m20261204_000014_invitations::lookup_function;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The unique indexes on a key alone, as `(index, table, column)`.
const KEY_INDEXES: [(&str, &str, &str); 3] = [
    ("invitations_token_key", "invitations", "token_hash"),
    ("notification_deliveries_open_key", "notification_deliveries", "open_token_hash"),
    ("oauth_clients_client_id_key", "oauth_clients", "client_id"),
];

/// Fills the directory from the rows that hold keys today.
const BACKFILL: &str = "\
INSERT INTO token_directory (kind, key, owner_tenant_id, row_id) \
    SELECT 'invitation', token_hash, tenant_id, id FROM invitations; \
INSERT INTO token_directory (kind, key, owner_tenant_id, row_id) \
    SELECT 'email_open', open_token_hash, tenant_id, id FROM notification_deliveries WHERE open_token_hash IS NOT NULL; \
INSERT INTO token_directory (kind, key, owner_tenant_id, row_id) \
    SELECT 'oauth_client', client_id, tenant_id, id FROM oauth_clients;";

fn directory_table() -> TableCreateStatement {
    let c = Alias::new;
    Table::create()
        .table(c("token_directory"))
        .col(string_len(c("kind"), 20))
        .col(string_len(c("key"), 64))
        .col(uuid_null(c("owner_tenant_id")))
        .col(uuid(c("row_id")))
        .primary_key(Index::create().col(c("kind")).col(c("key")))
        .foreign_key(
            ForeignKey::create()
                .from(c("token_directory"), c("owner_tenant_id"))
                .to(c("tenants"), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// `oauth_tokens` as migration 20 made it (`by_tenant` false: referencing its
/// client) or as this one leaves it (naming its client's tenant), under `name`.
fn oauth_tokens_table(name: &str, by_tenant: bool) -> TableCreateStatement {
    let c = Alias::new;
    let mut create = Table::create();
    create.table(c(name)).col(uuid(c("id")).primary_key()).col(uuid(c("client_row_id")));
    if by_tenant {
        create.col(uuid(c("client_tenant_id"))).foreign_key(
            ForeignKey::create()
                .from(c(name), c("client_tenant_id"))
                .to(c("tenants"), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        );
    } else {
        create.foreign_key(
            ForeignKey::create()
                .from(c(name), c("client_row_id"))
                .to(c("oauth_clients"), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    create
        .col(string_len(c("token_hash"), 64))
        .col(text(c("scopes")))
        .col(timestamp_with_time_zone(c("created_at")))
        .col(timestamp_with_time_zone(c("expires_at")))
        .to_owned()
}

/// Rebuilds `oauth_tokens` on SQLite, which can neither drop a foreign key nor
/// add a NOT NULL column to rows that exist. Nothing references the table.
async fn rebuild_oauth_tokens_on_sqlite(txn: &DatabaseTransaction, by_tenant: bool) -> Result<(), DbErr> {
    txn.execute(&oauth_tokens_table("oauth_tokens_rebuilt", by_tenant)).await?;
    let common = "id, client_row_id, token_hash, scopes, created_at, expires_at";
    let copy = if by_tenant {
        format!(
            "INSERT INTO oauth_tokens_rebuilt ({common}, client_tenant_id) \
             SELECT t.id, t.client_row_id, t.token_hash, t.scopes, t.created_at, t.expires_at, c.tenant_id \
             FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.client_row_id"
        )
    } else {
        format!("INSERT INTO oauth_tokens_rebuilt ({common}) SELECT {common} FROM oauth_tokens")
    };
    txn.execute_unprepared(&copy).await?;
    txn.execute_unprepared("DROP TABLE oauth_tokens").await?;
    txn.execute_unprepared("ALTER TABLE oauth_tokens_rebuilt RENAME TO oauth_tokens").await?;
    txn.execute(&index_on("oauth_tokens_hash_key", "oauth_tokens", &["token_hash"], true)).await?;
    txn.execute(&index_on("oauth_tokens_expiry_idx", "oauth_tokens", &["expires_at"], false)).await?;
    Ok(())
}

/// Creates and fills the directory and drops the indexes it replaces.
async fn fill_directory(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    conn.execute(&directory_table()).await?;
    conn.execute(&index_on("token_directory_tenant_idx", "token_directory", &["owner_tenant_id"], false)).await?;
    conn.execute_unprepared(BACKFILL).await?;
    for (name, _, _) in KEY_INDEXES {
        conn.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    Ok(())
}

/// Brings the unique indexes back and drops the directory.
async fn drop_directory(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for (name, table, column) in KEY_INDEXES {
        conn.execute(&index_on(name, table, &[column], true)).await?;
    }
    conn.execute_unprepared("DROP TABLE token_directory").await?;
    Ok(())
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            // One transaction on one connection (see migration 13).
            let txn = manager.get_connection().begin().await?;
            fill_directory(&txn).await?;
            rebuild_oauth_tokens_on_sqlite(&txn, true).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        fill_directory(conn).await?;
        postgres::grant(manager, "token_directory", "SELECT, INSERT, DELETE").await?;
        conn.execute_unprepared(
            "DROP FUNCTION tessera_invitation_tenant(text);
             ALTER TABLE oauth_tokens ADD COLUMN client_tenant_id uuid;
             UPDATE oauth_tokens t SET client_tenant_id = c.tenant_id FROM oauth_clients c WHERE c.id = t.client_row_id;
             ALTER TABLE oauth_tokens ALTER COLUMN client_tenant_id SET NOT NULL,
                 DROP CONSTRAINT oauth_tokens_client_row_id_fkey,
                 ADD FOREIGN KEY (client_tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
             ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_pkey, ADD PRIMARY KEY (tenant_id, id);
             DROP INDEX oauth_clients_tenant_idx;
             CREATE INDEX oauth_clients_lookup_idx ON oauth_clients (id);",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let txn = manager.get_connection().begin().await?;
            rebuild_oauth_tokens_on_sqlite(&txn, false).await?;
            drop_directory(&txn).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "DROP INDEX oauth_clients_lookup_idx;
             CREATE INDEX oauth_clients_tenant_idx ON oauth_clients (tenant_id, id);
             ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_pkey, ADD PRIMARY KEY (id);
             ALTER TABLE oauth_tokens DROP COLUMN client_tenant_id,
                 ADD CONSTRAINT oauth_tokens_client_row_id_fkey FOREIGN KEY (client_row_id)
                     REFERENCES oauth_clients (id) ON DELETE CASCADE;",
        )
        .await?;
        conn.execute_unprepared(&lookup_function()).await?;
        drop_directory(conn).await
    }
}
