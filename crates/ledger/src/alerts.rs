//! Alerts on usage: thresholds at 80 % and 100 % of every limit, and the ones a
//! business's owners add (a percentage or an amount). A use that reaches a
//! threshold records its firing in the same transaction, keyed by tenant,
//! metric, period and threshold: parallel uses crossing it fire it once, and a
//! new period has new keys, so every alert re-arms (a stock's, such as
//! providers, has the calendar month for a period: giving a provider back and
//! adding it again does not fire twice in a month). Telling people is the
//! caller's ([`UsageHooks`], which the gateway implements with notify).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use tessera_kernel::{DomainError, Result, TenantId, UserId};
use uuid::Uuid;

use crate::entity::{usage_alert, usage_alert_firing};
use crate::metric::{Metric, Period};
use crate::usage::{Counted, Usage, UsageTerms};

/// The thresholds every limited metric has, in percent of its limit.
pub const DEFAULT_PERCENTS: [i32; 2] = [80, 100];
/// The most thresholds a business may add.
pub const MAX_ALERTS: u64 = 20;

/// Where an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// At this percentage of the limit (1–1000); never without a limit.
    Percent(i32),
    /// At this use.
    Amount(i64),
}

impl Threshold {
    /// The firing key's threshold: `80%` or `500`.
    pub fn key(self) -> String {
        match self {
            Self::Percent(p) => format!("{p}%"),
            Self::Amount(a) => a.to_string(),
        }
    }

    /// The use at which it fires under `limit` (`None`: a percentage of no limit).
    pub fn level(self, limit: Option<i64>) -> Option<i64> {
        match self {
            Self::Percent(p) => {
                let limit = limit.filter(|l| *l > 0)?;
                // Rounded up: 80 % of 10 is 8, of 9 is 8 (7.2 would fire early).
                let level = (i128::from(limit) * i128::from(p) + 99) / 100;
                i64::try_from(level).ok()
            }
            Self::Amount(a) => Some(a),
        }
    }

    fn checked(self) -> Result<Self> {
        match self {
            Self::Percent(p) if !(1..=1000).contains(&p) => {
                Err(DomainError::invalid("percent", "must be from 1 to 1000"))
            }
            Self::Amount(a) if a < 1 => Err(DomainError::invalid("amount", "must be 1 or more")),
            ok => Ok(ok),
        }
    }
}

/// A threshold a use reached, fired now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The metric.
    pub metric: Metric,
    /// The threshold.
    pub threshold: Threshold,
    /// The use at which it fires.
    pub level: i64,
    /// The use that reached it.
    pub used: i64,
    /// The limit then (`None`: unlimited).
    pub limit: Option<i64>,
    /// The period it fired in (it re-arms in the next).
    pub period: Period,
}

impl Reached {
    /// Whether the limit itself is reached (urgent: it may refuse what comes next).
    pub fn at_limit(&self) -> bool {
        self.limit.is_some_and(|limit| self.used >= limit)
    }
}

/// What the ledger needs from above it, inside a using transaction: the
/// tenant's terms (for a domain that cannot read the tenant itself, such as
/// notify), and telling people of reached thresholds. The gateway implements
/// it with tenant, rbac, identity and notify.
#[async_trait]
pub trait UsageHooks: Send + Sync + std::fmt::Debug {
    /// The tenant's tier and timezone, read in `txn`.
    async fn terms(&self, txn: &DatabaseTransaction, tenant_id: TenantId) -> Result<UsageTerms>;

    /// Called once per use that fired at least one threshold.
    async fn reached(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        reached: &[Reached],
        at: DateTime<Utc>,
    ) -> Result<()>;
}

/// Counts `usage` for a tenant whose terms `hooks` read, and tells people of
/// the thresholds it reached, all in `txn`.
pub async fn count_with(
    txn: &DatabaseTransaction,
    hooks: &dyn UsageHooks,
    tenant_id: TenantId,
    usage: Usage,
) -> Result<Counted> {
    let terms = hooks.terms(txn, tenant_id).await?;
    count_under(txn, hooks, &terms, usage).await
}

/// Counts `usage` under `terms` the caller already has (a domain that read
/// the tenant), and tells people of the thresholds it reached, all in `txn`.
pub async fn count_under(
    txn: &DatabaseTransaction,
    hooks: &dyn UsageHooks,
    terms: &UsageTerms,
    usage: Usage,
) -> Result<Counted> {
    let at = usage.at;
    let counted = crate::usage::consume(txn, terms, usage).await?;
    if !counted.reached.is_empty() {
        hooks.reached(txn, terms.tenant_id, &counted.reached, at).await?;
    }
    Ok(counted)
}

