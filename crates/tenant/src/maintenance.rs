//! Work across every tenant, for the gateway's housekeeping: purging tenants
//! deleted past their grace, each tenant's activity retention, and whether any
//! tenant exists yet (the demo seeds an empty database only).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Result, TenantId};

use crate::entity::tenant;
use crate::model::{TenantSettings, TenantStatus};
use crate::service::TenantService;

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

    /// Whether any tenant exists (the first start seeds a demo one when none does).
    pub async fn any_tenant_exists(&self) -> Result<bool> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let found = tenant::Entity::find().one(&txn).await?.is_some();
        txn.commit().await?;
        Ok(found)
    }
}
