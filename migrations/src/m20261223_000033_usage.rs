//! Usage, and what each tier may use.
//!
//! - `tier_limits` (global): per tier and metric, the limit (NULL = none) and
//!   whether it is hard (refused beyond it) or soft (allowed, counted as
//!   overage). Rows are never changed: a new limit is a new `version`, so what
//!   applied before stays readable. Version 1 is the defaults in the README.
//! - `tenant_limits`: the platform operator's limits for one tenant (a
//!   contract), versioned the same way; mode `tier` means "follow the tier
//!   again".
//! - `usage_records`: one row per thing that used something (a booking, a
//!   provider added or removed), written in the transaction that caused it,
//!   unique per (tenant, metric, idempotency key) so a retry never counts twice.
//!   Never changed; a correction is a record with a negative quantity.
//! - `usage_counters`: per tenant, metric and period (`period_key`: `2026-12`
//!   for a calendar month in the tenant's timezone, `all` for a count of things
//!   that exist), the sum of the records, updated by the same statement that
//!   checks the limit; with the limit that applied at its last change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::prelude::DateTimeUtc;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::index_on;
use crate::postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["tenant_limits", "usage_records", "usage_counters"];

/// The defaults, version 1: (metric, free, basic, premium, enterprise), each a
/// limit (`None` = unlimited) and whether it is soft.
type TierDefault = (&'static str, [(Option<i64>, bool); 4]);
const DEFAULTS: [TierDefault; 9] = [
    ("providers", [(Some(2), false), (Some(5), false), (Some(20), false), (None, false)]),
    ("staff_seats", [(Some(3), false), (Some(10), false), (Some(50), false), (None, false)]),
    ("bookings", [(Some(100), false), (Some(1_000), true), (Some(10_000), true), (None, true)]),
    ("sms", [(Some(0), false), (Some(200), true), (Some(2_000), true), (None, true)]),
    ("emails", [(Some(500), false), (Some(5_000), true), (Some(50_000), true), (None, true)]),
    ("webhook_endpoints", [(Some(1), false), (Some(5), false), (Some(20), false), (Some(100), false)]),
    ("api_credentials", [(Some(2), false), (Some(10), false), (Some(25), false), (Some(50), false)]),
    ("requests_per_minute", [(Some(120), false), (Some(600), false), (Some(3_000), false), (Some(12_000), false)]),
    (
        "complexity_per_minute",
        [(Some(20_000), false), (Some(100_000), false), (Some(500_000), false), (Some(2_000_000), false)],
    ),
];
const TIERS: [&str; 4] = ["free", "basic", "premium", "enterprise"];

fn limit_columns(create: &mut TableCreateStatement) -> &mut TableCreateStatement {
    let c = Alias::new;
    create
        .col(string_len(c("metric"), 40))
        .col(integer(c("version")))
        .col(big_integer_null(c("limit_value")))
        .col(string_len(c("mode"), 10))
        .col(string_len_null(c("note"), 500))
        .col(timestamp_with_time_zone(c("created_at")))
}

/// A cascading foreign key from `table`'s `tenant_id` to its tenant.
pub(crate) fn tenant_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Alias::new(table), Alias::new("tenant_id"))
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Counts the rows of `table` where `live` holds, per tenant, as the stock of
/// `metric`: one record (source `existing`) and its counter, so the stock
/// starts from what exists and the counters equal their records from the
/// first day.
pub(crate) async fn count_existing(
    conn: &impl ConnectionTrait,
    metric: &str,
    table: &str,
    live: SimpleExpr,
) -> Result<(), DbErr> {
    let c = Alias::new;
    let counts = Query::select()
        .column(c("tenant_id"))
        .expr_as(Expr::col(c("id")).count(), c("n"))
        .expr_as(Expr::col(c("created_at")).max(), c("latest"))
        .from(c(table))
        .and_where(live)
        .group_by_col(c("tenant_id"))
        .to_owned();
    record_existing(conn, metric, conn.query_all(&counts).await?).await
}

