//! A customer's language: the messages a business sends them (booking
//! confirmations, reminders, fees) are written in it, whatever the
//! business's own locale. A BCP 47 tag (`es`, `pt-BR`); `NULL` follows the
//! business.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut language = string_len_null(Alias::new("language"), 35);
        manager.alter_table(Table::alter().table(Alias::new("customers")).add_column(&mut language).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = Table::alter().table(Alias::new("customers")).drop_column(Alias::new("language")).to_owned();
        manager.alter_table(drop).await
    }
}
