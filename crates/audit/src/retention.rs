//! Retention: expiring a tenant's old activity while its chain stays verifiable.
//!
//! Expiry cuts the chain at the last record older than the tenant's retention:
//! the head remembers that record's sequence number and hash, verification starts
//! from them, and the cut itself is appended to the chain (`audit.expired`, by the
//! system), so moving the start by hand shows as a break. On PostgreSQL the deletes
//! go through `SECURITY DEFINER` functions (the request role has no DELETE) that
//! refuse anything younger than [`RETENTION_FLOOR_DAYS`] by the database's clock.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use serde_json::json;
use tessera_kernel::db::{Access, Backend, Scope};
use tessera_kernel::{Result, TenantId};

use crate::entity::{account_security_event, head, record, security_event};
use crate::model::AuditEntry;
use crate::service::{AuditService, append_by_system};

/// The youngest activity expiry ever deletes, in days; the shortest retention a
/// tenant may choose. The PostgreSQL functions hold the same floor.
pub const RETENTION_FLOOR_DAYS: u32 = 30;

/// What one expiry removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expiry {
    /// Audit records removed.
    pub audit_records: u64,
    /// Security events removed.
    pub security_events: u64,
    /// The chain now starts after this sequence number.
    pub expired_through_seq: i64,
}

impl AuditService {
    /// Expires the tenant's audit records and security events from before
    /// `cutoff` (never younger than the floor before `now`), recording the cut in
    /// the chain. A background job; one transaction per tenant, queued on the
    /// chain's head like appends, so concurrent sweeps cut once.
    pub async fn expire(&self, tenant_id: TenantId, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<Expiry> {
        let cutoff = cutoff.min(now - Duration::days(i64::from(RETENTION_FLOOR_DAYS)));
        let txn = self.db().begin(Scope::Maintenance, Access::Write).await?;
        let mut expiry = Expiry::default();
        if let Some(current) = head::Entity::find_by_id(tenant_id).lock_exclusive().one(&txn).await? {
            expiry.expired_through_seq = current.expired_through_seq;
            let last_expired = record::Entity::find()
                .filter(record::Column::TenantId.eq(tenant_id))
                .filter(record::Column::Seq.gt(current.expired_through_seq))
                .filter(record::Column::OccurredAt.lt(cutoff))
                .order_by_desc(record::Column::Seq)
                .one(&txn)
                .await?;
            if let Some(last) = last_expired {
                let was =
                    json!({ "throughSeq": current.expired_through_seq, "throughHash": current.expired_through_hash });
                let is = json!({ "throughSeq": last.seq, "throughHash": last.hash, "cutoff": cutoff });
                let entry = AuditEntry::change(EXPIRED_ACTION, "audit_log", tenant_id, Some(&was), Some(&is))?;
                append_by_system(&txn, tenant_id, now, entry).await?;
                head::Entity::update_many()
                    .col_expr(head::Column::ExpiredThroughSeq, last.seq.into())
                    .col_expr(head::Column::ExpiredThroughHash, last.hash.into())
                    .filter(head::Column::TenantId.eq(tenant_id))
                    .exec(&txn)
                    .await?;
                expiry.expired_through_seq = last.seq;
            }
            expiry.audit_records = self.delete_expired_records(&txn, tenant_id, expiry.expired_through_seq).await?;
        }
        expiry.security_events = self.delete_security_events(&txn, Some(tenant_id), cutoff).await?;
        txn.commit().await?;
        Ok(expiry)
    }

    /// Expires the account security events (those of no tenant) from before
    /// `cutoff` (never younger than the floor before `now`). A background job.
    pub async fn expire_account_events(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        let cutoff = cutoff.min(now - Duration::days(i64::from(RETENTION_FLOOR_DAYS)));
        let txn = self.db().begin(Scope::Maintenance, Access::Write).await?;
        let removed = self.delete_security_events(&txn, None, cutoff).await?;
        txn.commit().await?;
        Ok(removed)
    }

    async fn delete_expired_records(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        through: i64,
    ) -> Result<u64> {
        if through == 0 {
            return Ok(0);
        }
        match self.db().backend() {
            Backend::Postgres => {
                scalar_count(txn, "SELECT tessera_expire_audit($1)", vec![tenant_id.as_uuid().into()]).await
            }
            Backend::Sqlite => Ok(record::Entity::delete_many()
                .filter(record::Column::TenantId.eq(tenant_id))
                .filter(record::Column::Seq.lte(through))
                .exec(txn)
                .await?
                .rows_affected),
        }
    }

    async fn delete_security_events(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Option<TenantId>,
        cutoff: DateTime<Utc>,
    ) -> Result<u64> {
        match self.db().backend() {
            Backend::Postgres => {
                let tenant = tenant_id.map(|t| t.as_uuid());
                let sql = "SELECT tessera_expire_security_events($1, $2)";
                scalar_count(txn, sql, vec![tenant.into(), cutoff.into()]).await
            }
            Backend::Sqlite => {
                let removed = match tenant_id {
                    Some(id) => {
                        security_event::Entity::delete_many()
                            .filter(security_event::Column::TenantId.eq(id))
                            .filter(security_event::Column::OccurredAt.lt(cutoff))
                            .exec(txn)
                            .await?
                            .rows_affected
                    }
                    None => {
                        account_security_event::Entity::delete_many()
                            .filter(account_security_event::Column::OccurredAt.lt(cutoff))
                            .exec(txn)
                            .await?
                            .rows_affected
                    }
                };
                Ok(removed)
            }
        }
    }
}

/// The action recording a cut of the chain.
pub(crate) const EXPIRED_ACTION: &str = "audit.expired";

/// Runs a PostgreSQL function returning how many rows it removed.
async fn scalar_count(txn: &DatabaseTransaction, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64> {
    let row = txn.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    let removed: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(removed).unwrap_or(0))
}
