//! Audit: who changed what in a tenant, in a log that proves itself.
//!
//! Every mutation that changes tenant data calls [`append`] inside its own
//! transaction, so the record and the change commit together or not at all. A
//! record keeps the actor (user and session, or the system), the action, the target,
//! the changed fields before and after (secrets redacted), and the request's id, IP
//! and user agent.
//!
//! Each tenant's records form a hash chain: record `n` carries sequence number `n`
//! and a SHA-256 over its content and record `n - 1`'s hash; the chain's head (last
//! sequence number and hash) is kept apart and locked by each append.
//! [`AuditService::verify`] walks the chain and names the first broken sequence
//! number, whether a record was edited, removed, or cut from the end. On PostgreSQL
//! the request role may only insert and read records: no update, no delete.
//!
//! Security events ([`record_security_event`]) sit beside the chain: failed logins,
//! lockouts, reused refresh tokens, revoked sessions and permission changes, with
//! a [`Severity`], readable by a tenant's admins and by the user they are about.
//!
//! Retention ([`AuditService::expire`]) removes a tenant's old records and events;
//! the cut is recorded in the chain and the head keeps the last removed hash, so
//! the rest still verifies.

mod chain;
mod entity;
mod model;
mod retention;
mod security;
mod service;

pub use model::{AuditEntry, AuditFilter, AuditRecord, Verification};
pub use retention::{Expiry, RETENTION_FLOOR_DAYS};
pub use security::{
    SecurityEvent, SecurityEventFilter, SecurityEventKind, SecurityEventRecord, Severity, record_security_event,
};
pub use service::{AuditService, append, append_by, append_by_system, append_in};
