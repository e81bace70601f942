//! Domain events and the transactional outbox.
//!
//! A service that changes state writes the event to the `outbox` table in the same
//! transaction as the change ([`enqueue`]), so an event exists exactly when its change
//! committed. After commit a relay in the API publishes outbox rows on the event bus
//! (in-process, or Redis across replicas). Each event carries an id so consumers can
//! drop the duplicates an at-least-once relay may produce.
//!
//! Every statement on the outbox is here: writing ([`enqueue`]), and the relay's
//! claiming ([`claim_unpublished`]), marking ([`mark_published`]) and clearing
//! ([`delete_published_before`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TenantId;
use crate::id::uuid_v7_at;

/// The name of the outbox table (created by the migrations).
pub const OUTBOX_TABLE: &str = "outbox";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A tenant's profile, settings or feature flags changed.
    #[serde(rename = "tenant.updated")]
    TenantUpdated,
    /// A tenant was soft-deleted.
    #[serde(rename = "tenant.deleted")]
    TenantDeleted,
    /// A soft-deleted tenant was restored.
    #[serde(rename = "tenant.restored")]
    TenantRestored,
    /// A booking was made.
    #[serde(rename = "booking.created")]
    BookingCreated,
    /// A booking moved to another time or provider.
    #[serde(rename = "booking.rescheduled")]
    BookingRescheduled,
    /// A booking was confirmed, started, completed or marked as a no-show.
    #[serde(rename = "booking.status_changed")]
    BookingStatusChanged,
    /// A booking was cancelled.
    #[serde(rename = "booking.cancelled")]
    BookingCancelled,
    /// Roles, groups or assignments changed: someone's rights may differ now.
    #[serde(rename = "access.changed")]
    AccessChanged,
    /// A notification was queued; in-app ones reach their reader live, and the
    /// delivery worker wakes.
    #[serde(rename = "notification.created")]
    NotificationCreated,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        Self::TenantUpdated,
        Self::TenantDeleted,
        Self::TenantRestored,
        Self::BookingCreated,
        Self::BookingRescheduled,
        Self::BookingStatusChanged,
        Self::BookingCancelled,
        Self::AccessChanged,
        Self::NotificationCreated,
    ];

    /// The event's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantUpdated => "tenant.updated",
            Self::TenantDeleted => "tenant.deleted",
            Self::TenantRestored => "tenant.restored",
            Self::BookingCreated => "booking.created",
            Self::BookingRescheduled => "booking.rescheduled",
            Self::BookingStatusChanged => "booking.status_changed",
            Self::BookingCancelled => "booking.cancelled",
            Self::AccessChanged => "access.changed",
            Self::NotificationCreated => "notification.created",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the event may change what someone may do in its tenant, or
    /// through it in its children: its roles, groups and assignments, its
    /// status, its security policy, whether its parent may manage it. A gateway
    /// reuses callers' rights in a tenant until one of these happens there.
    pub fn changes_access(self) -> bool {
        matches!(self, Self::AccessChanged | Self::TenantUpdated | Self::TenantDeleted | Self::TenantRestored)
    }
}

tokio::task_local! {
    /// The tenants whose access-changing events the running task enqueued.
    static ACCESS_CHANGES: std::sync::Mutex<Vec<TenantId>>;
}

