//! Multi-factor authentication: TOTP authenticators, one-time backup codes, and
//! the short-lived challenges of a login waiting for its second factor. Global
//! like users.
//!
//! A TOTP secret must be read back to check codes, so it is stored as it is
//! (base32); `last_used_step` makes each code usable once. Backup codes and
//! challenge tokens have full entropy and are stored as SHA-256 hashes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum TotpCredentials {
    Table,
    UserId,
    Secret,
    ConfirmedAt,
    LastUsedStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BackupCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    FailedAttempts,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn user_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Users::Table, Users::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TotpCredentials::Table)
                    .col(uuid(TotpCredentials::UserId).primary_key())
                    .col(string_len(TotpCredentials::Secret, 64))
                    .col(timestamp_with_time_zone_null(TotpCredentials::ConfirmedAt))
                    .col(big_integer_null(TotpCredentials::LastUsedStep))
                    .col(timestamp_with_time_zone(TotpCredentials::CreatedAt))
                    .foreign_key(&mut user_fk(TotpCredentials::Table, TotpCredentials::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BackupCodes::Table)
                    .col(uuid(BackupCodes::Id).primary_key())
                    .col(uuid(BackupCodes::UserId))
                    .col(string_len(BackupCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(BackupCodes::UsedAt))
                    .col(timestamp_with_time_zone(BackupCodes::CreatedAt))
                    .foreign_key(&mut user_fk(BackupCodes::Table, BackupCodes::UserId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "backup_codes_user_code_key",
            BackupCodes::Table,
            [BackupCodes::UserId, BackupCodes::CodeHash],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(uuid(MfaChallenges::Id).primary_key())
                    .col(uuid(MfaChallenges::UserId))
                    .col(string_len(MfaChallenges::TokenHash, 64))
                    .col(timestamp_with_time_zone(MfaChallenges::CreatedAt))
                    .col(timestamp_with_time_zone(MfaChallenges::ExpiresAt))
                    .col(timestamp_with_time_zone_null(MfaChallenges::UsedAt))
                    .col(integer(MfaChallenges::FailedAttempts))
                    .foreign_key(&mut user_fk(MfaChallenges::Table, MfaChallenges::UserId))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "mfa_challenges_token_key", MfaChallenges::Table, [MfaChallenges::TokenHash], true)
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            for table in ["totp_credentials", "backup_codes", "mfa_challenges"] {
                postgres::grant(manager, table, "SELECT, INSERT, UPDATE, DELETE").await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MfaChallenges::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(BackupCodes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TotpCredentials::Table).to_owned()).await
    }
}
