//! Personal API keys: bearer tokens a person makes for their own scripts, used
//! like an access token (`Authorization: Bearer tsk_…`, with `X-Tenant` as
//! usual) and acting as that person.
//!
//! A key is shown once. Its first [`VISIBLE_CHARS`] characters are kept so lists
//! can tell keys apart; the whole key is kept only as a SHA-256 hash (it has 256
//! random bits, so a fast hash is enough). Keys expire (90 days unless asked
//! otherwise, at most a year), can be revoked, and die with the account. A key
//! carries the strength of the session that made it: one made after a second
//! factor satisfies a business that requires one. A key cannot make keys.
//! Changing the password leaves keys alone (automation should not break on a
//! password rotation); revoke a key that may have leaked.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::token::{hash_token, new_token};
use tessera_kernel::{Actor, ApiKeyId, DomainError, RequestContext, Result, SessionId, UserId};

use crate::entity::{api_key, session, user};
use crate::model::{AuthenticatedSession, UserStatus};
use crate::service::IdentityService;

/// The prefix of API keys.
pub const API_KEY_PREFIX: &str = "tsk_";
/// How much of a key stays visible.
pub(crate) const VISIBLE_CHARS: usize = 12;
/// Live keys a person may hold.
pub const MAX_API_KEYS: u64 = 20;
/// A key's lifetime when none is asked for, in days.
const DEFAULT_DAYS: u32 = 90;
/// The longest lifetime, in days.
const MAX_DAYS: u32 = 365;
/// `last_used_at` is written at most this often.
const TOUCH_SECS: i64 = 60;

/// A personal API key as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// What it is for.
    pub name: String,
    /// Its first characters (`tsk_AbCdEfGh`).
    pub prefix: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKey {
    fn from(row: api_key::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A name given to a credential (a key, a passkey, a client): 1 to 100
/// characters, trimmed, without control characters.
pub(crate) fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters, without control characters"));
    }
    Ok(name.to_owned())
}

