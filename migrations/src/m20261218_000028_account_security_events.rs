//! Account security events get a table of their own.
//!
//! A failed login or a new passkey is about an account, which no tenant owns;
//! until now such events sat in `security_events` with a NULL tenant. A table
//! a distributed PostgreSQL shards by tenant cannot hold rows of no tenant
//! (rule R8 of ARCHITECTURE.md's "Growing past one database"), so they move to
//! the global `account_security_events`, and `security_events` becomes a
//! tenant table like the others: `tenant_id` NOT NULL on both engines (SQLite
//! rebuilds the table), and on PostgreSQL a key led by it and a policy without
//! the NULL case. The expiry function keeps its signature: a NULL tenant now
//! means the account table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};

use crate::index_on;
use crate::m20261127_000007_security_and_retention::{RETENTION_FLOOR, expiry_functions};
use crate::postgres::{self, TENANT_FN, USER_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const COLUMNS: &str = "id, user_id, actor_user_id, kind, severity, details, request_id, ip, user_agent, occurred_at";

/// Whether a table of security events has a tenant column, and of what kind.
#[derive(Clone, Copy, PartialEq)]
enum Tenant {
    /// The account events' table.
    None,
    /// `security_events` as this migration leaves it.
    Required,
    /// `security_events` as it was before.
    Optional,
}

/// The columns every security event has, on `table`, with the `tenant` column
/// (referencing its tenant) where there is one.
fn events_table(table: &str, tenant: Tenant) -> TableCreateStatement {
    let c = Alias::new;
    let mut create = Table::create();
    create.table(c(table)).col(uuid(c("id")).primary_key());
    if tenant != Tenant::None {
        create.col(if tenant == Tenant::Required { uuid(c("tenant_id")) } else { uuid_null(c("tenant_id")) });
        create.foreign_key(
            ForeignKey::create()
                .from(c(table), c("tenant_id"))
                .to(c("tenants"), c("id"))
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    create
        .col(uuid_null(c("user_id")))
        .col(uuid_null(c("actor_user_id")))
        .col(string_len(c("kind"), 50))
        .col(string_len(c("severity"), 10))
        .col(text(c("details")))
        .col(string_len_null(c("request_id"), 100))
        .col(string_len_null(c("ip"), 64))
        .col(string_len_null(c("user_agent"), 500))
        .col(timestamp_with_time_zone(c("occurred_at")))
        .to_owned()
}

/// The expiry function, now reading account events from their own table.
fn expiry_function() -> String {
    format!(
        r#"
CREATE OR REPLACE FUNCTION tessera_expire_security_events(p_tenant uuid, p_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    removed bigint;
    caller_maintenance text := coalesce(current_setting('app.maintenance', true), '');
BEGIN
    PERFORM set_config('app.maintenance', 'on', true);
    IF p_tenant IS NULL THEN
        DELETE FROM account_security_events
         WHERE occurred_at < least(p_before, now() - interval '{RETENTION_FLOOR}');
    ELSE
        DELETE FROM security_events
         WHERE tenant_id = p_tenant
           AND occurred_at < least(p_before, now() - interval '{RETENTION_FLOOR}');
    END IF;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('app.maintenance', caller_maintenance, true);
    RETURN removed;
END
$$;
"#
    )
}

/// Rebuilds `security_events` on SQLite, which cannot add NOT NULL to a
/// column. Nothing references the table, so it is copied, dropped and renamed.
async fn rebuild_on_sqlite(txn: &DatabaseTransaction, tenant: Tenant) -> Result<(), DbErr> {
    txn.execute(&events_table("security_events_rebuilt", tenant)).await?;
    txn.execute_unprepared(&format!(
        "INSERT INTO security_events_rebuilt (tenant_id, {COLUMNS}) SELECT tenant_id, {COLUMNS} FROM security_events"
    ))
    .await?;
    txn.execute_unprepared("DROP TABLE security_events").await?;
    txn.execute_unprepared("ALTER TABLE security_events_rebuilt RENAME TO security_events").await?;
    txn.execute(&index_on("security_events_tenant_idx", "security_events", &["tenant_id", "occurred_at"], false))
        .await?;
    txn.execute(&index_on("security_events_user_idx", "security_events", &["user_id", "occurred_at"], false)).await?;
    Ok(())
}

/// Creates the account events' table and moves the events of no tenant there.
async fn move_account_events(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let table = "account_security_events";
    conn.execute(&events_table(table, Tenant::None)).await?;
    conn.execute(&index_on("account_security_events_user_idx", table, &["user_id", "occurred_at"], false)).await?;
    conn.execute(&index_on("account_security_events_time_idx", table, &["occurred_at"], false)).await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM security_events WHERE tenant_id IS NULL"
    ))
    .await?;
    conn.execute_unprepared("DELETE FROM security_events WHERE tenant_id IS NULL").await?;
    Ok(())
}

/// Moves the account events back and drops their table.
async fn move_back_account_events(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    conn.execute_unprepared(&format!(
        "INSERT INTO security_events ({COLUMNS}) SELECT {COLUMNS} FROM account_security_events"
    ))
    .await?;
    conn.execute_unprepared("DROP TABLE account_security_events").await?;
    Ok(())
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            // One transaction on one connection: all or nothing, and no pooled
            // connection with an older copy of the schema takes part (see
            // migration 13). PostgreSQL runs each migration in a transaction.
            let txn = manager.get_connection().begin().await?;
            move_account_events(&txn).await?;
            rebuild_on_sqlite(&txn, Tenant::Required).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        move_account_events(conn).await?;
        // Written and read outside any tenant, found by user, like the login
        // history; only the expiry function deletes.
        postgres::grant(manager, "account_security_events", "SELECT, INSERT").await?;
        postgres::drop_policies(manager, &["security_events"]).await?;
        conn.execute_unprepared(
            "ALTER TABLE security_events ALTER COLUMN tenant_id SET NOT NULL, \
             DROP CONSTRAINT security_events_pkey, ADD PRIMARY KEY (tenant_id, id)",
        )
        .await?;
        // A user also reads the tenant events about themselves, in every tenant.
        let own = format!("tenant_id = {TENANT_FN} OR user_id = {USER_FN}");
        postgres::isolate(manager, "security_events", &own, &own).await?;
        conn.execute_unprepared(&expiry_function()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let txn = manager.get_connection().begin().await?;
            rebuild_on_sqlite(&txn, Tenant::Optional).await?;
            move_back_account_events(&txn).await?;
            return txn.commit().await;
        }
        let conn = manager.get_connection();
        postgres::drop_policies(manager, &["security_events"]).await?;
        conn.execute_unprepared(
            "ALTER TABLE security_events DROP CONSTRAINT security_events_pkey, ADD PRIMARY KEY (id), \
             ALTER COLUMN tenant_id DROP NOT NULL",
        )
        .await?;
        let own = format!("tenant_id IS NULL OR tenant_id = {TENANT_FN} OR user_id = {USER_FN}");
        postgres::isolate(manager, "security_events", &own, &own).await?;
        conn.execute_unprepared(&expiry_functions()).await?;
        move_back_account_events(conn).await
    }
}
