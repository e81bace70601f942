//! Appending to a tenant's chain, listing it, and verifying it.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tessera_kernel::context::{Actor, Authorized, RequestMeta};
use tessera_kernel::db::Access;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{Db, DomainError, Page, PageRequest, Permission, RequestContext, Result, TenantId};

use crate::chain::{GENESIS, Link};
use crate::entity::{head, record};
use crate::model::{AuditEntry, AuditFilter, AuditRecord, Verification, changes};
use crate::retention::EXPIRED_ACTION;

/// How many records verification reads at a time.
const VERIFY_BATCH: u64 = 500;

/// Appends `entry` to the tenant's chain in `txn`, the transaction of the change it
/// records: both commit or neither does. Appends of one tenant queue on the chain's
/// head (a row lock on PostgreSQL; SQLite writers are serialised anyway), so
/// concurrent changes get consecutive sequence numbers.
pub async fn append(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    entry: AuditEntry,
) -> Result<()> {
    append_in(txn, ctx, auth.tenant_id, entry).await
}

/// Like [`append`], for a request that acts in `tenant_id` without an
/// authorization there yet: the one creating the tenant.
pub async fn append_in(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    tenant_id: TenantId,
    entry: AuditEntry,
) -> Result<()> {
    let origin = Origin { actor: ctx.actor().copied(), meta: Some(ctx.meta()) };
    append_link(txn, tenant_id, origin, ctx.now(), entry).await
}

/// Appends a record by the request's actor when `by` is given (an owner's
/// change), else by the system at `at` (the same change made by a job).
pub async fn append_by(
    txn: &DatabaseTransaction,
    by: Option<&RequestContext>,
    tenant_id: TenantId,
    at: DateTime<Utc>,
    entry: AuditEntry,
) -> Result<()> {
    match by {
        Some(ctx) => append_in(txn, ctx, tenant_id, entry).await,
        None => append_by_system(txn, tenant_id, at, entry).await,
    }
}

/// Appends a record of something the system did on its own (a retention sweep):
/// no actor and no request.
pub async fn append_by_system(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    at: DateTime<Utc>,
    entry: AuditEntry,
) -> Result<()> {
    append_link(txn, tenant_id, Origin { actor: None, meta: None }, at, entry).await
}

/// Who caused a record and through which request.
struct Origin<'a> {
    actor: Option<Actor>,
    meta: Option<&'a RequestMeta>,
}

async fn append_link(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    origin: Origin<'_>,
    at: DateTime<Utc>,
    entry: AuditEntry,
) -> Result<()> {
    // The head, made at the tenant's first record, and locked by the update
    // that does nothing to it: one statement, and appends to one tenant's
    // chain queue behind each other until the transaction ends.
    let current = head::Entity::insert(head::ActiveModel {
        tenant_id: Set(tenant_id),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
        expired_through_seq: Set(0),
        expired_through_hash: Set(GENESIS.to_owned()),
    })
    .on_conflict(OnConflict::column(head::Column::TenantId).update_column(head::Column::TenantId).to_owned())
    .exec_with_returning(txn)
    .await?;
    // Stored to the microsecond, as both databases keep it, so the hash verifies.
    let occurred_at = at.trunc_subsecs(6);
    let request_id = origin.meta.map(|m| m.request_id.as_str()).filter(|id| !id.is_empty());
    let ip = origin.meta.and_then(|m| m.ip.as_deref());
    let user_agent = origin.meta.and_then(|m| m.user_agent.as_deref());
    let changes = changes(entry.before.as_ref(), entry.after.as_ref()).to_string();
    let link = Link {
        tenant_id,
        seq: current.seq + 1,
        id: uuid_v7_at(occurred_at),
        actor_user_id: origin.actor.map(|a| a.user_id),
        session_id: origin.actor.map(|a| a.session_id),
        action: entry.action,
        target_type: entry.target_type,
        target_id: &entry.target_id,
        changes: &changes,
        request_id,
        ip,
        user_agent,
        occurred_at,
        prev_hash: &current.hash,
    };
    let hash = link.hash();
    record::ActiveModel {
        id: Set(link.id),
        tenant_id: Set(tenant_id),
        seq: Set(link.seq),
        actor_user_id: Set(link.actor_user_id),
        session_id: Set(link.session_id),
        action: Set(link.action.to_owned()),
        target_type: Set(link.target_type.to_owned()),
        target_id: Set(entry.target_id.clone()),
        changes: Set(changes.clone()),
        request_id: Set(request_id.map(str::to_owned)),
        ip: Set(ip.map(str::to_owned)),
        user_agent: Set(user_agent.map(str::to_owned)),
        occurred_at: Set(occurred_at),
        prev_hash: Set(current.hash.clone()),
        hash: Set(hash.clone()),
    }
    .insert(txn)
    .await?;
    head::Entity::update_many()
        .col_expr(head::Column::Seq, link.seq.into())
        .col_expr(head::Column::Hash, hash.into())
        .filter(head::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Reads and verifies tenants' audit logs.
#[derive(Debug, Clone)]
pub struct AuditService {
    db: Db,
}

impl AuditService {
    /// A service over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The request tenant's records matching `filter`, oldest first.
    pub async fn records(
        &self,
        ctx: &RequestContext,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.keyset()?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::AuditRead, Access::Read).await?;
        let mut select = record::Entity::find().filter(record::Column::TenantId.eq(auth.tenant_id));
        if let Some(action) = &filter.action {
            select = select.filter(record::Column::Action.eq(action.as_str()));
        }
        if let Some(kind) = &filter.target_type {
            select = select.filter(record::Column::TargetType.eq(kind.as_str()));
        }
        if let Some(id) = &filter.target_id {
            select = select.filter(record::Column::TargetId.eq(id.as_str()));
        }
        if let Some(actor) = filter.actor_user_id {
            select = select.filter(record::Column::ActorUserId.eq(actor));
        }
        if let Some(from) = filter.from {
            select = select.filter(record::Column::OccurredAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(record::Column::OccurredAt.lt(to));
        }
        let rows = keyset.apply(select, record::Column::Id).all(&txn).await?;
        txn.commit().await?;
        keyset.finish(rows).try_map(AuditRecord::try_from)
    }

    /// Walks the request tenant's whole chain: every sequence number present once,
    /// each record linked to the one before, each hash matching its content, and
    /// the last record the one the chain's head names. Reports the first break.
    pub async fn verify(&self, ctx: &RequestContext) -> Result<Verification> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::AuditRead, Access::Read).await?;
        let verification = verify_chain(&txn, auth.tenant_id).await?;
        txn.commit().await?;
        Ok(verification)
    }
}

