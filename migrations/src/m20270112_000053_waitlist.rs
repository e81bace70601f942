//! The waitlist: customers waiting for a service (with one provider or any,
//! within some dates), offered freed time with a hold that expires.
//!
//! - `waitlist_entries`: who waits for what, in the order they joined, and
//!   where each stands (`waiting`, `offered`, then `booked`, `declined`,
//!   `expired` or `left`). A customer has one open entry (waiting or
//!   offered) per service (`waitlist_entries_open_key`); an entry has one
//!   offer at a time (`offer_booking_id`, unique).
//! - `bookings.offer_expires_at`: an offer is a booking made for the
//!   customer that holds its time until then (the no-overlap rule counts
//!   it, so the same time can never be offered to two people), and stops
//!   holding it unless accepted first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["waitlist_entries"];

const STATUSES: [&str; 6] = ["waiting", "offered", "booked", "declined", "expired", "left"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("waitlist_entries"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("customer_id")))
                    .col(uuid(c("service_id")))
                    .col(uuid_null(c("provider_id")))
                    .col(date_null(c("earliest_date")))
                    .col(date_null(c("latest_date")))
                    .col(string_len_null(c("notes"), 500))
                    .col(string_len(c("status"), 16).check(one_of(c("status"), &STATUSES)))
                    .col(uuid_null(c("offer_booking_id")))
                    .col(timestamp_with_time_zone_null(c("offered_at")))
                    .col(timestamp_with_time_zone_null(c("offer_expires_at")))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .col(timestamp_with_time_zone_null(c("closed_at")))
                    .check(Check::named(
                        "waitlist_entries_offer",
                        Expr::cust(
                            "status <> 'offered' OR (offer_booking_id IS NOT NULL AND offer_expires_at IS NOT NULL)",
                        ),
                    ))
                    .check(Check::named(
                        "waitlist_entries_dates",
                        Expr::cust("earliest_date IS NULL OR latest_date IS NULL OR earliest_date <= latest_date"),
                    ))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("waitlist_entries"))
                    .to_owned(),
            )
            .await?;
        let mut expires = timestamp_with_time_zone_null(c("offer_expires_at"));
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut expires).to_owned()).await?;
        let conn = manager.get_connection();
        for sql in [
            // One open entry per customer and service, whoever asks at once.
            "CREATE UNIQUE INDEX waitlist_entries_open_key ON waitlist_entries (tenant_id, customer_id, service_id) \
             WHERE status IN ('waiting', 'offered')",
            "CREATE UNIQUE INDEX waitlist_entries_offer_key ON waitlist_entries (tenant_id, offer_booking_id) \
             WHERE offer_booking_id IS NOT NULL",
            // The queue, in the order people joined.
            "CREATE INDEX waitlist_entries_waiting_idx ON waitlist_entries (tenant_id, id) WHERE status = 'waiting'",
            "CREATE INDEX bookings_offer_expiry_idx ON bookings (offer_expires_at) WHERE offer_expires_at IS NOT NULL",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::tenant_tables(manager, &[("waitlist_entries", "SELECT, INSERT, UPDATE")]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX bookings_offer_expiry_idx").await?;
        let drop = Table::alter().table(c("bookings")).drop_column(c("offer_expires_at")).to_owned();
        manager.alter_table(drop).await?;
        manager.drop_table(Table::drop().table(c("waitlist_entries")).to_owned()).await?;
        Ok(())
    }
}
