//! Usage alerts.
//!
//! - `usage_alerts`: thresholds a business's owners add to the defaults (80 %
//!   and 100 % of every limit): a percentage of the limit or an amount.
//! - `usage_alert_firings`: each threshold reached, once per tenant, metric,
//!   period, threshold and level (the key), written in the transaction whose
//!   use reached it, so two parallel uses crossing it fire it once; the next
//!   period has a key of its own, so the alert re-arms, and so does a
//!   percentage whose limit changed (80 % of a new tier's limit is news).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["usage_alerts", "usage_alert_firings"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("usage_alerts"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(string_len(c("metric"), 40))
                    .col(integer_null(c("percent")))
                    .col(big_integer_null(c("amount")))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .check(Expr::cust("(percent IS NULL) <> (amount IS NULL)"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("usage_alerts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(c("usage_alert_firings"))
                    .col(uuid(c("tenant_id")))
                    .col(string_len(c("metric"), 40))
                    .col(string_len(c("period_key"), 20))
                    .col(string_len(c("threshold"), 30))
                    .col(big_integer(c("level")))
                    .col(big_integer(c("used")))
                    .col(big_integer_null(c("limit_value")))
                    .col(timestamp_with_time_zone(c("fired_at")))
                    .primary_key(
                        Index::create()
                            .col(c("tenant_id"))
                            .col(c("metric"))
                            .col(c("period_key"))
                            .col(c("threshold"))
                            .col(c("level")),
                    )
                    .foreign_key(&mut tenant_fk("usage_alert_firings"))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let grants = [("usage_alerts", "SELECT, INSERT, DELETE"), ("usage_alert_firings", "SELECT, INSERT")];
            postgres::tenant_tables(manager, &grants).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in ["usage_alert_firings", "usage_alerts"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
