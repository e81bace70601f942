//! Helpers for testing a domain crate's services below the gateway: the real
//! migrations on a private in-memory SQLite database, accounts to act as, and
//! request contexts on a clock the test moves.
//!
//! The pattern (see `crates/rbac/src/rules_tests.rs`): a test opens [`memory_db`],
//! builds the services it needs over it, signs accounts in with [`signed_in`],
//! and calls the service methods directly. Each database lives as long as its
//! [`Db`] and is seen by no other test, so tests run in parallel. What needs
//! PostgreSQL (row-level security, the exclusion constraint) stays in the
//! end-to-end suite, which runs on both backends.

#![allow(clippy::expect_used, reason = "a test helper: its failure is the calling test's, with this message")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tessera_kernel::db::DbOptions;
use tessera_kernel::{Actor, Clock, Db, ManualClock, RequestContext, RequestMeta, SessionId, SharedClock, UserId};
use tessera_migrations::{Migrator, MigratorTrait};

/// A new, empty in-memory SQLite database with every migration applied, private
/// to this call (sqlx names each `sqlite::memory:` database uniquely) and lasting
/// as long as the returned [`Db`].
pub async fn memory_db() -> Db {
    // One connection: a shared-cache database locks by table, so a second
    // connection would wait on the first instead of on SQLite's busy timeout.
    let options = DbOptions { max_connections: 1, ..DbOptions::new("sqlite::memory:") };
    let db = Db::connect(&options).await.expect("an in-memory SQLite database opens");
    Migrator::up(db.connection(), None).await.expect("the migrations apply");
    db
}

/// A clock that stands at `at` until the test moves it.
pub fn clock_at(at: DateTime<Utc>) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(at))
}

/// An active account with `email`, written as sign-up writes one (no password
/// that works: service tests do not sign in by password).
pub async fn add_user(db: &Db, email: &str, at: DateTime<Utc>) -> UserId {
    let id = UserId::generate(at);
    let statement = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO users (id, email, display_name, password_hash, status, created_at, updated_at) \
         VALUES (?, ?, ?, '!', 'active', ?, ?)",
        [id.as_uuid().into(), email.into(), email.into(), at.into(), at.into()],
    );
    db.connection().execute_raw(statement).await.expect("the account is written");
    id
}

/// A request by nobody in particular (the system, a job), on `clock`.
pub fn anonymous(clock: &Arc<ManualClock>) -> RequestContext {
    let meta = RequestMeta { request_id: "service-test".into(), ip: None, user_agent: Some("tessera-testkit".into()) };
    let clock: SharedClock = clock.clone();
    RequestContext::anonymous(meta, clock)
}

/// A request by `user_id` (in a session of its own), on `clock`, in no tenant yet.
pub fn signed_in(clock: &Arc<ManualClock>, user_id: UserId) -> RequestContext {
    let session_id = SessionId::generate(clock.now());
    anonymous(clock).with_actor(Actor { user_id, session_id })
}
