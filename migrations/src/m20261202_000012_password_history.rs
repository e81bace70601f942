//! Password history: the hashes of a user's recent passwords, so a new one cannot
//! be an old one. Global like users; requests may add, read and prune.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PasswordHistory {
    Table,
    Id,
    UserId,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PasswordHistory::Table)
                    .col(uuid(PasswordHistory::Id).primary_key())
                    .col(uuid(PasswordHistory::UserId))
                    .col(string_len(PasswordHistory::PasswordHash, 255))
                    .col(timestamp_with_time_zone(PasswordHistory::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasswordHistory::Table, PasswordHistory::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "password_history_user_idx",
            PasswordHistory::Table,
            [PasswordHistory::UserId, PasswordHistory::CreatedAt],
            false,
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "password_history", "SELECT, INSERT, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasswordHistory::Table).to_owned()).await
    }
}
