//! Counting a use, inside the transaction that causes it.
//!
//! [`consume`] writes a usage record (unique per tenant, metric and
//! idempotency key, so a retry counts nothing) and adds it to the period's
//! counter in one statement that also finds and checks the limit: an
//! `INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE used + n <= limit`. The database
//! applies it to the latest row (PostgreSQL re-reads the row it waited for;
//! SQLite has one writer), so parallel uses can never pass the limit together.
//! Refused, it returns `QUOTA_EXCEEDED` and the caller's transaction, with the
//! record, rolls back: nothing is lost and nothing is counted.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, Statement, Value};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, Result, TenantId, TenantTier};

use crate::alerts::{self, Reached};
use crate::entity::usage_record;
use crate::limits::{limit_for, limit_in_force_sql, numbered};
use crate::metric::{LimitMode, Measure, Metric, Period};

/// Whose use it is: the tenant, its tier and its timezone (which decides the month).
#[derive(Debug, Clone, Copy)]
pub struct UsageTerms {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its tier.
    pub tier: TenantTier,
    /// Its timezone.
    pub timezone: Tz,
}

/// One use to count.
#[derive(Debug, Clone)]
pub struct Usage {
    /// What was used.
    pub metric: Metric,
    /// How much (negative: a stock given back, or a correction).
    pub quantity: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What caused it (`booking`, `provider`), for the per-source statistics.
    pub source_kind: &'static str,
    /// Which one (its id), if it has one.
    pub source_id: Option<String>,
    /// Unique per tenant and metric: the same key again counts nothing.
    pub key: String,
}

/// What counting a use did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// False when the key was counted before (a retry): nothing changed.
    pub new: bool,
    /// The period's count before this use.
    pub before: i64,
    /// The period's count after it.
    pub used: i64,
    /// The period's overage after it (soft limits).
    pub overage: i64,
    /// The limit that applied (`None`: unlimited).
    pub limit: Option<i64>,
    /// Whether it was hard or soft.
    pub mode: LimitMode,
    /// The period.
    pub period: Period,
    /// The thresholds this use reached, each fired for the first time in the
    /// period (tell people: [`crate::UsageHooks`]).
    pub reached: Vec<Reached>,
}

/// Counts `usage` for the tenant in `conn`'s transaction, refusing it with
/// `QUOTA_EXCEEDED` when a hard limit would be passed.
pub async fn consume<C: ConnectionTrait>(conn: &C, terms: &UsageTerms, usage: Usage) -> Result<Counted> {
    if usage.metric.measure() == Measure::PerMinute {
        return Err(DomainError::Internal(format!("{} is a rate, not counted", usage.metric.as_str())));
    }
    if usage.key.is_empty() || usage.key.len() > 200 {
        return Err(DomainError::Internal("a usage key is 1 to 200 bytes".into()));
    }
    let period = Period::of(usage.metric, usage.at, terms.timezone);
    if !record(conn, terms, &usage, &period).await? {
        let (limit, mode) = (None, LimitMode::Hard);
        return Ok(Counted { new: false, before: 0, used: 0, overage: 0, limit, mode, period, reached: Vec::new() });
    }
    match add_to_counter(conn, terms, &usage, &period).await? {
        Some(after) => {
            let before = after.used - usage.quantity;
            // A stock's alerts fire once a month too (it has no period of its own).
            let alert_period = match usage.metric.measure() {
                Measure::Stock => Period::month_of(usage.at, terms.timezone),
                _ => period.clone(),
            };
            let reached = alerts::fire(
                conn,
                terms.tenant_id,
                usage.metric,
                (before, after.used),
                after.limit,
                after.own_alerts,
                (&alert_period, usage.at),
            )
            .await?;
            let AfterUse { used, overage, limit, mode, .. } = after;
            Ok(Counted { new: true, before, used, overage, limit, mode, period, reached })
        }
        None => {
            // Refused: read the limit once more, for the message.
            let limit = limit_for(conn, terms.tenant_id, terms.tier, usage.metric).await?;
            Err(DomainError::QuotaExceeded {
                metric: usage.metric.as_str(),
                limit: limit.value.unwrap_or_default(),
                resets_at: period.resets_at,
            })
        }
    }
}

