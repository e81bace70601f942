//! What a tenant may use: its tier's limits (`tier_limits`), unless the
//! platform operator set one for the tenant itself (`tenant_limits`). Both are
//! versioned: a change adds a version and the old ones stay, so what applied
//! before can always be read back. No row means no limit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement, Value,
};
use tessera_kernel::{DomainError, Result, TenantId, TenantTier};

use crate::entity::{tenant_limit, tier_limit};
use crate::metric::{LimitMode, Metric};

/// A limit in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What it limits.
    pub metric: Metric,
    /// How much may be used (`None`: no limit).
    pub value: Option<i64>,
    /// Hard or soft (never [`LimitMode::FollowTier`]).
    pub mode: LimitMode,
    /// Where it comes from.
    pub origin: LimitOrigin,
}

/// Whose limit applies, and which version of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitOrigin {
    /// The tenant's tier, at this version of its limit for the metric.
    Tier(i32),
    /// The platform operator's limit for the tenant, at this version.
    Tenant(i32),
    /// Nothing is set for the metric.
    Unset,
}

/// A tier's limit of a metric at one version, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLimit {
    /// The tier.
    pub tier: TenantTier,
    /// The metric.
    pub metric: Metric,
    /// Its version (1 = the defaults).
    pub version: i32,
    /// How much (`None`: unlimited).
    pub value: Option<i64>,
    /// Hard or soft.
    pub mode: LimitMode,
    /// Why it was set.
    pub note: Option<String>,
    /// When it was set.
    pub created_at: DateTime<Utc>,
}

/// Which limit is in force, as SQL: the tenant's own latest version unless
/// it says `tier`, else its tier's latest, else none. Both the reads below and
/// the one statement that counts a use (`usage.rs`) start with it, so the
/// rule is written once. Parameters: `$1` tenant, `$2` metric, `$3` tier; it
/// ends in `applied (limit_value, mode, version, origin)`, one row.
macro_rules! limit_in_force_sql {
    () => {
        "\
WITH own AS (
    SELECT limit_value, mode, version FROM tenant_limits
     WHERE tenant_id = $1 AND metric = $2 ORDER BY version DESC LIMIT 1
), of_tier AS (
    SELECT limit_value, mode, version FROM tier_limits
     WHERE tier = $3 AND metric = $2 ORDER BY version DESC LIMIT 1
), applied AS (
    SELECT limit_value, mode, version, 'tenant' AS origin FROM own WHERE mode <> 'tier'
    UNION ALL
    SELECT limit_value, mode, version, 'tier' FROM of_tier
     WHERE NOT EXISTS (SELECT 1 FROM own WHERE mode <> 'tier')
    UNION ALL
    SELECT NULL, 'hard', 0, 'unset' WHERE NOT EXISTS (SELECT 1 FROM own WHERE mode <> 'tier')
                                      AND NOT EXISTS (SELECT 1 FROM of_tier)
)
"
    };
}
pub(crate) use limit_in_force_sql;

/// `sql`, written with PostgreSQL's `$N` parameters, for `backend` (SQLite
/// numbers them `?N`).
pub(crate) fn numbered(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}

/// The limit of `metric` in force for the tenant on `tier`.
pub async fn limit_for<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    tier: TenantTier,
    metric: Metric,
) -> Result<Limit> {
    const SQL: &str = concat!(limit_in_force_sql!(), "SELECT limit_value, mode, version, origin FROM applied");
    let backend = conn.get_database_backend();
    let values: [Value; 3] = [tenant_id.as_uuid().into(), metric.as_str().into(), tier.as_str().into()];
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, numbered(backend, SQL), values))
        .await?
        .ok_or_else(|| DomainError::Internal(format!("no limit row for {}", metric.as_str())))?;
    let mode = match row.try_get::<String>("", "mode")?.as_str() {
        "soft" => LimitMode::Soft,
        _ => LimitMode::Hard,
    };
    let version: i32 = row.try_get("", "version")?;
    let origin = match row.try_get::<String>("", "origin")?.as_str() {
        "tenant" => LimitOrigin::Tenant(version),
        "tier" => LimitOrigin::Tier(version),
        _ => LimitOrigin::Unset,
    };
    Ok(Limit { metric, value: row.try_get("", "limit_value")?, mode, origin })
}

