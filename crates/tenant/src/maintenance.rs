//! Work across every tenant, for the gateway's housekeeping: purging tenants
//! deleted past their grace, each tenant's activity retention, and whether any
//! tenant exists yet (the demo seeds an empty database only); and the platform
//! operator's tier changes.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result, TenantId, TenantTier};

use crate::entity::tenant;
use crate::model::{Tenant, TenantSettings, TenantStatus};
use crate::service::{TenantService, audited};

impl TenantService {
    /// Hard-deletes tenants whose grace period ended before `now`, with their
    /// memberships. A background job; returns how many were purged.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let result = tenant::Entity::delete_many()
            .filter(tenant::Column::Status.eq(TenantStatus::PendingDeletion))
            .filter(tenant::Column::DeletionScheduledAt.lte(now))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(result.rows_affected)
    }

    /// Every tenant that keeps its activity for a limited time, with that time in
    /// days. A background job (the retention sweep).
    pub async fn activity_retention(&self) -> Result<Vec<(TenantId, u32)>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let rows: Vec<(TenantId, serde_json::Value)> = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .column(tenant::Column::Settings)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut limited = Vec::new();
        for (id, settings) in rows {
            if let Some(days) = TenantSettings::from_json(&settings)?.activity_retention_days {
                limited.push((id, days));
            }
        }
        Ok(limited)
    }

    /// Moves the tenant `slug` to `tier` (the platform operator's decision, or
    /// later a subscription's), with its audit record. The tier's limits apply
    /// from this transaction's commit: usage is checked against the tier read
    /// in the using transaction.
    pub async fn set_tier(&self, slug: &str, tier: TenantTier, now: DateTime<Utc>) -> Result<Tenant> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let row = by_slug(&txn, slug).await?;
        let tenant = set_tier_in(&txn, row.id, tier, None, now).await?;
        txn.commit().await?;
        Ok(tenant)
    }

    /// The tenant `slug`, for the platform operator's commands.
    pub async fn tenant_for_operator(&self, slug: &str) -> Result<Tenant> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let row = by_slug(&txn, slug).await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// Whether any tenant exists (the first start seeds a demo one when none does).
    pub async fn any_tenant_exists(&self) -> Result<bool> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let found = tenant::Entity::find().one(&txn).await?.is_some();
        txn.commit().await?;
        Ok(found)
    }
}

/// Moves `tenant_id` to `tier` inside the caller's transaction (a
/// subscription's change, which must move the tier and the limits with it),
/// with its audit record, by the request's actor when `by` is given and by the
/// system otherwise. Nothing is written when the tier is already `tier`.
pub async fn set_tier_in(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    tier: TenantTier,
    by: Option<&RequestContext>,
    now: DateTime<Utc>,
) -> Result<Tenant> {
    let row = crate::repo::find_tenant_in_tenant_scope(txn, tenant_id).await?;
    if row.tier == tier {
        return Tenant::try_from(row);
    }
    let before = audited(&row);
    let mut active: tenant::ActiveModel = row.into();
    active.tier = Set(tier);
    active.updated_at = Set(now);
    let row = active.update(txn).await?;
    let entry = AuditEntry::change("tenant.tier_changed", "tenant", row.id, Some(&before), Some(&audited(&row)))?;
    tessera_audit::append_by(txn, by, row.id, now, entry).await?;
    Tenant::try_from(row)
}

async fn by_slug<C: ConnectionTrait>(conn: &C, slug: &str) -> Result<tenant::Model> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.trim().to_ascii_lowercase()))
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound { entity: "tenant" })
}
