//! Coupons the platform offers businesses, and their redemptions.
//!
//! - `coupons` (global): a percent (basis points) or a fixed amount in one
//!   currency, for one invoice (`once`), `repeating` for some periods, or
//!   `forever`; `times_redeemed` never passes `max_redemptions` (a CHECK,
//!   under the conditional `UPDATE` that counts a redemption).
//! - `coupon_redemptions`: a business's use of a coupon, once per business
//!   and coupon; what is left of it (periods, or a fixed once coupon's amount).
//! - `invoice_lines.coupon_redemption_id`: the redemption a discount line
//!   used, so voiding its invoice gives it back.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["coupon_redemptions"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("coupons"))
                    .col(uuid(c("id")).primary_key())
                    .col(string_len(c("code"), 40).unique_key())
                    .col(string_len(c("name"), 100))
                    .col(integer_null(c("percent_bps")))
                    .col(big_integer_null(c("amount_off_minor")))
                    .col(string_len_null(c("currency"), 3))
                    .col(string_len(c("duration"), 10))
                    .col(integer_null(c("duration_periods")))
                    .col(integer_null(c("max_redemptions")))
                    .col(integer(c("times_redeemed")).default(0))
                    .col(timestamp_with_time_zone_null(c("redeem_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .check(one_of(c("duration"), &["once", "repeating", "forever"]))
                    .check(Expr::cust("(percent_bps IS NULL) <> (amount_off_minor IS NULL)"))
                    .check(Expr::cust("percent_bps IS NULL OR (percent_bps >= 1 AND percent_bps <= 10000)"))
                    .check(Expr::cust("(amount_off_minor IS NULL) = (currency IS NULL)"))
                    .check(Expr::cust("amount_off_minor IS NULL OR amount_off_minor > 0"))
                    .check(Expr::cust("(duration = 'repeating') = (duration_periods IS NOT NULL)"))
                    .check(Expr::cust("duration_periods IS NULL OR duration_periods > 0"))
                    .check(Expr::cust(
                        "times_redeemed >= 0 AND (max_redemptions IS NULL OR times_redeemed <= max_redemptions)",
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(c("coupon_redemptions"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("coupon_id")))
                    .col(integer_null(c("periods_remaining")))
                    .col(big_integer_null(c("amount_remaining_minor")))
                    .col(string_len(c("status"), 10))
                    .col(timestamp_with_time_zone(c("redeemed_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("status"), &["active", "exhausted"]))
                    .check(Expr::cust("periods_remaining IS NULL OR periods_remaining >= 0"))
                    .check(Expr::cust("amount_remaining_minor IS NULL OR amount_remaining_minor >= 0"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("coupon_redemptions"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("coupon_redemptions"), c("coupon_id"))
                            .to(c("coupons"), c("id"))
                            .on_delete(ForeignKeyAction::Restrict)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let once = ["tenant_id", "coupon_id"];
        manager.create_index(index_on("coupon_redemptions_once_idx", "coupon_redemptions", &once, true)).await?;

        let mut column = uuid_null(c("coupon_redemption_id"));
        manager.alter_table(Table::alter().table(c("invoice_lines")).add_column(&mut column).to_owned()).await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "coupons", "SELECT, INSERT, UPDATE").await?;
            postgres::tenant_tables(manager, &[("coupon_redemptions", "SELECT, INSERT, UPDATE")]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        let drop = Table::alter().table(c("invoice_lines")).drop_column(c("coupon_redemption_id")).to_owned();
        manager.alter_table(drop).await?;
        for table in ["coupon_redemptions", "coupons"] {
            manager.drop_table(Table::drop().table(c(table)).to_owned()).await?;
        }
        Ok(())
    }
}
