//! Partner clients under row-level security, like every other tenant table.
//!
//! `oauth_clients` was read outside any tenant (a client id or a bearer token
//! arrives before its tenant is known) and so had no policy. Since migration 29
//! the token directory and the tokens name the client's tenant, so every read
//! now happens in it, and the table gets the same forced policy as the rest.
//! A client's liveness is asked by its row id alone (a subscription opened with
//! its token), so the directory gets an index on the row id to find its tenant.
//! PostgreSQL only, apart from the index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::index_on;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["oauth_clients"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index_on("token_directory_row_idx", "token_directory", &["row_id"], false)).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let own = format!("tenant_id = {TENANT_FN}");
            postgres::isolate(manager, "oauth_clients", &own, &own).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
            let conn = manager.get_connection();
            conn.execute_unprepared("ALTER TABLE oauth_clients NO FORCE ROW LEVEL SECURITY").await?;
            conn.execute_unprepared("ALTER TABLE oauth_clients DISABLE ROW LEVEL SECURITY").await?;
        }
        manager
            .drop_index(Index::drop().name("token_directory_row_idx").table(Alias::new("token_directory")).to_owned())
            .await
    }
}
