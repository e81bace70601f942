//! Remembering callers between requests, so a request with a known token and
//! tenant reads nothing before its query starts.
//!
//! Two answers are kept: what a bearer token signs in as (by the token's hash)
//! and what a user may do in a tenant (by user and `X-Tenant`). Each is reused
//! only while nothing it rests on can have changed, which one read of the
//! [stamps](super::stamps) confirms for both at once:
//! - a session, API key or client that ended is marked so, and sessions end
//!   for good, so a remembered session is good while it has no mark, its
//!   expiry has not come, and no use of it is due to be recorded (identity's
//!   `AuthenticatedSession::reused_at`, at most a minute);
//! - rights are kept with the stamps of the tenant (and of the parent an owner
//!   reaches it through) read *before* they were resolved, so a change that
//!   committed meanwhile leaves a different stamp; they lapse when an
//!   assignment behind them expires, and after `TESSERA_RIGHTS_REUSE_SECONDS`.
//!
//! Partner client tokens are asked every time (their maker's account can close
//! without ending them). Both maps are bounded; a full map drops what expired,
//! then everything.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use tessera_identity::AuthenticatedSession;
use tessera_kernel::token::sha256_hex;
use tessera_kernel::{DomainError, UserId};
use tessera_rbac::ResolvedScope;
use tessera_tenant::TenantRef;

use super::Rights;
use super::stamps::{Mark, Stamp};
use crate::error::ApiError;
use crate::services::Services;

/// How many answers of each kind are kept.
const KEPT: usize = 10_000;

/// The gateway's remembered callers.
#[derive(Debug)]
pub(crate) struct CallerCache {
    /// How long rights are reused at most; zero turns remembering off.
    keep: Duration,
    sessions: Bounded<String, Kept<AuthenticatedSession>>,
    rights: Bounded<(UserId, TenantRef), KeptRights>,
}

/// An answer and the epoch it was kept in.
#[derive(Debug)]
struct Kept<T> {
    answer: T,
    epoch: u64,
}

/// What is known of a user's rights in a tenant.
#[derive(Debug)]
struct KeptRights {
    /// The tenants whose stamps the rights rest on.
    marks: Vec<Mark>,
    /// `None` when the stamps could not be read first (the next request reads
    /// them, then resolves again).
    answer: Option<Kept<KeptAnswer>>,
}

/// Rights, with the stamps read before they were resolved.
#[derive(Debug)]
struct KeptAnswer {
    rights: Rights,
    stamps: Vec<Stamp>,
    /// Until when they may be reused.
    until: DateTime<Utc>,
}

/// A signed-in caller and, when they named one, their rights in the tenant.
pub(crate) struct Recalled {
    /// The session the token signs in as.
    pub(crate) session: AuthenticatedSession,
    /// The tenant and the caller's rights there, before their client's scopes
    /// and the tenant's policy are applied (`super::admit`).
    pub(crate) rights: Option<Rights>,
}

impl CallerCache {
    /// A cache reusing rights for at most `keep_seconds` (zero: never).
    pub(crate) fn new(keep_seconds: u32) -> Self {
        Self {
            keep: Duration::seconds(i64::from(keep_seconds)),
            sessions: Bounded::default(),
            rights: Bounded::default(),
        }
    }

    /// What `token` signs in as, and the caller's rights in `tenant` (or, for a
    /// partner client, in its own tenant): as the last request found them when
    /// nothing they rest on changed since, else from the database.
    pub(crate) async fn recall(
        &self,
        services: &Services,
        token: &str,
        tenant: Option<&TenantRef>,
        now: DateTime<Utc>,
    ) -> Result<Recalled, ApiError> {
        let stamps = services.bus.stamps();
        let epoch = stamps.epoch();
        let key = sha256_hex(token);
        let kept_session = self.kept_session(&key, epoch, now);
        // The session's mark and the rights' stamps, in one read.
        let mut marks = Vec::new();
        let mut tenant_marks = Vec::new();
        if let Some(session) = &kept_session {
            marks.push(Mark::Ended(session.actor.session_id));
            if let Some(tenant) = tenant {
                tenant_marks = self.rights_marks(session.actor.user_id, tenant);
                marks.extend(&tenant_marks);
            }
        }
        let read = if marks.is_empty() { None } else { stamps.read(&marks).await };
        let (session, mut tenant_stamps) = match (kept_session, read) {
            (Some(session), Some(read)) if read.first() == Some(&None) => (session, Some(read[1..].to_vec())),
            _ => (self.sign_in(services, token, key, epoch, now).await?, None),
        };
        let tenant = tenant.cloned().or_else(|| session.client.as_ref().map(|grant| TenantRef::Id(grant.tenant_id)));
        let Some(tenant) = tenant else { return Ok(Recalled { session, rights: None }) };
        let user_id = session.actor.user_id;
        if tenant_stamps.is_none() && self.remembers() {
            // Signed in afresh: the stamps are read now, before the rights.
            tenant_marks = self.rights_marks(user_id, &tenant);
            tenant_stamps = stamps.read(&tenant_marks).await;
        }
        let key = (user_id, tenant);
        if let Some(stamps_now) = &tenant_stamps
            && let Some(rights) = self.kept_rights(&key, stamps_now, epoch, now)
        {
            return Ok(Recalled { session, rights: Some(rights) });
        }
        let resolved = services.rbac.resolve_scope_until(user_id, &key.1, now).await?;
        let rights = (resolved.tenant.clone(), resolved.scope.clone());
        if self.remembers() {
            self.keep_rights(key, resolved, &tenant_marks, tenant_stamps, epoch, now);
        }
        Ok(Recalled { session, rights: Some(rights) })
    }

