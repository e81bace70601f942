//! Account lifecycle: why, when and by whom an account was deactivated,
//! suspended or deleted (`users.status` already says which). Deleting is soft:
//! the row stays, so history that names the account keeps its meaning.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    StatusReason,
    StatusChangedAt,
    StatusChangedBy,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        let columns = [
            string_len_null(Users::StatusReason, 500),
            timestamp_with_time_zone_null(Users::StatusChangedAt),
            uuid_null(Users::StatusChangedBy),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Users::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::StatusChangedBy, Users::StatusChangedAt, Users::StatusReason] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
