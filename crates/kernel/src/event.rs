//! Domain events and the transactional outbox.
//!
//! A service that changes state writes the event to the `outbox` table in the same
//! transaction as the change ([`enqueue`]), so an event exists exactly when its change
//! committed. After commit a relay in the API publishes outbox rows on the event bus
//! (in-process, or Redis across replicas). Each event carries an id so consumers can
//! drop the duplicates an at-least-once relay may produce.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DbErr};
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
    Ok(())
}
