//! A tenant's own message templates (per topic and language), and each
//! notification's message as rendered when it was queued.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum NotificationTemplates {
    Table,
    Id,
    TenantId,
    Topic,
    Language,
    Title,
    Body,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Title,
    Body,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

/// The tables under row-level security.
pub(crate) const TABLES: &[&str] = &["notification_templates"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationTemplates::Table)
                    .col(uuid(NotificationTemplates::Id).primary_key())
                    .col(uuid(NotificationTemplates::TenantId))
                    .col(string_len(NotificationTemplates::Topic, 60))
                    .col(string_len(NotificationTemplates::Language, 8))
                    .col(text(NotificationTemplates::Title))
                    .col(text(NotificationTemplates::Body))
                    .col(timestamp_with_time_zone(NotificationTemplates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationTemplates::Table, NotificationTemplates::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notification_templates_key",
            NotificationTemplates::Table,
            [NotificationTemplates::TenantId, NotificationTemplates::Topic, NotificationTemplates::Language],
            true,
        )
        .await?;
        // SQLite adds one column per statement.
        for column in [Notifications::Title, Notifications::Body] {
            manager
                .alter_table(Table::alter().table(Notifications::Table).add_column(text_null(column)).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "notification_templates", "SELECT, INSERT, UPDATE, DELETE").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            postgres::isolate(manager, "notification_templates", &own, &own).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for column in [Notifications::Body, Notifications::Title] {
            manager.alter_table(Table::alter().table(Notifications::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(NotificationTemplates::Table).to_owned()).await
    }
}
