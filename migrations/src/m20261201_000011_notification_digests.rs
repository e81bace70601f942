//! Daily email digests: a member (or the tenant, for everyone) may have routine
//! emails gathered into one message a day, at a local time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    DigestAt,
    DigestTimezone,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let columns = [
            string_len_null(NotificationPreferences::DigestAt, 5),
            string_len_null(NotificationPreferences::DigestTimezone, 64),
        ];
        for mut column in columns {
            manager
                .alter_table(Table::alter().table(NotificationPreferences::Table).add_column(&mut column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [NotificationPreferences::DigestTimezone, NotificationPreferences::DigestAt] {
            manager
                .alter_table(Table::alter().table(NotificationPreferences::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