impl IdentityService {
    /// Makes a key for the signed-in user, valid `days` (90 unless given, at
    /// most 365). Returns it with the secret, shown this once.
    pub async fn create_api_key(
        &self,
        ctx: &RequestContext,
        name: &str,
        days: Option<u32>,
    ) -> Result<(ApiKey, String)> {
        let actor = ctx.require_actor()?;
        let name = parse_name(name)?;
        let days = days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(DomainError::invalid("expiresInDays", format!("must be 1 to {MAX_DAYS}")));
        }
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let Some(current) = session::Entity::find_by_id(actor.session_id).one(&txn).await? else {
            return Err(DomainError::Forbidden("an API key cannot make API keys; sign in to make one".into()));
        };
        let live = api_key::Entity::find()
            .filter(api_key::Column::UserId.eq(actor.user_id))
            .filter(live_key(now))
            .count(&txn)
            .await?;
        if live >= MAX_API_KEYS {
            return Err(DomainError::Conflict(format!(
                "you have {MAX_API_KEYS} API keys; revoke one you no longer use first"
            )));
        }
        let secret = new_token(API_KEY_PREFIX);
        let row = api_key::Model {
            id: ApiKeyId(uuid_v7_at(now)),
            user_id: actor.user_id,
            name,
            prefix: secret.chars().take(VISIBLE_CHARS).collect(),
            key_hash: hash_token(&secret),
            second_factor: current.second_factor,
            created_at: now,
            expires_at: Some(now + Duration::days(i64::from(days))),
            last_used_at: None,
            revoked_at: None,
        };
        api_key::Entity::insert(api_key::ActiveModel {
            id: Set(row.id),
            user_id: Set(row.user_id),
            name: Set(row.name.clone()),
            prefix: Set(row.prefix.clone()),
            key_hash: Set(row.key_hash.clone()),
            second_factor: Set(row.second_factor),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::ApiKeyCreated,
            severity: Severity::Medium,
            user_id: Some(actor.user_id),
            details: json!({ "apiKeyId": row.id, "prefix": row.prefix, "name": row.name, "expiresAt": row.expires_at }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        if let Some(owner) = user::Entity::find_by_id(actor.user_id).one(&txn).await? {
            crate::recovery::tell_sign_in_method_added(&txn, &owner, "api_key", Some(&row.name), now).await?;
        }
        txn.commit().await?;
        Ok((row.into(), secret))
    }

    /// The signed-in user's keys that are not revoked, newest first.
    pub async fn my_api_keys(&self, ctx: &RequestContext) -> Result<Vec<ApiKey>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = api_key::Entity::find()
            .filter(api_key::Column::UserId.eq(actor.user_id))
            .filter(api_key::Column::RevokedAt.is_null())
            .order_by_desc(api_key::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }

    /// Revokes one of the signed-in user's keys at once (another's is
    /// `NOT_FOUND`). Returns it; its id is the "session" its subscriptions ran under.
    pub async fn revoke_api_key(&self, ctx: &RequestContext, id: ApiKeyId) -> Result<ApiKey> {
        let actor = ctx.require_actor()?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let row = api_key::Entity::find_by_id(id)
            .filter(api_key::Column::UserId.eq(actor.user_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "API key" })?;
        let live = row.revoked_at.is_none();
        if live {
            api_key::Entity::update_many()
                .col_expr(api_key::Column::RevokedAt, Expr::value(now))
                .filter(api_key::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            let event = SecurityEvent {
                kind: SecurityEventKind::SessionRevoked,
                severity: Severity::Low,
                user_id: Some(actor.user_id),
                details: json!({ "apiKeyId": id, "prefix": row.prefix }),
            };
            record_security_event(&txn, ctx, None, event).await?;
        }
        let row =
            api_key::Entity::find_by_id(id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "API key" })?;
        txn.commit().await?;
        if live {
            // A key's subscriptions run under its id as their session.
            self.sessions_ended(&[SessionId(id.as_uuid())]).await;
        }
        Ok(row.into())
    }

    /// Resolves an API key to its owner, if it is live and the account active.
    pub(crate) async fn authenticate_api_key(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthenticatedSession>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(hash_token(secret)))
            .filter(live_key(now))
            .one(&txn)
            .await?;
        let Some(key) = found else {
            txn.commit().await?;
            return Ok(None);
        };
        let active = account_is_active(&txn, key.user_id).await?;
        txn.commit().await?;
        if !active {
            return Ok(None);
        }
        let mut recorded_use_at = key.last_used_at.unwrap_or(now);
        if key.last_used_at.is_none_or(|at| (now - at).num_seconds() >= TOUCH_SECS) {
            recorded_use_at = now;
            let txn = self.db.begin(Scope::Global, Access::Write).await?;
            api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
                .filter(api_key::Column::Id.eq(key.id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
        }
        let next_record = recorded_use_at + chrono::Duration::seconds(TOUCH_SECS);
        // A key does not idle: automation may run once a day.
        Ok(Some(AuthenticatedSession {
            actor: Actor { user_id: key.user_id, session_id: SessionId(key.id.as_uuid()) },
            second_factor: key.second_factor,
            last_used_at: now,
            client: None,
            through_api_key: true,
            recorded_use_at,
            reusable_until: key.expires_at.map_or(next_record, |expires| expires.min(next_record)),
        }))
    }

    /// Whether the key whose id stands as `session_id` is still live.
    pub(crate) async fn api_key_is_live(&self, session_id: SessionId, now: DateTime<Utc>) -> Result<Option<bool>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let Some(key) = api_key::Entity::find_by_id(session_id.as_uuid()).one(&txn).await? else {
            txn.commit().await?;
            return Ok(None);
        };
        let live = key.revoked_at.is_none()
            && key.expires_at.is_none_or(|at| at > now)
            && account_is_active(&txn, key.user_id).await?;
        txn.commit().await?;
        Ok(Some(live))
    }
}

/// Revokes every key of `user_id` (the account closed); returns their ids as the
/// sessions their subscriptions ran under.
pub(crate) async fn revoke_user_keys<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>> {
    let live: Vec<SessionId> = api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|k| SessionId(k.id.as_uuid()))
        .collect();
    if !live.is_empty() {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(now))
            .filter(api_key::Column::Id.is_in(live.iter().map(|s| s.as_uuid())))
            .exec(conn)
            .await?;
    }
    Ok(live)
}

fn live_key(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all().add(api_key::Column::RevokedAt.is_null()).add(
        sea_orm::Condition::any().add(api_key::Column::ExpiresAt.is_null()).add(api_key::Column::ExpiresAt.gt(now)),
    )
}

async fn account_is_active<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<bool> {
    Ok(user::Entity::find_by_id(user_id).one(conn).await?.is_some_and(|u| u.status == UserStatus::Active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_text() {
        assert_eq!(parse_name(" nightly export ").unwrap(), "nightly export");
        assert!(parse_name("").is_err());
        assert!(parse_name(&"k".repeat(101)).is_err());
    }
}
