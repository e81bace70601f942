//! The key that derives a rotated refresh token's successor from it, so a
//! client repeating a refresh within seconds (several requests failing at
//! once) gets the same new tokens instead of tripping reuse detection.
//! Random, made by the database, read only by the gateway.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let random = match manager.get_database_backend() {
            DbBackend::Postgres => "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
            _ => "lower(hex(randomblob(32)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO platform_secrets (name, value) VALUES ('refresh_successor_key', {random})"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM platform_secrets WHERE name = 'refresh_successor_key'")
            .await?;
        Ok(())
    }
}
