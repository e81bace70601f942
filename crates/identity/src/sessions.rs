//! Sessions: starting one, authenticating its bearer token (touched at most once a
//! minute), limiting and revoking them, and listing the caller's.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Actor, DomainError, OAuthClientId, Page, PageRequest, RequestContext, Result, SessionId, UserId};

use crate::entity::{refresh_token, session};
use crate::model::{AuthenticatedSession, IssuedSession, Session, UserStatus};
use crate::service::{IdentityService, truncate, user_status};
use crate::token::{ACCESS_PREFIX, REFRESH_PREFIX, hash_token, new_token};

impl IdentityService {
    pub(crate) async fn start_session<C: ConnectionTrait>(
        &self,
        conn: &C,
        ctx: &RequestContext,
        user_id: UserId,
        second_factor: bool,
        now: DateTime<Utc>,
    ) -> Result<IssuedSession> {
        let access_token = new_token(ACCESS_PREFIX);
        let session_id = SessionId::generate(now);
        let idle_expires_at = now + self.policy.idle_timeout;
        let absolute_expires_at = now + self.policy.absolute_timeout;
        session::ActiveModel {
            id: Set(session_id),
            user_id: Set(user_id),
            token_hash: Set(hash_token(&access_token)),
            created_at: Set(now),
            last_used_at: Set(now),
            idle_expires_at: Set(idle_expires_at),
            absolute_expires_at: Set(absolute_expires_at),
            revoked_at: Set(None),
            revoked_reason: Set(None),
            user_agent: Set(truncate(ctx.meta().user_agent.as_deref(), 512)),
            ip: Set(truncate(ctx.meta().ip.as_deref(), 64)),
            second_factor: Set(second_factor),
        }
        .insert(conn)
        .await?;
        let refresh_token = self.issue_refresh_token(conn, session_id, now, absolute_expires_at).await?;
        Ok(IssuedSession {
            session_id,
            user_id,
            access_token,
            access_token_expires_at: idle_expires_at,
            refresh_token,
            refresh_token_expires_at: absolute_expires_at,
            device_token: None,
        })
    }

    async fn issue_refresh_token<C: ConnectionTrait>(
        &self,
        conn: &C,
        session_id: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String> {
        let token = new_token(REFRESH_PREFIX);
        store_refresh_token(conn, session_id, &token, now, expires_at).await?;
        Ok(token)
    }

    pub(crate) async fn revoke_session_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        session_id: SessionId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let revoked = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
        Ok(revoked.rows_affected == 1)
    }

    /// Resolves a bearer token (an access token or a personal API key) to its
    /// session, or `None` when it is unknown, expired or revoked, or its user is
    /// disabled, with what tenant policies look at: how the session began and how
    /// long it had been idle. Extends the session's idle timeout.
    pub async fn authenticate_session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<AuthenticatedSession>> {
        if token.starts_with(crate::api_keys::API_KEY_PREFIX) {
            return self.authenticate_api_key(token, now).await;
        }
        if token.starts_with(crate::oauth::CLIENT_TOKEN_PREFIX) {
            return self.authenticate_client_token(token, now).await;
        }
        if !token.starts_with(ACCESS_PREFIX) {
            return Ok(None);
        }
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = session::Entity::find().filter(session::Column::TokenHash.eq(hash_token(token))).one(&txn).await?;
        let Some(session) =
            found.filter(|s| s.revoked_at.is_none() && s.idle_expires_at > now && s.absolute_expires_at > now)
        else {
            txn.commit().await?;
            return Ok(None);
        };
        let status = user_status(&txn, session.user_id).await?;
        txn.commit().await?;
        if status != Some(UserStatus::Active) {
            return Ok(None);
        }
        let (recorded_use_at, idle_expires_at) = self.touch(&session, now).await?;
        Ok(Some(AuthenticatedSession {
            actor: Actor { user_id: session.user_id, session_id: session.id },
            second_factor: session.second_factor,
            last_used_at: session.last_used_at,
            client: None,
            through_api_key: false,
            recorded_use_at,
            reusable_until: (recorded_use_at + Duration::seconds(TOUCH_INTERVAL_SECS))
                .min(idle_expires_at)
                .min(session.absolute_expires_at),
        }))
    }