async fn verify_chain(txn: &DatabaseTransaction, tenant_id: TenantId) -> Result<Verification> {
    let head = head::Entity::find_by_id(tenant_id).one(txn).await?;
    // Retention may have cut the chain's start: verification begins after the cut,
    // from the hash of the last record it removed.
    let (start, start_hash) =
        head.as_ref().map_or((0, GENESIS.to_owned()), |h| (h.expired_through_seq, h.expired_through_hash.clone()));
    let (mut expected, mut previous, mut checked) = (start + 1, start_hash.clone(), 0_u64);
    let outcome = |checked: u64, broken: Option<(i64, &str)>| {
        Ok(Verification { checked, expired_through_seq: start, broken: broken.map(|(seq, why)| (seq, why.to_owned())) })
    };
    loop {
        let rows = record::Entity::find()
            .filter(record::Column::TenantId.eq(tenant_id))
            .filter(record::Column::Seq.gte(expected))
            .order_by_asc(record::Column::Seq)
            .limit(VERIFY_BATCH)
            .all(txn)
            .await?;
        let batch = rows.len();
        for row in rows {
            if row.seq != expected {
                return outcome(checked, Some((expected, "this record is missing")));
            }
            if row.prev_hash != previous {
                return outcome(checked, Some((row.seq, "this record does not follow the one before it")));
            }
            if Link::of(&row).hash() != row.hash {
                return outcome(checked, Some((row.seq, "this record's content does not match its hash")));
            }
            checked += 1;
            previous = row.hash;
            expected += 1;
        }
        if u64::try_from(batch).unwrap_or(0) < VERIFY_BATCH {
            break;
        }
    }
    let last = expected - 1;
    match &head {
        Some(head) if head.seq > last => {
            return outcome(checked, Some((last + 1, "records at the end of the chain are missing")));
        }
        Some(head) if head.seq == last && head.hash != previous => {
            return outcome(checked, Some((last, "the last record is not the one the chain ends with")));
        }
        None if last > 0 => return outcome(checked, Some((1, "the chain has records but no head"))),
        _ => {}
    }
    if start > 0 && !cut_is_recorded(txn, tenant_id, start, &start_hash).await? {
        return outcome(checked, Some((start + 1, "the chain's start was moved without a recorded expiry")));
    }
    outcome(checked, None)
}

/// Whether the chain's latest expiry record names the cut the head holds: a start
/// moved by hand has no verified record behind it.
async fn cut_is_recorded(txn: &DatabaseTransaction, tenant_id: TenantId, seq: i64, hash: &str) -> Result<bool> {
    let latest = record::Entity::find()
        .filter(record::Column::TenantId.eq(tenant_id))
        .filter(record::Column::Action.eq(EXPIRED_ACTION))
        .filter(record::Column::Seq.gt(seq))
        .order_by_desc(record::Column::Seq)
        .one(txn)
        .await?;
    let Some(latest) = latest else { return Ok(false) };
    let changes: serde_json::Value = serde_json::from_str(&latest.changes).unwrap_or_default();
    let cut = &changes["after"];
    Ok(cut["throughSeq"].as_i64() == Some(seq) && cut["throughHash"].as_str() == Some(hash))
}

impl<'a> Link<'a> {
    fn of(row: &'a record::Model) -> Self {
        Link {
            tenant_id: row.tenant_id,
            seq: row.seq,
            id: row.id,
            actor_user_id: row.actor_user_id,
            session_id: row.session_id,
            action: &row.action,
            target_type: &row.target_type,
            target_id: &row.target_id,
            changes: &row.changes,
            request_id: row.request_id.as_deref(),
            ip: row.ip.as_deref(),
            user_agent: row.user_agent.as_deref(),
            occurred_at: row.occurred_at,
            prev_hash: &row.prev_hash,
        }
    }
}

impl TryFrom<record::Model> for AuditRecord {
    type Error = DomainError;

    fn try_from(row: record::Model) -> Result<Self> {
        let changes = serde_json::from_str(&row.changes)
            .map_err(|e| DomainError::Internal(format!("audit record {} has unreadable changes: {e}", row.id)))?;
        Ok(Self {
            id: row.id,
            seq: row.seq,
            actor_user_id: row.actor_user_id,
            session_id: row.session_id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            changes,
            request_id: row.request_id,
            ip: row.ip,
            user_agent: row.user_agent,
            occurred_at: row.occurred_at,
            hash: row.hash,
        })
    }
}