/// What a use from `before` to `used` reached, each fired once: the defaults
/// when there is a limit, and the business's own when it has any for the
/// metric (`own_alerts`, counted by the counter's statement).
pub(crate) async fn fire<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Metric,
    (before, used): (i64, i64),
    limit: Option<i64>,
    own_alerts: i64,
    (period, at): (&Period, DateTime<Utc>),
) -> Result<Vec<Reached>> {
    if used <= before {
        return Ok(Vec::new());
    }
    let mut thresholds: Vec<Threshold> = DEFAULT_PERCENTS.map(Threshold::Percent).to_vec();
    if own_alerts > 0 {
        thresholds.extend(alerts_of(conn, tenant_id, Some(metric)).await?.into_iter().map(|a| a.threshold));
    }
    let mut reached = Vec::new();
    for threshold in thresholds {
        let Some(level) = threshold.level(limit) else { continue };
        if !(before < level && level <= used) {
            continue;
        }
        use usage_alert_firing::Column as F;
        let insert = Query::insert()
            .into_table(usage_alert_firing::Entity)
            .columns([F::TenantId, F::Metric, F::PeriodKey, F::Threshold, F::Level, F::Used, F::LimitValue, F::FiredAt])
            .values_panic([
                tenant_id.into(),
                metric.as_str().into(),
                period.key.clone().into(),
                threshold.key().into(),
                level.into(),
                used.into(),
                limit.into(),
                at.into(),
            ])
            .on_conflict(
                OnConflict::columns([F::TenantId, F::Metric, F::PeriodKey, F::Threshold, F::Level])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        if conn.execute(&insert).await?.rows_affected() == 1 {
            reached.push(Reached { metric, threshold, level, used, limit, period: period.clone() });
        }
    }
    Ok(reached)
}

/// A threshold a business added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageAlert {
    /// Its id.
    pub id: Uuid,
    /// The metric it watches.
    pub metric: Metric,
    /// Where it fires.
    pub threshold: Threshold,
    /// Who added it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<usage_alert::Model> for UsageAlert {
    fn from(row: usage_alert::Model) -> Self {
        let threshold = match (row.percent, row.amount) {
            (Some(p), _) => Threshold::Percent(p),
            (None, a) => Threshold::Amount(a.unwrap_or_default()),
        };
        Self { id: row.id, metric: row.metric, threshold, created_by: row.created_by, created_at: row.created_at }
    }
}

/// The tenant's own alerts (of one metric, or all), oldest first.
pub(crate) async fn alerts_of<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Option<Metric>,
) -> Result<Vec<UsageAlert>> {
    let mut query = usage_alert::Entity::find().filter(usage_alert::Column::TenantId.eq(tenant_id));
    if let Some(metric) = metric {
        query = query.filter(usage_alert::Column::Metric.eq(metric));
    }
    let rows = query.order_by_asc(usage_alert::Column::Id).all(conn).await?;
    Ok(rows.into_iter().map(UsageAlert::from).collect())
}

/// Adds an alert (at most [`MAX_ALERTS`] per tenant; only on counted metrics).
pub(crate) async fn add_alert<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Metric,
    threshold: Threshold,
    by: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<UsageAlert> {
    let threshold = threshold.checked()?;
    if metric.measure() == crate::metric::Measure::PerMinute {
        return Err(DomainError::invalid("metric", "a rate per minute has no alerts; choose a counted metric"));
    }
    let existing = usage_alert::Entity::find().filter(usage_alert::Column::TenantId.eq(tenant_id)).all(conn).await?;
    if existing.len() as u64 >= MAX_ALERTS {
        return Err(DomainError::Conflict(format!("a business has at most {MAX_ALERTS} alerts; remove one first")));
    }
    let (percent, amount) = match threshold {
        Threshold::Percent(p) => (Some(p), None),
        Threshold::Amount(a) => (None, Some(a)),
    };
    let row = usage_alert::Model {
        tenant_id,
        id: tessera_kernel::id::uuid_v7_at(at),
        metric,
        percent,
        amount,
        created_by: by,
        created_at: at,
    };
    usage_alert::Entity::insert(usage_alert::ActiveModel::from(row.clone())).exec_without_returning(conn).await?;
    Ok(row.into())
}

/// Removes an alert; `NOT_FOUND` unless it is the tenant's.
pub(crate) async fn remove_alert<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: Uuid) -> Result<()> {
    let removed = usage_alert::Entity::delete_by_id((tenant_id, id)).exec(conn).await?;
    if removed.rows_affected == 0 { Err(DomainError::NotFound { entity: "usage alert" }) } else { Ok(()) }
}

/// The thresholds fired in the period with `period_key`, in the order they fired.
pub(crate) async fn fired_in<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    period_keys: &[String],
) -> Result<Vec<Fired>> {
    let rows = usage_alert_firing::Entity::find()
        .filter(usage_alert_firing::Column::TenantId.eq(tenant_id))
        .filter(usage_alert_firing::Column::PeriodKey.is_in(period_keys.iter().cloned()))
        .order_by_asc(usage_alert_firing::Column::FiredAt)
        .order_by_asc(usage_alert_firing::Column::Level)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Fired {
            metric: r.metric,
            threshold: r.threshold,
            level: r.level,
            used: r.used,
            limit: r.limit_value,
            fired_at: r.fired_at,
        })
        .collect())
}

/// A threshold fired in the current period, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The metric.
    pub metric: Metric,
    /// `80%` or `500`.
    pub threshold: String,
    /// The use at which it fires.
    pub level: i64,
    /// The use that reached it.
    pub used: i64,
    /// The limit then.
    pub limit: Option<i64>,
    /// When.
    pub fired_at: DateTime<Utc>,
}