    fn remembers(&self) -> bool {
        self.keep > Duration::zero()
    }

    /// The kept session for the token `key`, if still usable by time.
    fn kept_session(&self, key: &str, epoch: u64, now: DateTime<Utc>) -> Option<AuthenticatedSession> {
        if !self.remembers() {
            return None;
        }
        self.sessions.read(key, |kept| if kept.epoch == epoch { kept.answer.reused_at(now) } else { None }).flatten()
    }

    /// Signs `token` in from the database, keeping the answer when it may be
    /// reused.
    async fn sign_in(
        &self,
        services: &Services,
        token: &str,
        key: String,
        epoch: u64,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatedSession, ApiError> {
        let Some(session) = services.identity.authenticate_session(token, now).await? else {
            self.sessions.remove(&key);
            return Err(DomainError::Unauthenticated(
                "the access token is invalid or expired; sign in or refresh the session".into(),
            )
            .into());
        };
        if self.remembers() && session.reusable_until > now {
            // An end that lands after the read above leaves its mark, which
            // the next request sees; sessions never come back.
            self.sessions.insert(key, Kept { answer: session.clone(), epoch }, now, |kept, now| {
                kept.answer.reusable_until > now
            });
        }
        Ok(session)
    }

    /// The stamps the rights kept for `user_id` in `tenant` rest on (none when
    /// nothing is kept: the first request learns them).
    fn rights_marks(&self, user_id: UserId, tenant: &TenantRef) -> Vec<Mark> {
        self.rights.read(&(user_id, tenant.clone()), |kept| kept.marks.clone()).unwrap_or_default()
    }

    /// The kept rights for `key` when their stamps are `stamps_now` and they
    /// have not lapsed.
    fn kept_rights(
        &self,
        key: &(UserId, TenantRef),
        stamps_now: &[Stamp],
        epoch: u64,
        now: DateTime<Utc>,
    ) -> Option<Rights> {
        self.rights
            .read(key, |kept| {
                let kept = kept.answer.as_ref()?;
                let answer = &kept.answer;
                let current = kept.epoch == epoch && now < answer.until && answer.stamps == stamps_now;
                current.then(|| answer.rights.clone())
            })
            .flatten()
    }

    /// Keeps `resolved` under the stamps read before it (`stamps_then`, of
    /// `marks`), when those are the stamps it rests on; otherwise keeps only
    /// which stamps to read next time.
    fn keep_rights(
        &self,
        key: (UserId, TenantRef),
        resolved: ResolvedScope,
        marks: &[Mark],
        stamps_then: Option<Vec<Stamp>>,
        epoch: u64,
        now: DateTime<Utc>,
    ) {
        let rests_on: Vec<Mark> =
            std::iter::once(resolved.tenant.id).chain(resolved.scope.through_parent).map(Mark::Tenant).collect();
        let until = resolved.lapses_at.map_or(now + self.keep, |lapses| lapses.min(now + self.keep));
        let answer = stamps_then.filter(|_| rests_on == marks).map(|stamps| Kept {
            answer: KeptAnswer { rights: (resolved.tenant, resolved.scope), stamps, until },
            epoch,
        });
        self.rights.insert(key, KeptRights { marks: rests_on, answer }, now, |kept, now| {
            kept.answer.as_ref().is_some_and(|kept| kept.answer.until > now)
        });
    }
}

/// A map of at most [`KEPT`] entries.
#[derive(Debug)]
struct Bounded<K, V> {
    entries: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, V> Bounded<K, V> {
    /// What `read` makes of the entry for `key`, under the lock: a request
    /// copies out only what it uses (the stamps to check, then the rights on a
    /// hit), not the whole entry.
    fn read<Q: Eq + Hash + ?Sized, R>(&self, key: &Q, read: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(key).map(read)
    }

    fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
    {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Inserts, first dropping entries `live` calls expired when full, then
    /// everything if that freed nothing.
    fn insert(&self, key: K, value: V, now: DateTime<Utc>, live: impl Fn(&V, DateTime<Utc>) -> bool) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= KEPT && !entries.contains_key(&key) {
            entries.retain(|_, value| live(value, now));
            if entries.len() >= KEPT {
                entries.clear();
            }
        }
        entries.insert(key, value);
    }
}
