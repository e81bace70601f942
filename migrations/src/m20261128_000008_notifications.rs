//! Notifications and their delivery.
//!
//! A notification is one message: to a person (over email, SMS, push and in-app)
//! or to the tenant's webhook endpoints. Each channel and destination is a
//! delivery, which the worker claims, sends, retries and finishes; every try is an
//! attempt in the delivery log, which requests may add to but never change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    TenantId,
    Topic,
    Priority,
    RecipientUserId,
    RecipientName,
    RecipientEmail,
    RecipientPhone,
    Locale,
    Variables,
    SubjectType,
    SubjectId,
    DedupeKey,
    NotBefore,
    CreatedAt,
    ReadAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum NotificationDeliveries {
    Table,
    Id,
    TenantId,
    NotificationId,
    Channel,
    Destination,
    Status,
    Priority,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastError,
    ProviderMessageId,
    SentAt,
    OpenedAt,
    OpenTokenHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Id,
    TenantId,
    DeliveryId,
    Number,
    StartedAt,
    FinishedAt,
    Outcome,
    Response,
    Error,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    Topics,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

/// The tables under row-level security.
pub(crate) const TABLES: &[&str] =
    &["notifications", "notification_deliveries", "notification_attempts", "webhook_endpoints"];

fn tenant_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(uuid(Notifications::Id).primary_key())
                    .col(uuid(Notifications::TenantId))
                    .col(string_len(Notifications::Topic, 60))
                    .col(string_len(Notifications::Priority, 10))
                    .col(uuid_null(Notifications::RecipientUserId))
                    .col(string_len_null(Notifications::RecipientName, 200))
                    .col(string_len_null(Notifications::RecipientEmail, 320))
                    .col(string_len_null(Notifications::RecipientPhone, 32))
                    .col(string_len(Notifications::Locale, 35))
                    .col(text(Notifications::Variables))
                    .col(string_len_null(Notifications::SubjectType, 50))
                    .col(string_len_null(Notifications::SubjectId, 100))
                    .col(string_len_null(Notifications::DedupeKey, 200))
                    .col(timestamp_with_time_zone(Notifications::NotBefore))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(timestamp_with_time_zone_null(Notifications::CancelledAt))
                    .foreign_key(&mut tenant_fk(Notifications::Table, Notifications::TenantId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notifications_dedupe_key",
            Notifications::Table,
            [Notifications::TenantId, Notifications::DedupeKey],
            true,
        )
        .await?;
        create_index(
            manager,
            "notifications_recipient_idx",
            Notifications::Table,
            [Notifications::RecipientUserId, Notifications::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            "notifications_subject_idx",
            Notifications::Table,
            [Notifications::TenantId, Notifications::SubjectType, Notifications::SubjectId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationDeliveries::Table)
                    .col(uuid(NotificationDeliveries::Id).primary_key())
                    .col(uuid(NotificationDeliveries::TenantId))
                    .col(uuid(NotificationDeliveries::NotificationId))
                    .col(string_len(NotificationDeliveries::Channel, 10))
                    .col(string_len(NotificationDeliveries::Destination, 320))
                    .col(string_len(NotificationDeliveries::Status, 10))
                    .col(small_integer(NotificationDeliveries::Priority))
                    .col(integer(NotificationDeliveries::Attempts))
                    .col(timestamp_with_time_zone(NotificationDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(NotificationDeliveries::LeaseUntil))
                    .col(text_null(NotificationDeliveries::LastError))
                    .col(string_len_null(NotificationDeliveries::ProviderMessageId, 200))
                    .col(timestamp_with_time_zone_null(NotificationDeliveries::SentAt))
                    .col(timestamp_with_time_zone_null(NotificationDeliveries::OpenedAt))
                    .col(string_len_null(NotificationDeliveries::OpenTokenHash, 64))
                    .col(timestamp_with_time_zone(NotificationDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(NotificationDeliveries::UpdatedAt))
                    .foreign_key(&mut tenant_fk(NotificationDeliveries::Table, NotificationDeliveries::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationDeliveries::Table, NotificationDeliveries::NotificationId)
                            .to(Notifications::Table, Notifications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notification_deliveries_due_idx",
            NotificationDeliveries::Table,
            [NotificationDeliveries::Status, NotificationDeliveries::NextAttemptAt],
            false,
        )
        .await?;
        create_index(
            manager,
            "notification_deliveries_target_key",
            NotificationDeliveries::Table,
            [
                NotificationDeliveries::NotificationId,
                NotificationDeliveries::Channel,
                NotificationDeliveries::Destination,
            ],
            true,
        )
        .await?;
        create_index(
            manager,
            "notification_deliveries_open_key",
            NotificationDeliveries::Table,
            [NotificationDeliveries::OpenTokenHash],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationAttempts::Table)
                    .col(uuid(NotificationAttempts::Id).primary_key())
                    .col(uuid(NotificationAttempts::TenantId))
                    .col(uuid(NotificationAttempts::DeliveryId))
                    .col(integer(NotificationAttempts::Number))
                    .col(timestamp_with_time_zone(NotificationAttempts::StartedAt))
                    .col(timestamp_with_time_zone(NotificationAttempts::FinishedAt))
                    .col(string_len(NotificationAttempts::Outcome, 10))
                    .col(text_null(NotificationAttempts::Response))
                    .col(text_null(NotificationAttempts::Error))
                    .foreign_key(&mut tenant_fk(NotificationAttempts::Table, NotificationAttempts::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationAttempts::Table, NotificationAttempts::DeliveryId)
                            .to(NotificationDeliveries::Table, NotificationDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notification_attempts_delivery_idx",
            NotificationAttempts::Table,
            [NotificationAttempts::DeliveryId, NotificationAttempts::Number],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(uuid(WebhookEndpoints::TenantId))
                    .col(string_len(WebhookEndpoints::Url, 2000))
                    .col(string_len_null(WebhookEndpoints::Description, 500))
                    .col(text(WebhookEndpoints::Topics))
                    .col(string_len(WebhookEndpoints::Secret, 100))
                    .col(string_len_null(WebhookEndpoints::PreviousSecret, 100))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretExpiresAt))
                    .col(boolean(WebhookEndpoints::Active))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut tenant_fk(WebhookEndpoints::Table, WebhookEndpoints::TenantId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "webhook_endpoints_tenant_idx",
            WebhookEndpoints::Table,
            [WebhookEndpoints::TenantId],
            false,
        )
        .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "notifications", "SELECT, INSERT, UPDATE").await?;
            postgres::grant(manager, "notification_deliveries", "SELECT, INSERT, UPDATE").await?;
            // The delivery log is append-only for requests and the worker alike.
            postgres::grant(manager, "notification_attempts", "SELECT, INSERT").await?;
            postgres::grant(manager, "webhook_endpoints", "SELECT, INSERT, UPDATE, DELETE").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            for table in TABLES {
                postgres::isolate(manager, table, &own, &own).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await
    }
}
