//! Each business's two rates (`requests_per_minute`, `complexity_per_minute`),
//! read from its limits in force and kept for [`KEEP_FOR`], so a request
//! reads nothing for them. A change of tier or limits reaches the gateway's
//! rate limits within that time (the ledger's other limits apply at once).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Db, Result, TenantId};
use tessera_ledger::Metric;

/// How long a business's rates are reused.
pub(crate) const KEEP_FOR: Duration = Duration::from_secs(60);

/// How many businesses' rates are kept; when full, those past [`KEEP_FOR`]
/// go, and if none has, all.
const KEPT: usize = 10_000;

/// A business's rates per minute; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rates {
    /// Requests a minute, for the whole business.
    pub(crate) requests: Option<u64>,
    /// GraphQL complexity a minute, for the whole business.
    pub(crate) complexity: Option<u64>,
}

/// The kept rates.
#[derive(Debug, Default)]
pub(crate) struct TenantRates {
    kept: Mutex<HashMap<TenantId, (Rates, Instant)>>,
}

impl TenantRates {
    /// The rates of `tenant_id`, kept or read now.
    pub(crate) async fn of(&self, db: &Db, tenant_id: TenantId) -> Result<Rates> {
        let fresh = |(_, read): &(Rates, Instant)| read.elapsed() < KEEP_FOR;
        if let Some((rates, _)) = self.lock().get(&tenant_id).filter(|kept| fresh(kept)) {
            return Ok(*rates);
        }
        let rates = read(db, tenant_id).await?;
        let mut kept = self.lock();
        if kept.len() >= KEPT {
            kept.retain(|_, entry| fresh(entry));
            if kept.len() >= KEPT {
                kept.clear();
            }
        }
        kept.insert(tenant_id, (rates, Instant::now()));
        Ok(rates)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Rates, Instant)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn read(db: &Db, tenant_id: TenantId) -> Result<Rates> {
    let txn = db.begin(Scope::Tenant { tenant_id, user_id: None }, Access::Read).await?;
    let tier = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?.tier;
    let per_minute = |limit: tessera_ledger::Limit| limit.value.map(|n| u64::try_from(n).unwrap_or(0));
    let requests = tessera_ledger::limits::limit_for(&txn, tenant_id, tier, Metric::RequestsPerMinute).await?;
    let complexity = tessera_ledger::limits::limit_for(&txn, tenant_id, tier, Metric::ComplexityPerMinute).await?;
    txn.commit().await?;
    Ok(Rates { requests: per_minute(requests), complexity: per_minute(complexity) })
}
