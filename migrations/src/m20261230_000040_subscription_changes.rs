//! Plan and quantity changes priced by a quote.
//!
//! - `subscription_quotes`: what a change would cost, stored when previewed
//!   and applied once (`applied_at`), pinned to the subscription's version and
//!   to the instant it was computed; its amount due is never negative.
//! - `invoices.quote_id`: the invoice that charges a quote; at most one per
//!   quote, so a quote is never charged twice. The once-per-period index
//!   leaves these out: two changes may start at the same instant.
//! - `subscriptions.pending_plan_id` and `pending_quantity`: a downgrade or a
//!   smaller quantity, taken on at the period's end.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["subscription_quotes"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("subscription_quotes"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("subscription_id")))
                    .col(integer(c("subscription_version")))
                    .col(uuid(c("plan_id")))
                    .col(integer(c("quantity")))
                    .col(string_len(c("timing"), 12))
                    .col(timestamp_with_time_zone(c("computed_at")))
                    .col(timestamp_with_time_zone(c("expires_at")))
                    .col(string_len(c("currency"), 3))
                    .col(big_integer(c("amount_due_minor")))
                    .col(text(c("lines")))
                    .col(text_null(c("before")))
                    .col(timestamp_with_time_zone_null(c("applied_at")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .check(one_of(c("timing"), &["now", "period_end", "trial"]))
                    .check(Expr::col(c("amount_due_minor")).gte(0))
                    .check(Expr::col(c("quantity")).gt(0))
                    .check(Expr::cust("expires_at > computed_at"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("subscription_quotes"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("subscription_quotes"), (c("tenant_id"), c("subscription_id")))
                            .to(c("subscriptions"), (c("tenant_id"), c("id")))
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let of = ["tenant_id", "subscription_id", "created_at"];
        manager.create_index(index_on("subscription_quotes_of_idx", "subscription_quotes", &of, false)).await?;

        let columns: [(&str, ColumnDef); 3] = [
            ("subscriptions", uuid_null(c("pending_plan_id"))),
            ("subscriptions", integer_null(c("pending_quantity"))),
            ("invoices", uuid_null(c("quote_id"))),
        ];
        for (table, mut column) in columns {
            manager.alter_table(Table::alter().table(c(table)).add_column(&mut column).to_owned()).await?;
        }
        manager.create_index(index_on("invoices_quote_idx", "invoices", &["tenant_id", "quote_id"], true)).await?;
        // A subscription's invoice of a reason and period is issued once,
        // unless it charges a quote: two changes may start at one instant.
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX invoices_period_once_idx ON invoices \
             (tenant_id, subscription_id, reason, period_start) WHERE quote_id IS NULL",
        )
        .await?;
        conn.execute_unprepared("DROP INDEX invoices_once_idx").await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::tenant_tables(manager, &[("subscription_quotes", "SELECT, INSERT, UPDATE, DELETE")]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        let conn = manager.get_connection();
        let once = ["tenant_id", "subscription_id", "reason", "period_start"];
        manager.create_index(index_on("invoices_once_idx", "invoices", &once, true)).await?;
        conn.execute_unprepared("DROP INDEX invoices_period_once_idx").await?;
        manager.drop_index(Index::drop().name("invoices_quote_idx").table(c("invoices")).to_owned()).await?;
        for (table, column) in
            [("invoices", "quote_id"), ("subscriptions", "pending_quantity"), ("subscriptions", "pending_plan_id")]
        {
            manager.alter_table(Table::alter().table(c(table)).drop_column(c(column)).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(c("subscription_quotes")).to_owned()).await?;
        Ok(())
    }
}
