//! Use beyond a soft limit, billed.
//!
//! - `plan_overage_prices` (global, like `plans`): what a plan version
//!   charges for each unit of a metric used beyond its tier's soft limit. A
//!   version's prices never change; new prices are a new version.
//! - `subscriptions.overage_billed_through`: the end of the last usage period
//!   whose overage a renewal has billed (or that fell in the trial); a
//!   renewal bills the periods that ended since, and moves it on.
//! - `invoice_lines.metric` and `invoice_lines.usage_period`: the metric and
//!   usage period (`2027-03`) an overage line bills; a partial unique index
//!   bills each business's metric and period once, whatever the code does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::postgres;

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
                    .table(c("plan_overage_prices"))
                    .col(uuid(c("plan_id")))
                    .col(string_len(c("metric"), 40))
                    .col(big_integer(c("unit_price_minor")))
                    .check(Expr::cust("unit_price_minor > 0 AND unit_price_minor <= 1000000000"))
                    .primary_key(Index::create().col(c("plan_id")).col(c("metric")))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("plan_overage_prices"), c("plan_id"))
                            .to(c("plans"), c("id"))
                            .on_delete(ForeignKeyAction::Restrict)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let mut through = timestamp_with_time_zone_null(c("overage_billed_through"));
        manager.alter_table(Table::alter().table(c("subscriptions")).add_column(&mut through).to_owned()).await?;
        for (column, length) in [("metric", 40), ("usage_period", 20)] {
            let mut column = string_len_null(c(column), length);
            manager.alter_table(Table::alter().table(c("invoice_lines")).add_column(&mut column).to_owned()).await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX invoice_lines_overage_once_idx ON invoice_lines (tenant_id, metric, usage_period) \
                 WHERE metric IS NOT NULL",
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "plan_overage_prices", "SELECT, INSERT").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager.get_connection().execute_unprepared("DROP INDEX invoice_lines_overage_once_idx").await?;
        for column in ["metric", "usage_period"] {
            let drop = Table::alter().table(c("invoice_lines")).drop_column(c(column)).to_owned();
            manager.alter_table(drop).await?;
        }
        let drop = Table::alter().table(c("subscriptions")).drop_column(c("overage_billed_through")).to_owned();
        manager.alter_table(drop).await?;
        manager.drop_table(Table::drop().table(c("plan_overage_prices")).to_owned()).await?;
        Ok(())
    }
}