/// Writes the usage record; false when its key was recorded before.
async fn record<C: ConnectionTrait>(conn: &C, terms: &UsageTerms, usage: &Usage, period: &Period) -> Result<bool> {
    use usage_record::Column as R;
    let local_day = usage.at.with_timezone(&terms.timezone).date_naive();
    let insert = Query::insert()
        .into_table(usage_record::Entity)
        .columns([
            R::TenantId,
            R::Id,
            R::Metric,
            R::Quantity,
            R::OccurredAt,
            R::OccurredOn,
            R::PeriodKey,
            R::SourceKind,
            R::SourceId,
            R::IdempotencyKey,
            R::CreatedAt,
        ])
        .values_panic([
            terms.tenant_id.into(),
            uuid_v7_at(usage.at).into(),
            usage.metric.as_str().into(),
            usage.quantity.into(),
            usage.at.into(),
            local_day.format("%Y-%m-%d").to_string().into(),
            period.key.clone().into(),
            usage.source_kind.into(),
            usage.source_id.clone().into(),
            usage.key.clone().into(),
            usage.at.into(),
        ])
        .on_conflict(OnConflict::columns([R::TenantId, R::Metric, R::IdempotencyKey]).do_nothing().to_owned())
        .to_owned();
    Ok(conn.execute(&insert).await?.rows_affected() == 1)
}

/// One statement: finds the limit in force (the rule of
/// [`limit_in_force_sql`], which the reads share), and adds the use to
/// the period's counter only if a hard limit allows it: the insert of a new
/// counter checks the use alone, the update of an existing one checks the sum
/// on the row it locked. Soft limits add the part beyond the limit to the
/// overage. `$1` tenant, `$2` metric, `$3` tier, `$4` period key, `$5` start,
/// `$6` reset, `$7` quantity, `$8` time.
const COUNT_SQL: &str = concat!(
    limit_in_force_sql!(),
    "\
INSERT INTO usage_counters
    (tenant_id, metric, period_key, period_start, resets_at, used, overage, limit_value, mode, updated_at)
SELECT $1, $2, $4, $5, $6, $7,
       CASE WHEN applied.mode = 'soft' AND applied.limit_value IS NOT NULL AND $7 > applied.limit_value
            THEN $7 - applied.limit_value ELSE 0 END,
       applied.limit_value, applied.mode, $8
  FROM applied
 WHERE applied.mode <> 'hard' OR applied.limit_value IS NULL OR $7 <= applied.limit_value
ON CONFLICT (tenant_id, metric, period_key) DO UPDATE SET
    used = usage_counters.used + excluded.used,
    overage = usage_counters.overage + CASE
        WHEN excluded.limit_value IS NULL OR excluded.mode <> 'soft' OR excluded.used <= 0 THEN 0
        WHEN usage_counters.used >= excluded.limit_value THEN excluded.used
        WHEN usage_counters.used + excluded.used > excluded.limit_value
            THEN usage_counters.used + excluded.used - excluded.limit_value
        ELSE 0 END,
    limit_value = excluded.limit_value,
    mode = excluded.mode,
    updated_at = excluded.updated_at
 WHERE excluded.mode <> 'hard' OR excluded.limit_value IS NULL OR excluded.used <= 0
    OR usage_counters.used + excluded.used <= excluded.limit_value
RETURNING used, overage, limit_value, mode,
    (SELECT COUNT(*) FROM usage_alerts WHERE tenant_id = $1 AND metric = $2) AS own_alerts"
);

/// The counter after a use, as [`COUNT_SQL`] returns it.
struct AfterUse {
    used: i64,
    overage: i64,
    limit: Option<i64>,
    mode: LimitMode,
    /// How many alerts of its own the business has on the metric.
    own_alerts: i64,
}

/// Adds the use to the period's counter (see [`COUNT_SQL`]); `None` when a
/// hard limit refused it.
async fn add_to_counter<C: ConnectionTrait>(
    conn: &C,
    terms: &UsageTerms,
    usage: &Usage,
    period: &Period,
) -> Result<Option<AfterUse>> {
    let backend = conn.get_database_backend();
    let sql = numbered(backend, COUNT_SQL);
    let values: [Value; 8] = [
        terms.tenant_id.as_uuid().into(),
        usage.metric.as_str().into(),
        terms.tier.as_str().into(),
        period.key.clone().into(),
        period.starts_at.into(),
        period.resets_at.into(),
        usage.quantity.into(),
        usage.at.into(),
    ];
    let row = conn.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let Some(row) = row else { return Ok(None) };
    let mode = match row.try_get::<String>("", "mode")?.as_str() {
        "soft" => LimitMode::Soft,
        _ => LimitMode::Hard,
    };
    Ok(Some(AfterUse {
        used: row.try_get("", "used")?,
        overage: row.try_get("", "overage")?,
        limit: row.try_get("", "limit_value")?,
        mode,
        own_alerts: row.try_get("", "own_alerts")?,
    }))
}
