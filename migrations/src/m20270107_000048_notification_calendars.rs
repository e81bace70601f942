//! `notifications.calendar`: the iCalendar file (RFC 5545) a booking's
//! email carries as `booking.ics`, rendered when the message is queued, so
//! every try sends the same event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut calendar = text_null(Alias::new("calendar"));
        manager
            .alter_table(Table::alter().table(Alias::new("notifications")).add_column(&mut calendar).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = Table::alter().table(Alias::new("notifications")).drop_column(Alias::new("calendar")).to_owned();
        manager.alter_table(drop).await
    }
}
