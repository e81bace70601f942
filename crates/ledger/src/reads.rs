//! Reading usage back: the current period per metric, a daily series for a
//! chart, and which source (a partner client, an API key) used what.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::{DomainError, Result, TenantId};

use crate::entity::{usage_counter, usage_record};
use crate::limits::{Limit, limits_of};
use crate::metric::{LimitMode, Measure, Metric, Period, STOCK_PERIOD};
use crate::usage::UsageTerms;

/// The longest daily series one read answers.
pub const MAX_SERIES_DAYS: i64 = 366;
/// The most sources one read answers (the largest first).
pub const MAX_SOURCES: u64 = 100;

/// One metric in the current period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    /// The limit in force.
    pub limit: Limit,
    /// Used in the period (or, for a stock, now).
    pub used: i64,
    /// Used beyond a soft limit in the period.
    pub overage: i64,
    /// The period (for a rate: none, counted by the gateway).
    pub period: Period,
}

/// Every metric's limit and, for counted ones, the use in the period `at`
/// falls in, in [`Metric::ALL`]'s order.
pub async fn meters<C: ConnectionTrait>(conn: &C, terms: &UsageTerms, at: DateTime<Utc>) -> Result<Vec<Meter>> {
    let limits = limits_of(conn, terms.tenant_id, terms.tier).await?;
    let month = Period::month_of(at, terms.timezone);
    let counters = usage_counter::Entity::find()
        .filter(usage_counter::Column::TenantId.eq(terms.tenant_id))
        .filter(usage_counter::Column::PeriodKey.is_in([month.key.clone(), STOCK_PERIOD.to_owned()]))
        .all(conn)
        .await?;
    Ok(limits
        .into_iter()
        .map(|limit| {
            let period = Period::of(limit.metric, at, terms.timezone);
            let counter = counters.iter().find(|c| c.metric == limit.metric && c.period_key == period.key);
            Meter { limit, used: counter.map_or(0, |c| c.used), overage: counter.map_or(0, |c| c.overage), period }
        })
        .collect())
}

/// Use beyond a soft limit in one counted period that has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedOverage {
    /// The metric.
    pub metric: Metric,
    /// Its period (`2027-03`).
    pub period_key: String,
    /// When the period began.
    pub starts_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// Used beyond the limit in it.
    pub overage: i64,
}

/// The most ended periods one read answers (oldest first): about eight years
/// of every counted metric, many times the periods one renewal covers.
pub const MAX_ENDED_OVERAGES: u64 = 500;

/// The tenant's overage in counted periods that ended after `after` and by
/// `by`, oldest first, at most [`MAX_ENDED_OVERAGES`].
pub async fn ended_overage<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    after: DateTime<Utc>,
    by: DateTime<Utc>,
) -> Result<Vec<EndedOverage>> {
    let rows = usage_counter::Entity::find()
        .filter(usage_counter::Column::TenantId.eq(tenant_id))
        .filter(usage_counter::Column::Overage.gt(0))
        .filter(usage_counter::Column::ResetsAt.gt(after))
        .filter(usage_counter::Column::ResetsAt.lte(by))
        .order_by_asc(usage_counter::Column::ResetsAt)
        .order_by_asc(usage_counter::Column::Metric)
        .limit(MAX_ENDED_OVERAGES)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(EndedOverage {
                metric: row.metric,
                period_key: row.period_key,
                starts_at: row.period_start?,
                ended_at: row.resets_at?,
                overage: row.overage,
            })
        })
        .collect())
}

/// Whether `limit` is a hard one that counts (for showing "resets at").
pub fn is_hard(limit: &Limit) -> bool {
    limit.mode == LimitMode::Hard && limit.value.is_some()
}

/// The use of a counted `metric` on each local day from `from` to `to`
/// (inclusive), zero where nothing was used.
pub async fn daily<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Metric,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>> {
    if metric.measure() == Measure::PerMinute {
        return Err(DomainError::invalid("metric", "a rate has no daily use; choose a counted metric"));
    }
    let days = (to - from).num_days() + 1;
    if days < 1 {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    if days > MAX_SERIES_DAYS {
        return Err(DomainError::invalid("to", format!("a series covers at most {MAX_SERIES_DAYS} days")));
    }
    let (first, last) = (from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string());
    let sums: Vec<(String, i64)> = usage_record::Entity::find()
        .select_only()
        .column(usage_record::Column::OccurredOn)
        .column_as(sum_of_quantities(), "total")
        .filter(usage_record::Column::TenantId.eq(tenant_id))
        .filter(usage_record::Column::Metric.eq(metric))
        .filter(usage_record::Column::OccurredOn.between(first, last))
        .group_by(usage_record::Column::OccurredOn)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(from
        .iter_days()
        .take(usize::try_from(days).unwrap_or(0))
        .map(|day| {
            let key = day.format("%Y-%m-%d").to_string();
            (day, sums.iter().find(|(d, _)| *d == key).map_or(0, |(_, n)| *n))
        })
        .collect())
}

/// Who used a counted `metric` in a period: (source kind, source id, total),
/// the largest first, at most [`MAX_SOURCES`].
pub async fn by_source<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Metric,
    period_key: &str,
) -> Result<Vec<(String, Option<String>, i64)>> {
    let total = sum_of_quantities();
    Ok(usage_record::Entity::find()
        .select_only()
        .column(usage_record::Column::SourceKind)
        .column(usage_record::Column::SourceId)
        .column_as(total.clone(), "total")
        .filter(usage_record::Column::TenantId.eq(tenant_id))
        .filter(usage_record::Column::Metric.eq(metric))
        .filter(usage_record::Column::PeriodKey.eq(period_key))
        .group_by(usage_record::Column::SourceKind)
        .group_by(usage_record::Column::SourceId)
        .order_by_desc(total)
        .limit(MAX_SOURCES)
        .into_tuple()
        .all(conn)
        .await?)
}

/// `SUM(quantity)` as a 64-bit integer on both engines (PostgreSQL sums
/// `BIGINT`s into `NUMERIC`).
fn sum_of_quantities() -> Expr {
    Expr::expr(Func::sum(Expr::col(usage_record::Column::Quantity))).cast_as(Alias::new("BIGINT"))
}