    /// Records a use of `session` at `now`, which starts its idle timeout again;
    /// at most once per [`TOUCH_INTERVAL_SECS`], so reads do not each cost a write.
    /// Returns the last use and the idle expiry as recorded afterwards.
    pub(crate) async fn touch(
        &self,
        session: &session::Model,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        if (now - session.last_used_at).num_seconds() < TOUCH_INTERVAL_SECS {
            return Ok((session.last_used_at, session.idle_expires_at));
        }
        let idle_expires_at = (now + self.policy.idle_timeout).min(session.absolute_expires_at);
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .col_expr(session::Column::IdleExpiresAt, Expr::value(idle_expires_at))
            .filter(session::Column::Id.eq(session.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok((now, idle_expires_at))
    }

    /// Ends the user's oldest live sessions beyond the newest `max` (a tenant's
    /// limit of concurrent sessions); returns those ended.
    pub async fn limit_sessions(&self, ctx: &RequestContext, user_id: UserId, max: usize) -> Result<Vec<SessionId>> {
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let live: Vec<SessionId> = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::IdleExpiresAt.gt(now))
            .filter(session::Column::AbsoluteExpiresAt.gt(now))
            .order_by_desc(session::Column::Id)
            .all(&txn)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let excess: Vec<SessionId> = live.into_iter().skip(max.max(1)).collect();
        if !excess.is_empty() {
            session::Entity::update_many()
                .col_expr(session::Column::RevokedAt, Expr::value(now))
                .col_expr(session::Column::RevokedReason, Expr::value("session_limit"))
                .filter(session::Column::Id.is_in(excess.iter().copied()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        self.sessions_ended(&excess).await;
        Ok(excess)
    }

    /// Whether `session_id` is still usable; long-lived connections (WebSocket
    /// subscriptions) ask this to end when their session is revoked.
    pub async fn session_is_live(&self, session_id: SessionId, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let session = session::Entity::find_by_id(session_id).one(&txn).await?;
        if session.is_none() {
            txn.commit().await?;
            // Requests made with an API key run under the key's id; a partner
            // client's, under the client's.
            if let Some(live) = self.api_key_is_live(session_id, now).await? {
                return Ok(live);
            }
            return Ok(self.client_is_live(OAuthClientId(session_id.as_uuid())).await?.unwrap_or(false));
        }
        let live = match session {
            Some(s) if s.revoked_at.is_none() && s.idle_expires_at > now && s.absolute_expires_at > now => {
                user_status(&txn, s.user_id).await? == Some(UserStatus::Active)
            }
            _ => false,
        };
        txn.commit().await?;
        Ok(live)
    }

    /// Ends the request's session.
    pub async fn logout(&self, ctx: &RequestContext) -> Result<bool> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let revoked = self.revoke_session_rows(&txn, actor.session_id, "logout", ctx.now()).await?;
        txn.commit().await?;
        if revoked {
            self.sessions_ended(&[actor.session_id]).await;
        }
        Ok(revoked)
    }

    /// Ends one of the actor's own sessions. Another user's session is `NOT_FOUND`.
    pub async fn revoke_my_session(&self, ctx: &RequestContext, session_id: SessionId) -> Result<Session> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let owned = session::Entity::find_by_id(session_id)
            .filter(session::Column::UserId.eq(actor.user_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "session" })?;
        let revoked = self.revoke_session_rows(&txn, owned.id, "revoked_by_user", ctx.now()).await?;
        if revoked {
            let event = SecurityEvent {
                kind: SecurityEventKind::SessionRevoked,
                severity: Severity::Low,
                user_id: Some(actor.user_id),
                details: json!({ "sessionId": owned.id, "fromSession": actor.session_id }),
            };
            record_security_event(&txn, ctx, None, event).await?;
        }
        let row = session::Entity::find_by_id(owned.id)
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "session" })?;
        txn.commit().await?;
        if revoked {
            self.sessions_ended(&[owned.id]).await;
        }
        Ok(row.into())
    }

    /// The actor's sessions that are still usable.
    pub async fn my_sessions(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Session>> {
        let actor = ctx.require_actor()?;
        let keyset = page.keyset()?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = keyset.apply(live_sessions_of(actor.user_id, now), session::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Session::from))
    }

    /// The actor's usable sessions among `ids`.
    pub async fn my_sessions_by_ids(&self, ctx: &RequestContext, ids: &[SessionId]) -> Result<Vec<Session>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = live_sessions_of(actor.user_id, ctx.now())
            .filter(session::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }
}

/// Sessions are touched (last use, idle expiry) at most this often, so authenticated
/// reads do not each cost a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// Ends every live session of `user_id` but `keep`, for `reason`; returns them.
pub(crate) async fn revoke_user_sessions<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    keep: Option<SessionId>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>> {
    let mut live = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        live = live.filter(session::Column::Id.ne(keep));
    }
    let ended: Vec<SessionId> = live.all(conn).await?.into_iter().map(|s| s.id).collect();
    if !ended.is_empty() {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::Id.is_in(ended.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(ended)
}

/// Stores a refresh token of `session_id` (its hash), unrotated.
pub(crate) async fn store_refresh_token<C: ConnectionTrait>(
    conn: &C,
    session_id: SessionId,
    token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    refresh_token::ActiveModel {
        id: Set(uuid_v7_at(now)),
        session_id: Set(session_id),
        token_hash: Set(hash_token(token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The sessions of `user_id` that are still usable at `now`.
fn live_sessions_of(user_id: UserId, now: DateTime<Utc>) -> sea_orm::Select<session::Entity> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::IdleExpiresAt.gt(now))
        .filter(session::Column::AbsoluteExpiresAt.gt(now))
}
