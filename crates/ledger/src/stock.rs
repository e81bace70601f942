//! Stocks counted by recounting: for what changes in too many ways to count
//! each one (who holds a staff seat depends on roles, groups, assignments and
//! their expiry), the owning domain recounts the stock inside its change and
//! the ledger records the difference from the counter as one use. A growth
//! past a hard limit is refused like any use, so the change rolls back.
//!
//! Two changes recounting at once could miss each other's (a recount before
//! the other commits, the counter read after), so the owning domain takes
//! [`lock_stock`] first: on PostgreSQL a transaction advisory lock per tenant
//! and metric, which the second waits on and then recounts with the first's
//! change committed (each statement reads what is committed when it starts);
//! SQLite runs one writing transaction at a time anyway.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, EntityTrait};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Result, TenantId};

use crate::alerts::{UsageHooks, count_under};
use crate::entity::usage_counter;
use crate::metric::{Metric, STOCK_PERIOD};
use crate::usage::{Usage, UsageTerms};

/// Serialises the tenant's recounts of `metric` until `txn` ends.
pub async fn lock_stock(txn: &DatabaseTransaction, tenant_id: TenantId, metric: Metric) -> Result<()> {
    tessera_kernel::db::lock_named(txn, &format!("stock:{tenant_id}:{}", metric.as_str())).await?;
    Ok(())
}

/// Brings the stock's counter to `now`, which the caller recounted in `txn`
/// after [`lock_stock`]: the difference is recorded as one use from
/// `source_kind` (refused past a hard limit when the stock grew).
pub async fn settle_stock(
    txn: &DatabaseTransaction,
    hooks: &dyn UsageHooks,
    terms: &UsageTerms,
    metric: Metric,
    (now, at): (i64, DateTime<Utc>),
    source_kind: &'static str,
) -> Result<()> {
    let counted = usage_counter::Entity::find_by_id((terms.tenant_id, metric, STOCK_PERIOD.to_owned()))
        .one(txn)
        .await?
        .map_or(0, |counter| counter.used);
    let difference = now - counted;
    if difference == 0 {
        return Ok(());
    }
    let usage = Usage {
        metric,
        quantity: difference,
        at,
        source_kind,
        source_id: None,
        key: format!("{}:recount:{}", metric.as_str(), uuid_v7_at(at)),
    };
    count_under(txn, hooks, terms, usage).await.map(|_| ())
}
