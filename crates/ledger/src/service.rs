//! The ledger's reads for a tenant's members and its platform operator's
//! changes, each in a transaction of its own. (Counting a use is
//! [`crate::consume`], inside the using transaction.)

use chrono::NaiveDate;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Db, DomainError, Permission, RequestContext, Result, TenantId, TenantTier};

use crate::alerts::{self, Fired, Threshold, UsageAlert};
use crate::limits::{self, Limit, NewLimit, TierLimit};
use crate::metric::{Metric, Period};
use crate::reads::{self, Meter};
use crate::recompute::{self, Drift};
use crate::usage::UsageTerms;

/// Reads and sets limits and usage.
#[derive(Debug, Clone)]
pub struct UsageService {
    db: Db,
}

impl UsageService {
    /// A service over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The limits in force for the request's tenant (`tenant:read`); `terms`
    /// are that tenant's.
    pub async fn limits(&self, ctx: &RequestContext, terms: &UsageTerms) -> Result<Vec<Limit>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantRead, Access::Read).await?;
        same_tenant(auth.tenant_id, terms)?;
        let found = limits::limits_of(&*txn, terms.tenant_id, terms.tier).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Every metric's limit and use in the current period, for the request's
    /// tenant's owners (`tenant:manage`).
    pub async fn meters(&self, ctx: &RequestContext, terms: &UsageTerms) -> Result<Vec<Meter>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Read).await?;
        same_tenant(auth.tenant_id, terms)?;
        let found = reads::meters(&*txn, terms, ctx.now()).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// The request's tenant's daily use of `metric` from `from` to `to`, local
    /// dates inclusive (`tenant:manage`).
    pub async fn daily(
        &self,
        ctx: &RequestContext,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Read).await?;
        let found = reads::daily(&*txn, auth.tenant_id, metric, from, to).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// The business's own alerts (`tenant:manage`).
    pub async fn alerts(&self, ctx: &RequestContext) -> Result<Vec<UsageAlert>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Read).await?;
        let found = alerts::alerts_of(&*txn, auth.tenant_id, None).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Adds an alert on `metric` at `threshold` (`tenant:manage`).
    pub async fn add_alert(&self, ctx: &RequestContext, metric: Metric, threshold: Threshold) -> Result<UsageAlert> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Write).await?;
        let by = ctx.actor().map(|a| a.user_id);
        let added = alerts::add_alert(&*txn, auth.tenant_id, metric, threshold, by, ctx.now()).await?;
        txn.commit().await?;
        Ok(added)
    }

    /// Removes one of the business's alerts (`tenant:manage`).
    pub async fn remove_alert(&self, ctx: &RequestContext, id: uuid::Uuid) -> Result<()> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Write).await?;
        alerts::remove_alert(&*txn, auth.tenant_id, id).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The thresholds fired in the current periods (`tenant:manage`).
    pub async fn fired(&self, ctx: &RequestContext, terms: &UsageTerms) -> Result<Vec<Fired>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Read).await?;
        same_tenant(auth.tenant_id, terms)?;
        let keys = [Period::month_of(ctx.now(), terms.timezone).key];
        let found = alerts::fired_in(&*txn, auth.tenant_id, &keys).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Who used `metric` in the current period (`tenant:manage`): (kind of
    /// source, its id, total), the largest first, at most 100.
    pub async fn by_source(
        &self,
        ctx: &RequestContext,
        terms: &UsageTerms,
        metric: Metric,
    ) -> Result<Vec<(String, Option<String>, i64)>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::TenantManage, Access::Read).await?;
        same_tenant(auth.tenant_id, terms)?;
        let period = Period::of(metric, ctx.now(), terms.timezone);
        let found = reads::by_source(&*txn, auth.tenant_id, metric, &period.key).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// Every tier's limits in force (the platform operator's).
    pub async fn tier_table(&self) -> Result<Vec<TierLimit>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let table = limits::tier_table(&txn).await?;
        txn.commit().await?;
        Ok(table)
    }

    /// Sets a tier's limit as a new version (the platform operator's).
    pub async fn set_tier_limit(
        &self,
        tier: TenantTier,
        metric: Metric,
        limit: NewLimit,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<TierLimit> {
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let set = limits::set_tier_limit(&txn, tier, metric, limit, now).await?;
        txn.commit().await?;
        Ok(set)
    }

    /// Sets one tenant's own limit as a new version (the platform operator's).
    pub async fn set_tenant_limit(
        &self,
        tenant_id: TenantId,
        metric: Metric,
        limit: NewLimit,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<i32> {
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: None }, Access::Write).await?;
        let version = limits::set_tenant_limit(&txn, tenant_id, metric, limit, now).await?;
        txn.commit().await?;
        Ok(version)
    }

    /// Compares every counter with its records; the differences.
    pub async fn recompute(&self) -> Result<Vec<Drift>> {
        recompute::recompute(&self.db).await
    }
}

/// Terms describe the tenant the request acts in, or it is not found.
fn same_tenant(tenant_id: TenantId, terms: &UsageTerms) -> Result<()> {
    if terms.tenant_id == tenant_id { Ok(()) } else { Err(DomainError::NotFound { entity: "tenant" }) }
}
