//! Devices an account signed in from, so their owner can still sign in while
//! others' guesses hold the account's login backoff (OWASP's device cookies).
//!
//! A device is known by a random token handed out at each successful sign-in
//! and kept by the client; only its SHA-256 hash is stored. A login challenge
//! remembers the device its password step came from, so the second factor is
//! counted against the same device. Like sessions, these are global tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum TrustedDevices {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    DeviceId,
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
                    .table(TrustedDevices::Table)
                    .col(uuid(TrustedDevices::Id).primary_key())
                    .col(uuid(TrustedDevices::UserId))
                    .col(string_len(TrustedDevices::TokenHash, 64))
                    .col(timestamp_with_time_zone(TrustedDevices::CreatedAt))
                    .col(timestamp_with_time_zone(TrustedDevices::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TrustedDevices::Table, TrustedDevices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "trusted_devices_hash_key", TrustedDevices::Table, [TrustedDevices::TokenHash], true)
            .await?;
        create_index(
            manager,
            "trusted_devices_user_idx",
            TrustedDevices::Table,
            [TrustedDevices::UserId, TrustedDevices::Id],
            false,
        )
        .await?;
        create_index(manager, "trusted_devices_expiry_idx", TrustedDevices::Table, [TrustedDevices::ExpiresAt], false)
            .await?;
        manager
            .alter_table(
                Table::alter().table(MfaChallenges::Table).add_column(uuid_null(MfaChallenges::DeviceId)).to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "trusted_devices", "SELECT, INSERT, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(MfaChallenges::Table).drop_column(MfaChallenges::DeviceId).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(TrustedDevices::Table).to_owned()).await
    }
}
