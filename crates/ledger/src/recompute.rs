//! Proving the counters: each counter must equal the sum of its records. The
//! counters are kept in the records' transactions, so a difference means a bug
//! or a hand edit; the job reports it (and the log says which) rather than
//! repairing it silently.

use sea_orm::{ConnectionTrait, Statement};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Db, Result, TenantId};

/// The most differences one run reports.
pub const MAX_DRIFTS: usize = 1_000;

/// A counter that does not equal the sum of its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The metric, as stored.
    pub metric: String,
    /// The period's key.
    pub period_key: String,
    /// What the counter says (`None`: records without a counter).
    pub counted: Option<i64>,
    /// The sum of the records.
    pub recorded: i64,
}

/// Compares every counter of every tenant with the sum of its records, and
/// records with no counter; returns the differences (at most [`MAX_DRIFTS`]).
pub async fn recompute(db: &Db) -> Result<Vec<Drift>> {
    let txn = db.begin(Scope::Maintenance, Access::Read).await?;
    let backend = txn.get_database_backend();
    let sql = format!(
        "SELECT c.tenant_id, c.metric, c.period_key, c.used AS counted, \
                CAST(COALESCE(SUM(r.quantity), 0) AS BIGINT) AS recorded \
           FROM usage_counters c \
           LEFT JOIN usage_records r \
             ON r.tenant_id = c.tenant_id AND r.metric = c.metric AND r.period_key = c.period_key \
          GROUP BY c.tenant_id, c.metric, c.period_key, c.used \
         HAVING c.used <> CAST(COALESCE(SUM(r.quantity), 0) AS BIGINT) \
         UNION ALL \
         SELECT r.tenant_id, r.metric, r.period_key, NULL AS counted, CAST(SUM(r.quantity) AS BIGINT) AS recorded \
           FROM usage_records r \
          WHERE NOT EXISTS (SELECT 1 FROM usage_counters c \
                             WHERE c.tenant_id = r.tenant_id AND c.metric = r.metric AND c.period_key = r.period_key) \
          GROUP BY r.tenant_id, r.metric, r.period_key \
          LIMIT {MAX_DRIFTS}"
    );
    let rows = txn.query_all_raw(Statement::from_string(backend, sql)).await?;
    txn.commit().await?;
    let mut drifts = Vec::with_capacity(rows.len());
    for row in rows {
        drifts.push(Drift {
            tenant_id: row.try_get("", "tenant_id")?,
            metric: row.try_get("", "metric")?,
            period_key: row.try_get("", "period_key")?,
            counted: row.try_get("", "counted")?,
            recorded: row.try_get("", "recorded")?,
        });
    }
    for drift in &drifts {
        tracing::warn!(
            tenant = %drift.tenant_id, metric = %drift.metric, period = %drift.period_key,
            counted = ?drift.counted, recorded = drift.recorded,
            "a usage counter differs from the sum of its records"
        );
    }
    Ok(drifts)
}
