//! Sign-ups waiting for their address to be proven, and fixed-window counters
//! for limits that are not failures (sign-up emails per address and per client).
//!
//! A sign-up creates no account until the link emailed to the address is
//! opened, so `signUp` can answer alike whether or not the address has an
//! account, and nobody can hold an address they cannot read. Only the link's
//! hash is kept; the password is kept as its argon2 hash, as an account's is.
//! Both are global tables, like the accounts they lead to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PendingSignUps {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    Locale,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RateWindows {
    Table,
    Key,
    StartedAt,
    Used,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PendingSignUps::Table)
                    .col(uuid(PendingSignUps::Id).primary_key())
                    .col(string_len(PendingSignUps::Email, 254))
                    .col(string_len(PendingSignUps::DisplayName, 200))
                    .col(string(PendingSignUps::PasswordHash))
                    .col(string_len(PendingSignUps::Locale, 35))
                    .col(string_len(PendingSignUps::TokenHash, 64))
                    .col(timestamp_with_time_zone(PendingSignUps::CreatedAt))
                    .col(timestamp_with_time_zone(PendingSignUps::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "pending_sign_ups_hash_key", PendingSignUps::Table, [PendingSignUps::TokenHash], true)
            .await?;
        create_index(manager, "pending_sign_ups_email_idx", PendingSignUps::Table, [PendingSignUps::Email], false)
            .await?;
        create_index(manager, "pending_sign_ups_expiry_idx", PendingSignUps::Table, [PendingSignUps::ExpiresAt], false)
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RateWindows::Table)
                    .col(string_len(RateWindows::Key, 64).primary_key())
                    .col(timestamp_with_time_zone(RateWindows::StartedAt))
                    .col(integer(RateWindows::Used))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "rate_windows_started_idx", RateWindows::Table, [RateWindows::StartedAt], false).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "pending_sign_ups", "SELECT, INSERT, DELETE").await?;
            postgres::grant(manager, "rate_windows", "SELECT, INSERT, UPDATE, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["rate_windows", "pending_sign_ups"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
