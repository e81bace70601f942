//! Notification preferences: which channels a tenant's members are reached on and
//! their quiet hours, set by each member for themselves and by the tenant for
//! everyone (`owner` is a user id, or `tenant` for the tenant's defaults).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    Id,
    TenantId,
    Owner,
    Email,
    Sms,
    Push,
    InApp,
    QuietStart,
    QuietEnd,
    Timezone,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

/// The tables under row-level security.
pub(crate) const TABLES: &[&str] = &["notification_preferences"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationPreferences::Table)
                    .col(uuid(NotificationPreferences::Id).primary_key())
                    .col(uuid(NotificationPreferences::TenantId))
                    .col(string_len(NotificationPreferences::Owner, 36))
                    .col(boolean_null(NotificationPreferences::Email))
                    .col(boolean_null(NotificationPreferences::Sms))
                    .col(boolean_null(NotificationPreferences::Push))
                    .col(boolean_null(NotificationPreferences::InApp))
                    .col(string_len_null(NotificationPreferences::QuietStart, 5))
                    .col(string_len_null(NotificationPreferences::QuietEnd, 5))
                    .col(string_len_null(NotificationPreferences::Timezone, 64))
                    .col(timestamp_with_time_zone(NotificationPreferences::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationPreferences::Table, NotificationPreferences::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notification_preferences_owner_key",
            NotificationPreferences::Table,
            [NotificationPreferences::TenantId, NotificationPreferences::Owner],
            true,
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "notification_preferences", "SELECT, INSERT, UPDATE, DELETE").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            postgres::isolate(manager, "notification_preferences", &own, &own).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(NotificationPreferences::Table).to_owned()).await
    }
}
