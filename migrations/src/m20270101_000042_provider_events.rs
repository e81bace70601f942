//! Events payment providers send (webhooks), kept once each.
//!
//! - `provider_events` (global: an event names its business in its own
//!   metadata): a provider's event is kept once per provider, account and
//!   event id (a unique index), so a delivery repeated by the provider is
//!   recorded once; `processed_at` says it was applied, `attempts`,
//!   `next_attempt_at` and `last_error` how applying it goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::{index_on, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("provider_events"))
                    .col(uuid(c("id")).primary_key())
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("account"), 255))
                    .col(string_len(c("event_id"), 255))
                    .col(string_len(c("kind"), 100))
                    .col(text(c("payload")))
                    .col(timestamp_with_time_zone(c("received_at")))
                    .col(timestamp_with_time_zone_null(c("processed_at")))
                    .col(integer(c("attempts")).default(0))
                    .col(timestamp_with_time_zone_null(c("next_attempt_at")))
                    .col(string_len_null(c("last_error"), 500))
                    .check(Expr::col(c("attempts")).gte(0))
                    .to_owned(),
            )
            .await?;
        let once = ["provider", "account", "event_id"];
        manager.create_index(index_on("provider_events_once_idx", "provider_events", &once, true)).await?;
        let due = ["processed_at", "next_attempt_at"];
        manager.create_index(index_on("provider_events_due_idx", "provider_events", &due, false)).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "provider_events", "SELECT, INSERT, UPDATE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("provider_events")).to_owned()).await?;
        Ok(())
    }
}
