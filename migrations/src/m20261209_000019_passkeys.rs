//! Passkeys (WebAuthn credentials), the state of a WebAuthn ceremony between
//! its two requests when Redis is not configured, and the platform's own
//! secrets. All global, like users.
//!
//! A passkey row keeps the credential as webauthn-rs serialises it (public key,
//! signature counter, flags): the library owns that format. `sign_count` is
//! the highest signature counter seen, kept apart so that two sign-ins with one
//! credential compare against each other atomically. `possibly_cloned_at`
//! marks a credential whose signature counter went backwards; it signs nobody in
//! any more.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    Name,
    CredentialId,
    Credential,
    SignCount,
    CreatedAt,
    LastUsedAt,
    PossiblyClonedAt,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    KeyHash,
    State,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum PlatformSecrets {
    Table,
    Name,
    Value,
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
                    .table(Passkeys::Table)
                    .col(uuid(Passkeys::Id).primary_key())
                    .col(uuid(Passkeys::UserId))
                    .col(string_len(Passkeys::Name, 100))
                    .col(string_len(Passkeys::CredentialId, 1400))
                    .col(text(Passkeys::Credential))
                    .col(big_integer(Passkeys::SignCount))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::PossiblyClonedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Passkeys::Table, Passkeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "passkeys_credential_key", Passkeys::Table, [Passkeys::CredentialId], true).await?;
        create_index(manager, "passkeys_user_idx", Passkeys::Table, [Passkeys::UserId, Passkeys::Id], false).await?;
        manager
            .create_table(
                Table::create()
                    .table(WebauthnCeremonies::Table)
                    .col(string_len(WebauthnCeremonies::KeyHash, 100).primary_key())
                    .col(text(WebauthnCeremonies::State))
                    .col(timestamp_with_time_zone(WebauthnCeremonies::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlatformSecrets::Table)
                    .col(string_len(PlatformSecrets::Name, 50).primary_key())
                    .col(string_len(PlatformSecrets::Value, 128))
                    .to_owned(),
            )
            .await?;
        // The key that makes decoy passkey options for addresses without
        // passkeys: random, made by the database, never leaves it but through
        // the gateway.
        let random = match manager.get_database_backend() {
            DbBackend::Postgres => "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
            _ => "lower(hex(randomblob(32)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO platform_secrets (name, value) VALUES ('passkey_decoy_key', {random})"
            ))
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "passkeys", "SELECT, INSERT, UPDATE, DELETE").await?;
            postgres::grant(manager, "webauthn_ceremonies", "SELECT, INSERT, DELETE").await?;
            postgres::grant(manager, "platform_secrets", "SELECT").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["platform_secrets", "webauthn_ceremonies", "passkeys"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
