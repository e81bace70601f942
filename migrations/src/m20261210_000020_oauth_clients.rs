//! Partner API clients: OAuth 2.0 client-credentials clients of one tenant,
//! and the short-lived access tokens they exchange their secret for.
//!
//! Like sessions and API keys these are credentials, looked up by hash before
//! any tenant is known, so they are global tables; every query about a
//! tenant's clients filters by `tenant_id`. Secrets and tokens are kept only as
//! SHA-256 hashes; a rotated secret may keep working until
//! `previous_secret_expires_at`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    TenantId,
    Name,
    ClientId,
    SecretHash,
    PreviousSecretHash,
    PreviousSecretExpiresAt,
    Scopes,
    CreatedBy,
    CreatedAt,
    RotatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum OauthTokens {
    Table,
    Id,
    ClientRowId,
    TokenHash,
    Scopes,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenants {
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
                    .table(OauthClients::Table)
                    .col(uuid(OauthClients::Id).primary_key())
                    .col(uuid(OauthClients::TenantId))
                    .col(string_len(OauthClients::Name, 100))
                    .col(string_len(OauthClients::ClientId, 64))
                    .col(string_len(OauthClients::SecretHash, 64))
                    .col(string_len_null(OauthClients::PreviousSecretHash, 64))
                    .col(timestamp_with_time_zone_null(OauthClients::PreviousSecretExpiresAt))
                    .col(text(OauthClients::Scopes))
                    .col(uuid(OauthClients::CreatedBy))
                    .col(timestamp_with_time_zone(OauthClients::CreatedAt))
                    .col(timestamp_with_time_zone_null(OauthClients::RotatedAt))
                    .col(timestamp_with_time_zone_null(OauthClients::LastUsedAt))
                    .col(timestamp_with_time_zone_null(OauthClients::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthClients::Table, OauthClients::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthClients::Table, OauthClients::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "oauth_clients_client_id_key", OauthClients::Table, [OauthClients::ClientId], true)
            .await?;
        create_index(
            manager,
            "oauth_clients_tenant_idx",
            OauthClients::Table,
            [OauthClients::TenantId, OauthClients::Id],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthTokens::Table)
                    .col(uuid(OauthTokens::Id).primary_key())
                    .col(uuid(OauthTokens::ClientRowId))
                    .col(string_len(OauthTokens::TokenHash, 64))
                    .col(text(OauthTokens::Scopes))
                    .col(timestamp_with_time_zone(OauthTokens::CreatedAt))
                    .col(timestamp_with_time_zone(OauthTokens::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthTokens::Table, OauthTokens::ClientRowId)
                            .to(OauthClients::Table, OauthClients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "oauth_tokens_hash_key", OauthTokens::Table, [OauthTokens::TokenHash], true).await?;
        create_index(manager, "oauth_tokens_expiry_idx", OauthTokens::Table, [OauthTokens::ExpiresAt], false).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "oauth_clients", "SELECT, INSERT, UPDATE").await?;
            postgres::grant(manager, "oauth_tokens", "SELECT, INSERT, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["oauth_tokens", "oauth_clients"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
