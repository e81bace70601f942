//! Staff seats: the members who hold any role but the built-in customer role,
//! directly or through a group, tenant-wide or on one resource. A business's
//! tier limits them (`staff_seats`, a stock in the ledger).
//!
//! Who holds a seat depends on roles, groups, assignments and their expiry, so
//! rather than count each change, every access change recounts the seats in
//! its own transaction (`record_change` calls [`settle`]), under the ledger's
//! lock, and the ledger records the difference: a promotion past a hard limit
//! is refused (`QUOTA_EXCEEDED`) and rolls back with the change. A seat freed
//! by an assignment's expiry is given back at the business's next change.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::{Result, RoleId, TenantId, UserId};
use tessera_ledger::{Metric, UsageHooks, UsageTerms};
use tessera_tenant::Tenant;

use crate::entity::{assignment, group, group_member, role};
use crate::model::BuiltinRole;
use crate::service::active_assignment;

/// Recounts the staff seats of `tenant` at `at` and settles the ledger's count.
pub(crate) async fn settle(
    txn: &DatabaseTransaction,
    usage: &dyn UsageHooks,
    tenant: &Tenant,
    at: DateTime<Utc>,
) -> Result<()> {
    tessera_ledger::lock_stock(txn, tenant.id, Metric::StaffSeats).await?;
    let seats = i64::try_from(holders(txn, tenant.id, at).await?.len()).unwrap_or(i64::MAX);
    // A stock has no period, so the timezone only fills the terms.
    let timezone = tenant.timezone.parse().unwrap_or(Tz::UTC);
    let terms = UsageTerms { tenant_id: tenant.id, tier: tenant.tier, timezone };
    tessera_ledger::settle_stock(txn, usage, &terms, Metric::StaffSeats, (seats, at), "member").await
}

/// The members holding a seat at `at`.
async fn holders(txn: &DatabaseTransaction, tenant_id: TenantId, at: DateTime<Utc>) -> Result<HashSet<UserId>> {
    let seat_roles: Vec<RoleId> = role::Entity::find()
        .filter(role::Column::TenantId.eq(tenant_id))
        .filter(role::Column::DeletedAt.is_null())
        .all(txn)
        .await?
        .into_iter()
        .filter(|r| r.builtin_key != Some(BuiltinRole::Customer))
        .map(|r| r.id)
        .collect();
    let grants: Vec<(Option<UserId>, Option<tessera_kernel::GroupId>)> = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::UserId)
        .column(assignment::Column::GroupId)
        .filter(assignment::Column::TenantId.eq(tenant_id))
        .filter(assignment::Column::RoleId.is_in(seat_roles))
        .filter(active_assignment(at))
        .into_tuple()
        .all(txn)
        .await?;
    let mut holders: HashSet<UserId> = grants.iter().filter_map(|(user, _)| *user).collect();
    let groups: HashSet<tessera_kernel::GroupId> = grants.iter().filter_map(|(_, group)| *group).collect();
    if !groups.is_empty() {
        let live: Vec<tessera_kernel::GroupId> = group::Entity::find()
            .filter(group::Column::TenantId.eq(tenant_id))
            .filter(group::Column::Id.is_in(groups))
            .filter(group::Column::DeletedAt.is_null())
            .all(txn)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        let members: Vec<UserId> = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::UserId)
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::GroupId.is_in(live))
            .filter(group_member::Column::RemovedAt.is_null())
            .into_tuple()
            .all(txn)
            .await?;
        holders.extend(members);
    }
    Ok(holders)
}