/// Records `rows` (`tenant_id`, `n`, `latest`: per tenant, how many exist and
/// when the latest came) as the stock of `metric`, as [`count_existing`] does.
pub(crate) async fn record_existing(
    conn: &impl ConnectionTrait,
    metric: &str,
    rows: Vec<sea_orm_migration::sea_orm::QueryResult>,
) -> Result<(), DbErr> {
    let c = Alias::new;
    for row in rows {
        let tenant_id: uuid::Uuid = row.try_get("", "tenant_id")?;
        let n: i64 = row.try_get("", "n")?;
        // Recorded as of the latest of them (the day in UTC: a migration
        // reads no timezone).
        let now: DateTimeUtc = row.try_get("", "latest")?;
        let record = Query::insert()
            .into_table(c("usage_records"))
            .columns(
                [
                    "tenant_id",
                    "id",
                    "metric",
                    "quantity",
                    "occurred_at",
                    "occurred_on",
                    "period_key",
                    "source_kind",
                    "idempotency_key",
                    "created_at",
                ]
                .map(c),
            )
            .values_panic([
                tenant_id.into(),
                uuid::Uuid::now_v7().into(),
                metric.into(),
                n.into(),
                now.into(),
                now.format("%Y-%m-%d").to_string().into(),
                "all".into(),
                "existing".into(),
                format!("existing:{metric}").into(),
                now.into(),
            ])
            .to_owned();
        conn.execute(&record).await?;
        let counter = Query::insert()
            .into_table(c("usage_counters"))
            .columns(["tenant_id", "metric", "period_key", "used", "overage", "mode", "updated_at"].map(c))
            .values_panic([
                tenant_id.into(),
                metric.into(),
                "all".into(),
                n.into(),
                0i64.into(),
                "hard".into(),
                now.into(),
            ])
            .to_owned();
        conn.execute(&counter).await?;
    }
    Ok(())
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let mut tiers = Table::create();
        tiers.table(c("tier_limits")).col(string_len(c("tier"), 20));
        limit_columns(&mut tiers).primary_key(Index::create().col(c("tier")).col(c("metric")).col(c("version")));
        manager.create_table(tiers.to_owned()).await?;

        let mut tenants = Table::create();
        tenants.table(c("tenant_limits")).col(uuid(c("tenant_id")));
        limit_columns(&mut tenants)
            .primary_key(Index::create().col(c("tenant_id")).col(c("metric")).col(c("version")))
            .foreign_key(&mut tenant_fk("tenant_limits"));
        manager.create_table(tenants.to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("usage_records"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(string_len(c("metric"), 40))
                    .col(big_integer(c("quantity")))
                    .col(timestamp_with_time_zone(c("occurred_at")))
                    .col(string_len(c("occurred_on"), 10))
                    .col(string_len(c("period_key"), 20))
                    .col(string_len(c("source_kind"), 30))
                    .col(string_len_null(c("source_id"), 64))
                    .col(string_len(c("idempotency_key"), 200))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("usage_records"))
                    .to_owned(),
            )
            .await?;
        let keys = ["tenant_id", "metric", "idempotency_key"];
        manager.create_index(index_on("usage_records_key_idx", "usage_records", &keys, true)).await?;
        let days = ["tenant_id", "metric", "occurred_on"];
        manager.create_index(index_on("usage_records_day_idx", "usage_records", &days, false)).await?;
        let periods = ["tenant_id", "metric", "period_key"];
        manager.create_index(index_on("usage_records_period_idx", "usage_records", &periods, false)).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("usage_counters"))
                    .col(uuid(c("tenant_id")))
                    .col(string_len(c("metric"), 40))
                    .col(string_len(c("period_key"), 20))
                    .col(timestamp_with_time_zone_null(c("period_start")))
                    .col(timestamp_with_time_zone_null(c("resets_at")))
                    .col(big_integer(c("used")))
                    .col(big_integer(c("overage")))
                    .col(big_integer_null(c("limit_value")))
                    .col(string_len(c("mode"), 10))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("metric")).col(c("period_key")))
                    .foreign_key(&mut tenant_fk("usage_counters"))
                    .to_owned(),
            )
            .await?;

        let conn = manager.get_connection();
        for (metric, limits) in DEFAULTS {
            for (tier, (limit, soft)) in TIERS.into_iter().zip(limits) {
                let insert = Query::insert()
                    .into_table(c("tier_limits"))
                    .columns([
                        c("tier"),
                        c("metric"),
                        c("version"),
                        c("limit_value"),
                        c("mode"),
                        c("note"),
                        c("created_at"),
                    ])
                    .values_panic([
                        tier.into(),
                        metric.into(),
                        1.into(),
                        limit.into(),
                        (if soft { "soft" } else { "hard" }).into(),
                        "the defaults".into(),
                        Expr::current_timestamp(),
                    ])
                    .to_owned();
                conn.execute(&insert).await?;
            }
        }

        count_existing(conn, "providers", "providers", Expr::col(Alias::new("active")).eq(true)).await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "tier_limits", "SELECT, INSERT").await?;
            let grants = [
                ("tenant_limits", "SELECT, INSERT"),
                ("usage_records", "SELECT, INSERT"),
                ("usage_counters", "SELECT, INSERT, UPDATE"),
            ];
            postgres::tenant_tables(manager, &grants).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in ["usage_counters", "usage_records", "tenant_limits", "tier_limits"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
