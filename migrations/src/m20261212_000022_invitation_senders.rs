//! Who sent each message, and an index to count a tenant's messages of one
//! topic over a day (invitations are limited per tenant and day).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::create_index;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    TenantId,
    Topic,
    CreatedAt,
    SentBy,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Notifications::Table).add_column(uuid_null(Notifications::SentBy)).to_owned(),
            )
            .await?;
        create_index(
            manager,
            "notifications_topic_day_idx",
            Notifications::Table,
            [Notifications::TenantId, Notifications::Topic, Notifications::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("notifications_topic_day_idx").table(Notifications::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Notifications::Table).drop_column(Notifications::SentBy).to_owned())
            .await
    }
}
