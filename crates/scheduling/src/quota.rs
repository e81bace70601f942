//! What scheduling counts against the tenant's tier (module `tessera_ledger`):
//! each booking made, in the month it is made (a cancelled one does not give
//! its unit back), and each active provider (deactivating one gives it back).
//! Counted in the change's own transaction, so a refusal (`QUOTA_EXCEEDED`)
//! rolls the change back with it, and a usage alert it fires is told in it.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{BookingId, ProviderId, Result};
use tessera_ledger::{Metric, Usage, UsageHooks, UsageTerms};
use tessera_tenant::Tenant;

use crate::bookable::timezone;

fn terms(tenant: &Tenant) -> Result<UsageTerms> {
    Ok(UsageTerms { tenant_id: tenant.id, tier: tenant.tier, timezone: timezone(tenant)? })
}

/// Counts `usage` and tells people of the thresholds it reached.
async fn count(txn: &DatabaseTransaction, tenant: &Tenant, notices: &dyn UsageHooks, usage: Usage) -> Result<()> {
    tessera_ledger::count_under(txn, notices, &terms(tenant)?, usage).await.map(|_| ())
}

/// Counts a booking just made (once per booking, whatever retries it).
pub(crate) async fn count_booking(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    notices: &dyn UsageHooks,
    id: BookingId,
    at: DateTime<Utc>,
) -> Result<()> {
    let usage = Usage {
        metric: Metric::Bookings,
        quantity: 1,
        at,
        source_kind: "booking",
        source_id: Some(id.to_string()),
        key: format!("booking:{id}"),
    };
    count(txn, tenant, notices, usage).await
}

/// Counts a provider becoming active (`true`: added or reactivated) or giving
/// its place back (`false`: deactivated).
pub(crate) async fn count_provider(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    notices: &dyn UsageHooks,
    id: ProviderId,
    active: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    let (quantity, change) = if active { (1, "on") } else { (-1, "off") };
    let usage = Usage {
        metric: Metric::Providers,
        quantity,
        at,
        source_kind: "provider",
        source_id: Some(id.to_string()),
        // Each change is its own use: the transaction making it runs once.
        key: format!("provider:{id}:{change}:{}", uuid_v7_at(at)),
    };
    count(txn, tenant, notices, usage).await
}
