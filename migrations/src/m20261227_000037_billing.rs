//! Billing: what a business pays the platform.
//!
//! - `plans` (global): the catalogue. A plan is a `code` in `version`s; a
//!   row is never changed, so a new price is a new version and a subscription
//!   keeps the price it started with (it also copies it). Version 1 of
//!   `premium-monthly` ($295 a month) and `premium-yearly` ($2,832 a year),
//!   each with a 14-day trial, are the seeds' prices.
//! - `tenant_billing`: one row per business: who is billed and where, in
//!   which currency, through which payment provider, and when it used its one
//!   trial (`trial_used_at`, set by the statement that checks it is unset).
//! - `subscriptions`: a business's subscription to a plan version, with its
//!   status, quantity, price, periods, trial end and cancellation. At most one
//!   is live (not ended) per business: a partial unique index, so two parallel
//!   starts give one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["tenant_billing", "subscriptions"];

const STATUSES: [&str; 6] = ["trialing", "active", "past_due", "unpaid", "inactive", "canceled"];
const INTERVALS: [&str; 2] = ["monthly", "yearly"];

/// (code, name, interval, price in cents) of the seeds' plans, version 1,
/// premium tier, USD, 14-day trial, flat.
const SEEDED: [(&str, &str, &str, i64); 2] = [
    ("premium-monthly", "Premium, monthly", "monthly", 29_500),
    ("premium-yearly", "Premium, yearly", "yearly", 283_200),
];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("plans"))
                    .col(uuid(c("id")).primary_key())
                    .col(string_len(c("code"), 60))
                    .col(integer(c("version")))
                    .col(string_len(c("name"), 100))
                    .col(string_len(c("tier"), 20))
                    .col(string_len(c("interval"), 10))
                    .col(big_integer(c("price_minor")))
                    .col(string_len(c("currency"), 3))
                    .col(integer(c("trial_days")))
                    .col(boolean(c("per_seat")))
                    .col(boolean(c("available")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .check(one_of(c("interval"), &INTERVALS))
                    .check(Expr::col(c("price_minor")).gte(0))
                    .check(Expr::col(c("trial_days")).between(0, 365))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index_on("plans_code_version_idx", "plans", &["code", "version"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("tenant_billing"))
                    .col(uuid(c("tenant_id")).primary_key())
                    .col(string_len_null(c("legal_name"), 200))
                    .col(string_len_null(c("billing_email"), 254))
                    .col(string_len_null(c("tax_id"), 50))
                    .col(string_len_null(c("country"), 2))
                    .col(string_len_null(c("address_line1"), 200))
                    .col(string_len_null(c("address_line2"), 200))
                    .col(string_len_null(c("city"), 100))
                    .col(string_len_null(c("region"), 100))
                    .col(string_len_null(c("postal_code"), 20))
                    .col(string_len(c("currency"), 3))
                    .col(string_len(c("preferred_provider"), 20))
                    .col(timestamp_with_time_zone_null(c("trial_used_at")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("preferred_provider"), &["stripe", "conekta", "fungies"]))
                    .foreign_key(&mut tenant_fk("tenant_billing"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(c("subscriptions"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("plan_id")))
                    .col(string_len(c("status"), 20))
                    .col(integer(c("quantity")))
                    .col(big_integer(c("unit_price_minor")))
                    .col(string_len(c("currency"), 3))
                    .col(string_len(c("interval"), 10))
                    .col(timestamp_with_time_zone(c("current_period_start")))
                    .col(timestamp_with_time_zone(c("current_period_end")))
                    .col(timestamp_with_time_zone_null(c("trial_end")))
                    .col(timestamp_with_time_zone_null(c("trial_reminded_at")))
                    .col(boolean(c("cancel_at_period_end")))
                    .col(timestamp_with_time_zone_null(c("canceled_at")))
                    .col(timestamp_with_time_zone_null(c("ended_at")))
                    .col(uuid_null(c("previous_subscription_id")))
                    .col(integer(c("version")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("status"), &STATUSES))
                    .check(one_of(c("interval"), &INTERVALS))
                    .check(Expr::col(c("quantity")).gt(0))
                    .check(Expr::col(c("unit_price_minor")).gte(0))
                    .check(Expr::cust("current_period_end > current_period_start"))
                    // Ended exactly when canceled: the live index below relies on it.
                    .check(Expr::cust("(status = 'canceled') = (ended_at IS NOT NULL)"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("subscriptions"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("subscriptions"), c("plan_id"))
                            .to(c("plans"), c("id"))
                            .on_delete(ForeignKeyAction::Restrict)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX subscriptions_live_idx ON subscriptions (tenant_id) WHERE ended_at IS NULL",
        )
        .await?;
        // The clock-driven job looks for what is due across every business.
        let due = ["status", "current_period_end"];
        manager.create_index(index_on("subscriptions_due_idx", "subscriptions", &due, false)).await?;

        for (code, name, interval, price) in SEEDED {
            let insert = Query::insert()
                .into_table(c("plans"))
                .columns([
                    c("id"),
                    c("code"),
                    c("version"),
                    c("name"),
                    c("tier"),
                    c("interval"),
                    c("price_minor"),
                    c("currency"),
                    c("trial_days"),
                    c("per_seat"),
                    c("available"),
                    c("created_at"),
                ])
                .values_panic([
                    uuid::Uuid::now_v7().into(),
                    code.into(),
                    1.into(),
                    name.into(),
                    "premium".into(),
                    interval.into(),
                    price.into(),
                    "USD".into(),
                    14.into(),
                    false.into(),
                    true.into(),
                    Expr::current_timestamp(),
                ])
                .to_owned();
            conn.execute(&insert).await?;
        }

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "plans", "SELECT, INSERT").await?;
            let grants = [("tenant_billing", "SELECT, INSERT, UPDATE"), ("subscriptions", "SELECT, INSERT, UPDATE")];
            postgres::tenant_tables(manager, &grants).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in ["subscriptions", "tenant_billing", "plans"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
