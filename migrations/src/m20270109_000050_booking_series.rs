//! Recurring appointments: a series of bookings made in one request from an
//! RFC 5545 rule.
//!
//! - `booking_series`: who, what, with whom, and the rule from a first local
//!   date and time; `cancelled_at` once the whole series is cancelled.
//! - `bookings.series_id`: each occurrence is an ordinary booking (the same
//!   no-overlap rule, notices, payments and audit), naming its series.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["booking_series"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("booking_series"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("service_id")))
                    .col(uuid(c("provider_id")))
                    .col(uuid(c("customer_id")))
                    .col(string_len(c("rule"), 200))
                    .col(date(c("first_date")))
                    .col(integer(c("start_minute")))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone_null(c("cancelled_at")))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("booking_series"))
                    .to_owned(),
            )
            .await?;
        let mut series = uuid_null(c("series_id"));
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut series).to_owned()).await?;
        let by_series = ["tenant_id", "series_id"];
        manager.create_index(index_on("bookings_series_idx", "bookings", &by_series, false)).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::tenant_tables(manager, &[("booking_series", "SELECT, INSERT, UPDATE")]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_index(Index::drop().name("bookings_series_idx").table(c("bookings")).to_owned()).await?;
        let drop = Table::alter().table(c("bookings")).drop_column(c("series_id")).to_owned();
        manager.alter_table(drop).await?;
        manager.drop_table(Table::drop().table(c("booking_series")).to_owned()).await?;
        Ok(())
    }
}