/// Every metric's limit in force for the tenant on `tier`, in [`Metric::ALL`]'s order.
pub async fn limits_of<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, tier: TenantTier) -> Result<Vec<Limit>> {
    let mut limits = Vec::with_capacity(Metric::ALL.len());
    for metric in Metric::ALL {
        limits.push(limit_for(conn, tenant_id, tier, metric).await?);
    }
    Ok(limits)
}

/// Every tier's limits in force, tier by tier (the operator's table).
pub async fn tier_table<C: ConnectionTrait>(conn: &C) -> Result<Vec<TierLimit>> {
    let rows = tier_limit::Entity::find().order_by_asc(tier_limit::Column::Version).all(conn).await?;
    let mut latest: BTreeMap<(usize, Metric), tier_limit::Model> = BTreeMap::new();
    for row in rows {
        let rank = TenantTier::ALL.iter().position(|t| *t == row.tier).unwrap_or(usize::MAX);
        latest.insert((rank, row.metric), row);
    }
    Ok(latest.into_values().map(tier_row).collect())
}

fn tier_row(row: tier_limit::Model) -> TierLimit {
    TierLimit {
        tier: row.tier,
        metric: row.metric,
        version: row.version,
        value: row.limit_value,
        mode: row.mode,
        note: row.note,
        created_at: row.created_at,
    }
}

/// A new limit to set: how much (`None`: unlimited) and what happens beyond it.
#[derive(Debug, Clone)]
pub struct NewLimit {
    /// How much may be used; `None` lifts the limit.
    pub value: Option<i64>,
    /// Hard or soft ([`LimitMode::FollowTier`] only for a tenant's own limit).
    pub mode: LimitMode,
    /// Why (kept with the version).
    pub note: Option<String>,
}

impl NewLimit {
    fn checked(&self) -> Result<()> {
        if self.value.is_some_and(|v| v < 0) {
            return Err(DomainError::invalid("limit", "must be zero or more, or unlimited"));
        }
        if self.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(DomainError::invalid("note", "must be at most 500 characters"));
        }
        Ok(())
    }
}

/// Sets a tier's limit of `metric` as a new version; returns it. Two operators
/// setting the same limit at once: one gets `CONFLICT` and tries again.
pub async fn set_tier_limit<C: ConnectionTrait>(
    conn: &C,
    tier: TenantTier,
    metric: Metric,
    limit: NewLimit,
    now: DateTime<Utc>,
) -> Result<TierLimit> {
    limit.checked()?;
    if limit.mode == LimitMode::FollowTier {
        return Err(DomainError::invalid("mode", "a tier's limit is hard or soft"));
    }
    let last = tier_limit::Entity::find()
        .filter(tier_limit::Column::Tier.eq(tier))
        .filter(tier_limit::Column::Metric.eq(metric))
        .order_by_desc(tier_limit::Column::Version)
        .one(conn)
        .await?;
    let row = tier_limit::ActiveModel {
        tier: Set(tier),
        metric: Set(metric),
        version: Set(last.map_or(1, |l| l.version + 1)),
        limit_value: Set(limit.value),
        mode: Set(limit.mode),
        note: Set(limit.note),
        created_at: Set(now),
    };
    let row = tier_limit::Entity::insert(row)
        .exec_with_returning(conn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "the limit was changed at the same moment; try again"))?;
    Ok(tier_row(row))
}

/// Sets the tenant's own limit of `metric` as a new version (mode
/// [`LimitMode::FollowTier`]: the tier's applies again); returns its version.
pub async fn set_tenant_limit<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    metric: Metric,
    limit: NewLimit,
    now: DateTime<Utc>,
) -> Result<i32> {
    limit.checked()?;
    let last = tenant_limit::Entity::find()
        .filter(tenant_limit::Column::TenantId.eq(tenant_id))
        .filter(tenant_limit::Column::Metric.eq(metric))
        .order_by_desc(tenant_limit::Column::Version)
        .one(conn)
        .await?;
    let version = last.map_or(1, |l| l.version + 1);
    let row = tenant_limit::ActiveModel {
        tenant_id: Set(tenant_id),
        metric: Set(metric),
        version: Set(version),
        limit_value: Set(limit.value),
        mode: Set(limit.mode),
        note: Set(limit.note),
        created_at: Set(now),
    };
    tenant_limit::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "the limit was changed at the same moment; try again"))?;
    Ok(version)
}