/// Runs `work` and returns, with its output, the tenants for which it enqueued
/// an event that [changes access](EventKind::changes_access), whether or not
/// its transaction then committed. The gateway runs each operation so and
/// announces those tenants before it answers, so that the caller's next request
/// finds its rights changed on every replica. Noting it here, where every such
/// event is written, is what keeps a new kind of change from being missed.
pub async fn noting_access_changes<F: Future>(work: F) -> (F::Output, Vec<TenantId>) {
    ACCESS_CHANGES
        .scope(std::sync::Mutex::new(Vec::new()), async move {
            let output = work.await;
            let changed = ACCESS_CHANGES.with(|noted| {
                let mut changed = std::mem::take(&mut *noted.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                changed.sort();
                changed.dedup();
                changed
            });
            (output, changed)
        })
        .await
}

/// A fact about one tenant's data, published after its transaction committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Unique per event; consumers drop repeats.
    pub id: Uuid,
    /// The tenant the event belongs to; only its members may receive it.
    pub tenant_id: TenantId,
    /// What happened.
    pub kind: EventKind,
    /// The id of the thing it happened to.
    pub subject_id: Uuid,
    /// Event-specific data.
    pub payload: serde_json::Value,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

impl DomainEvent {
    /// A new event occurring at `at`.
    pub fn new(
        at: DateTime<Utc>,
        tenant_id: TenantId,
        kind: EventKind,
        subject_id: Uuid,
        payload: serde_json::Value,
    ) -> Self {
        Self { id: uuid_v7_at(at), tenant_id, kind, subject_id, payload, occurred_at: at }
    }
}

/// Writes `event` to the outbox inside the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, event: &DomainEvent) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new(OUTBOX_TABLE))
        .columns(["id", "tenant_id", "kind", "subject_id", "payload", "occurred_at"].map(Alias::new))
        .values_panic([
            event.id.into(),
            event.tenant_id.as_uuid().into(),
            event.kind.as_str().into(),
            event.subject_id.into(),
            event.payload.to_string().into(),
            event.occurred_at.into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    if event.kind.changes_access() {
        // Outside `noting_access_changes` (a background job, the CLI) nobody is
        // noting: the relay announces the change when it publishes the event.
        let _ = ACCESS_CHANGES.try_with(|noted| {
            noted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(event.tenant_id);
        });
    }
    Ok(())
}

/// An outbox row not yet published.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpublished {
    /// The row's (and its event's) id.
    pub id: Uuid,
    /// The tenant whose change it records.
    pub tenant_id: TenantId,
    /// The kind as stored.
    pub kind: String,
    /// The event; `None` when this build does not know the kind (a newer replica
    /// wrote it): the relay skips it rather than stall behind it.
    pub event: Option<DomainEvent>,
}

/// Up to `limit` unpublished rows, oldest first, for one replica at a time: on
/// PostgreSQL the caller's transaction first takes the relay's advisory lock,
/// so a replica kicked while another relays waits for it, then sees what is
/// left (its own new event included). Row locks would not do: the outbox is
/// sharded by tenant on a distributed PostgreSQL, which refuses `FOR UPDATE`
/// across shards, while every gateway shares the coordinator's advisory locks.
/// On SQLite the write transaction already excludes the rest.
pub async fn claim_unpublished<C: ConnectionTrait>(conn: &C, limit: u64) -> Result<Vec<Unpublished>, DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        let lock = Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended('tessera.outbox_relay', 0))",
        );
        conn.execute_raw(lock).await?;
    }
    let select = Query::select()
        .columns(["id", "tenant_id", "kind", "subject_id", "payload", "occurred_at"].map(Alias::new))
        .from(Alias::new(OUTBOX_TABLE))
        .and_where(Expr::col(Alias::new("published_at")).is_null())
        .order_by(Alias::new("id"), Order::Asc)
        .limit(limit)
        .to_owned();
    let mut claimed = Vec::new();
    for row in conn.query_all(&select).await? {
        let id: Uuid = row.try_get("", "id")?;
        let kind: String = row.try_get("", "kind")?;
        let tenant_id = TenantId(row.try_get("", "tenant_id")?);
        let payload: String = row.try_get("", "payload")?;
        let event = match EventKind::parse(&kind) {
            Some(known) => Some(DomainEvent {
                id,
                tenant_id,
                kind: known,
                subject_id: row.try_get("", "subject_id")?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                occurred_at: row.try_get("", "occurred_at")?,
            }),
            None => None,
        };
        claimed.push(Unpublished { id, tenant_id, kind, event });
    }
    Ok(claimed)
}

/// Marks the rows `claimed` published at `at`.
pub async fn mark_published<C: ConnectionTrait>(
    conn: &C,
    claimed: &[Unpublished],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if claimed.is_empty() {
        return Ok(());
    }
    // The key leads with the tenant: each id with the tenants of the batch.
    let mut tenants: Vec<Uuid> = claimed.iter().map(|row| row.tenant_id.0).collect();
    tenants.sort();
    tenants.dedup();
    let mark = Query::update()
        .table(Alias::new(OUTBOX_TABLE))
        .value(Alias::new("published_at"), at)
        .and_where(Expr::col(Alias::new("tenant_id")).is_in(tenants))
        .and_where(Expr::col(Alias::new("id")).is_in(claimed.iter().map(|row| row.id)))
        .to_owned();
    conn.execute(&mark).await?;
    Ok(())
}

/// Deletes the rows published before `cutoff`; returns how many.
pub async fn delete_published_before<C: ConnectionTrait>(conn: &C, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let delete = Query::delete()
        .from_table(Alias::new(OUTBOX_TABLE))
        .and_where(Expr::col(Alias::new("published_at")).lt(cutoff))
        .to_owned();
    Ok(conn.execute(&delete).await?.rows_affected())
}
