//! A series of appointments keeps the idempotency key it was asked with: a
//! repeat of the request answers the series made first instead of making a
//! second one (unique per tenant, like the bookings' keys).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index_on;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        for (column, width) in [("idempotency_key", 100), ("request_fingerprint", 64)] {
            let mut added = string_len_null(c(column), width);
            manager.alter_table(Table::alter().table(c("booking_series")).add_column(&mut added).to_owned()).await?;
        }
        let key = ["tenant_id", "idempotency_key"];
        manager.create_index(index_on("booking_series_key", "booking_series", &key, true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager.drop_index(Index::drop().name("booking_series_key").table(c("booking_series")).to_owned()).await?;
        for column in ["request_fingerprint", "idempotency_key"] {
            let drop = Table::alter().table(c("booking_series")).drop_column(c(column)).to_owned();
            manager.alter_table(drop).await?;
        }
        Ok(())
    }
}
