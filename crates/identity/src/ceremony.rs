//! Where a WebAuthn ceremony's state waits between its two requests.
//!
//! A ceremony (adding a passkey, signing in with one) is two requests: the
//! first makes a random challenge the authenticator signs, the second checks
//! the signature against it. The state between them must stay on the server
//! (a client could otherwise replay or forge it), reach whichever replica
//! answers the second request, live a few minutes, and be used once.
//! [`CeremonyStore::take`] removes what it returns, so of two requests
//! finishing the same ceremony only one gets its state.
//!
//! [`DatabaseCeremonies`] keeps it in the database; the gateway uses Redis
//! instead when it is configured (fast, expiring by itself).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Db, Result};

use crate::entity::webauthn_ceremony;

/// A boxed future, for the object-safe [`CeremonyStore`].
pub type CeremonyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Keeps ceremony state, each entry until it expires or is taken once.
pub trait CeremonyStore: Send + Sync + fmt::Debug {
    /// Keeps `state` under `key` until `expires_at` (`now` is the caller's clock).
    fn put<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> CeremonyFuture<'a, ()>;

    /// Removes and returns the state under `key`, unless it is gone or expired
    /// by `now`.
    fn take<'a>(&'a self, key: &'a str, now: DateTime<Utc>) -> CeremonyFuture<'a, Option<String>>;
}

/// Ceremony state in the database (`webauthn_ceremonies`), swept by
/// [`crate::IdentityService::expire_account_tokens`].
#[derive(Debug, Clone)]
pub struct DatabaseCeremonies {
    db: Db,
}

impl DatabaseCeremonies {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl CeremonyStore for DatabaseCeremonies {
    fn put<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> CeremonyFuture<'a, ()> {
        Box::pin(async move {
            let txn = self.db.begin(Scope::Global, Access::Write).await?;
            webauthn_ceremony::Entity::insert(webauthn_ceremony::ActiveModel {
                key_hash: Set(key.to_owned()),
                state: Set(state.to_owned()),
                expires_at: Set(expires_at),
            })
            .exec_without_returning(&txn)
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn take<'a>(&'a self, key: &'a str, now: DateTime<Utc>) -> CeremonyFuture<'a, Option<String>> {
        Box::pin(async move {
            let txn = self.db.begin(Scope::Global, Access::Write).await?;
            let found = webauthn_ceremony::Entity::find_by_id(key.to_owned()).one(&txn).await?;
            // Deleting decides between parallel takers: one removes the row.
            let removed = webauthn_ceremony::Entity::delete_many()
                .filter(webauthn_ceremony::Column::KeyHash.eq(key))
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            txn.commit().await?;
            Ok(found.filter(|row| removed && row.expires_at > now).map(|row| row.state))
        })
    }
}
