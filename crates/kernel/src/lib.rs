//! The shared vocabulary every Tessera crate speaks.
//!
//! `kernel` sits under all domain crates and depends on none of them. It owns no
//! domain's table; it defines what the others agree on:
//!
//! - [`id`]: typed identifiers (`TenantId`, `UserId`, …) that SeaORM stores directly;
//! - [`clock`]: time as a parameter ([`Clock`]), so tests drive time and code never
//!   reads the ambient clock;
//! - [`error`]: [`DomainError`] and its closed set of [`ErrorCode`]s, the only error
//!   vocabulary the API maps to clients;
//! - [`context`]: the [`RequestContext`] every service method takes first (who acts, in
//!   which tenant, with which permissions);
//! - [`permission`]: the closed catalogue of permissions;
//! - [`db`]: the database handle whose transactions carry the tenant into PostgreSQL
//!   row-level security and take SQLite's write lock up front;
//! - [`txn`]: a query request's one read transaction, shared by its resolvers
//!   and loaders;
//! - [`paging`]: cursor pages for Relay connections;
//! - [`directory`]: the token directory, which maps a globally unique key (an
//!   invitation's token, a client id) to its tenant and row;
//! - [`event`]: domain events and the transactional outbox they leave through;
//! - [`tier`]: the service tiers, which the tenant holds and the ledger limits;
//! - [`capped`]: a writer that stops renderings at a byte limit.

pub mod capped;
pub mod clock;
pub mod context;
pub mod db;
pub mod directory;
pub mod error;
pub mod event;
pub mod id;
pub mod paging;
pub mod permission;
pub mod tier;
pub mod token;
pub mod txn;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use context::{Actor, Reach, RequestContext, RequestMeta, Resource, TenantScope};
pub use db::{Backend, Db};
pub use error::{DomainError, ErrorCode, Result};
pub use event::{DomainEvent, EventKind};
pub use id::{
    AddonId, ApiKeyId, AssignmentId, BookingId, BookingSeriesId, ClassScheduleId, ClassSessionId, CustomerId,
    DeliveryId, GroupId, GroupMemberId, InvitationId, MembershipId, NotificationId, OAuthClientId, PasskeyId, PlanId,
    ProviderId, RoleId, ScheduleExceptionId, ServiceId, SessionId, SubscriptionId, TenantId, UserId, WaitlistEntryId,
    WebhookEndpointId,
};
pub use paging::{Page, PageRequest};
pub use permission::{Permission, PermissionSet};
pub use tier::TenantTier;
pub use txn::{SharedReads, Txn};
