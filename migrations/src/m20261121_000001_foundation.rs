//! Tenants, memberships, users, sessions, refresh tokens, login throttling and
//! history, and the event outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::postgres::{self, TENANT_FN, USER_FN};
use crate::{create_index, one_of};

/// The tables of this migration under row-level security.
pub(crate) const TABLES: &[&str] = &["tenants", "memberships", "outbox"];

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Slug,
    ParentTenantId,
    Tier,
    Status,
    Timezone,
    Locale,
    Settings,
    FeatureFlags,
    IsolationLevel,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    DeletionScheduledAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    Status,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    TenantId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    IdleExpiresAt,
    AbsoluteExpiresAt,
    RevokedAt,
    RevokedReason,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RotatedAt,
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    AccountKey,
    FailedCount,
    LastFailedAt,
    LockedUntil,
}

#[derive(DeriveIden)]
enum LoginHistory {
    Table,
    Id,
    UserId,
    Succeeded,
    FailureReason,
    Ip,
    UserAgent,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    TenantId,
    Kind,
    SubjectId,
    Payload,
    OccurredAt,
    PublishedAt,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(uuid(Tenants::Id).primary_key())
                    .col(string_len(Tenants::Name, 200))
                    .col(string_len(Tenants::Slug, 63))
                    .col(uuid_null(Tenants::ParentTenantId))
                    .col(
                        string_len(Tenants::Tier, 20)
                            .check(one_of(Tenants::Tier, &["free", "basic", "premium", "enterprise"])),
                    )
                    .col(
                        string_len(Tenants::Status, 20)
                            .check(one_of(Tenants::Status, &["trial", "active", "suspended", "pending_deletion"])),
                    )
                    .col(string_len(Tenants::Timezone, 64))
                    .col(string_len(Tenants::Locale, 35))
                    .col(json_binary(Tenants::Settings))
                    .col(json_binary(Tenants::FeatureFlags))
                    .col(
                        string_len(Tenants::IsolationLevel, 20)
                            .check(one_of(Tenants::IsolationLevel, &["shared", "semi_isolated", "fully_isolated"])),
                    )
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Tenants::DeletedAt))
                    .col(timestamp_with_time_zone_null(Tenants::DeletionScheduledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tenants::Table, Tenants::ParentTenantId)
                            .to(Tenants::Table, Tenants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "tenants_slug_key", Tenants::Table, [Tenants::Slug], true).await?;
        create_index(manager, "tenants_parent_idx", Tenants::Table, [Tenants::ParentTenantId], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(string_len(Users::Email, 254))
                    .col(string_len(Users::DisplayName, 200))
                    .col(string_len(Users::PasswordHash, 200))
                    .col(
                        string_len(Users::Status, 20)
                            .check(one_of(Users::Status, &["active", "inactive", "suspended", "deleted"])),
                    )
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "users_email_key", Users::Table, [Users::Email], true).await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(uuid(Memberships::Id).primary_key())
                    .col(uuid(Memberships::TenantId))
                    .col(uuid(Memberships::UserId))
                    .col(
                        string_len(Memberships::Role, 20)
                            .check(one_of(Memberships::Role, &["owner", "admin", "member"])),
                    )
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "memberships_tenant_user_key",
            Memberships::Table,
            [Memberships::TenantId, Memberships::UserId],
            true,
        )
        .await?;
        create_index(manager, "memberships_user_idx", Memberships::Table, [Memberships::UserId], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(uuid(Sessions::Id).primary_key())
                    .col(uuid(Sessions::UserId))
                    .col(string_len(Sessions::TokenHash, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                    .col(timestamp_with_time_zone(Sessions::IdleExpiresAt))
                    .col(timestamp_with_time_zone(Sessions::AbsoluteExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .col(string_len_null(Sessions::RevokedReason, 40))
                    .col(string_len_null(Sessions::UserAgent, 512))
                    .col(string_len_null(Sessions::Ip, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "sessions_token_hash_key", Sessions::Table, [Sessions::TokenHash], true).await?;
        create_index(manager, "sessions_user_idx", Sessions::Table, [Sessions::UserId], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(uuid(RefreshTokens::Id).primary_key())
                    .col(uuid(RefreshTokens::SessionId))
                    .col(string_len(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RotatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "refresh_tokens_token_hash_key", RefreshTokens::Table, [RefreshTokens::TokenHash], true)
            .await?;
        create_index(manager, "refresh_tokens_session_idx", RefreshTokens::Table, [RefreshTokens::SessionId], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .col(string_len(LoginThrottles::AccountKey, 64).primary_key())
                    .col(integer(LoginThrottles::FailedCount))
                    .col(timestamp_with_time_zone(LoginThrottles::LastFailedAt))
                    .col(timestamp_with_time_zone_null(LoginThrottles::LockedUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginHistory::Table)
                    .col(uuid(LoginHistory::Id).primary_key())
                    .col(uuid_null(LoginHistory::UserId))
                    .col(boolean(LoginHistory::Succeeded))
                    .col(string_len_null(LoginHistory::FailureReason, 40))
                    .col(string_len_null(LoginHistory::Ip, 64))
                    .col(string_len_null(LoginHistory::UserAgent, 512))
                    .col(timestamp_with_time_zone(LoginHistory::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginHistory::Table, LoginHistory::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "login_history_user_idx",
            LoginHistory::Table,
            [LoginHistory::UserId, LoginHistory::CreatedAt],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(uuid(Outbox::TenantId))
                    .col(string_len(Outbox::Kind, 64))
                    .col(uuid(Outbox::SubjectId))
                    .col(text(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::OccurredAt))
                    .col(timestamp_with_time_zone_null(Outbox::PublishedAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "outbox_unpublished_idx", Outbox::Table, [Outbox::PublishedAt, Outbox::Id], false)
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::create_app_role(manager).await?;
            for table in ["users", "sessions", "refresh_tokens", "login_throttles", "tenants", "memberships"] {
                postgres::grant(manager, table, "SELECT, INSERT, UPDATE, DELETE").await?;
            }
            // History is append-only for requests.
            postgres::grant(manager, "login_history", "SELECT, INSERT").await?;
            postgres::grant(manager, "outbox", "SELECT, INSERT, UPDATE, DELETE").await?;
            // A tenant is visible to requests acting in it or in its parent, and to the
            // members of it or of its parent (who list their tenants and children).
            postgres::isolate(
                manager,
                "tenants",
                &format!(
                    "id = {TENANT_FN} OR parent_tenant_id = {TENANT_FN} \
                     OR id IN (SELECT tenant_id FROM memberships WHERE user_id = {USER_FN}) \
                     OR parent_tenant_id IN (SELECT tenant_id FROM memberships WHERE user_id = {USER_FN})"
                ),
                &format!("id = {TENANT_FN} OR parent_tenant_id = {TENANT_FN}"),
            )
            .await?;
            // Events are written in their tenant's transaction; the relay reads all of
            // them in a maintenance transaction.
            postgres::isolate(
                manager,
                "outbox",
                &format!("tenant_id = {TENANT_FN}"),
                &format!("tenant_id = {TENANT_FN}"),
            )
            .await?;
            // Memberships are visible in their tenant, and to their own user (who lists
            // their tenants before choosing one).
            postgres::isolate(
                manager,
                "memberships",
                &format!("tenant_id = {TENANT_FN} OR user_id = {USER_FN}"),
                &format!("tenant_id = {TENANT_FN}"),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        if postgres {
            // Policies refer to other tables (tenants' to memberships): drop them first.
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in [
            Outbox::Table.into_iden(),
            LoginHistory::Table.into_iden(),
            LoginThrottles::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        if postgres {
            postgres::drop_functions(manager).await?;
        }
        Ok(())
    }
}
