//! Refreshing a session: a refresh token works once and is replaced by a new
//! one (RFC 9700 rotation); presenting a rotated one again means it leaked, and
//! the whole session ends (reuse detection).
//!
//! Except within [`REFRESH_REUSE_SECS`] of its rotation: a single-page app whose
//! several requests fail together sends the same refresh token several times,
//! and ending the session for that would sign its user out. A repeat inside the
//! window gets the very tokens the first use got, as Auth0's reuse interval and
//! Okta's grace period do. Nothing of the successor is stored in the clear: its
//! tokens are derived from the presented one with a platform key (HMAC-SHA-256),
//! so any replica can hand out the same ones, and only while they are still the
//! session's current tokens. Later repeats, or repeats after the successor was
//! itself used, end the session as before.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::Sha256;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result};
use tracing::warn;

use crate::entity::{refresh_token, session, user};
use crate::model::{IssuedSession, UserStatus};
use crate::service::{IdentityService, platform_secret};
use crate::sessions::store_refresh_token;
use crate::token::{ACCESS_PREFIX, REFRESH_PREFIX, hash_token};

/// How long after its rotation a refresh token presented again still gets its
/// successor instead of ending the session.
pub const REFRESH_REUSE_SECS: i64 = 30;
const SUCCESSOR_SECRET: &str = "refresh_successor_key";

/// The tokens that replace a refresh token, derived from it.
struct Successor {
    access: String,
    refresh: String,
}

impl Successor {
    fn of(key: &str, presented: &str) -> Result<Self> {
        let derive = |purpose: &[u8], prefix: &str| -> Result<String> {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| DomainError::Internal(format!("successor key: {e}")))?;
            mac.update(purpose);
            mac.update(b"\0");
            mac.update(presented.as_bytes());
            Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())))
        };
        Ok(Self { access: derive(b"access", ACCESS_PREFIX)?, refresh: derive(b"refresh", REFRESH_PREFIX)? })
    }
}

fn rejected() -> DomainError {
    DomainError::Unauthenticated("invalid or expired refresh token".into())
}

impl IdentityService {
    /// Exchanges a refresh token for new access and refresh tokens (see the
    /// module: rotation, reuse detection and the repeat window).
    pub async fn refresh(&self, ctx: &RequestContext, presented: &str) -> Result<IssuedSession> {
        let now = ctx.now();
        let key = platform_secret(&self.db, &self.successor_key, SUCCESSOR_SECRET).await?;
        let successor = Successor::of(key, presented)?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let Some(token) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash_token(presented)))
            .one(&txn)
            .await?
        else {
            return Err(rejected());
        };
        let session = session::Entity::find_by_id(token.session_id).one(&txn).await?.ok_or_else(rejected)?;
        // Claim the token: only one request can move rotated_at from NULL.
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(token.id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            // Read again: on PostgreSQL a parallel refresh that rotated the
            // token committed while this one waited for the row, after the reads
            // above.
            let token = refresh_token::Entity::find_by_id(token.id).one(&txn).await?.ok_or_else(rejected)?;
            let session = session::Entity::find_by_id(token.session_id).one(&txn).await?.ok_or_else(rejected)?;
            if let Some(again) = self.repeat_within_window(&txn, &token, &session, &successor, now).await? {
                txn.commit().await?;
                return Ok(again);
            }
            self.end_on_reuse(&txn, ctx, &session, now).await?;
            txn.commit().await?;
            self.sessions_ended(&[session.id]).await;
            return Err(rejected());
        }
        let usable = session.revoked_at.is_none() && token.expires_at > now && session.absolute_expires_at > now;
        let user = user::Entity::find_by_id(session.user_id).one(&txn).await?;
        if !usable || user.is_none_or(|u| u.status != UserStatus::Active) {
            txn.commit().await?;
            return Err(rejected());
        }
        let idle_expires_at = (now + self.policy.idle_timeout).min(session.absolute_expires_at);
        let absolute_expires_at = session.absolute_expires_at;
        let mut active: session::ActiveModel = session.into();
        active.token_hash = Set(hash_token(&successor.access));
        active.last_used_at = Set(now);
        active.idle_expires_at = Set(idle_expires_at);
        let session = active.update(&txn).await?;
        store_refresh_token(&txn, session.id, &successor.refresh, now, absolute_expires_at).await?;
        txn.commit().await?;
        Ok(issued(&session, &successor))
    }

    /// The successor again, when `token` was rotated within the window and its
    /// successor is still the session's current pair, unused.
    async fn repeat_within_window(
        &self,
        txn: &DatabaseTransaction,
        token: &refresh_token::Model,
        session: &session::Model,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> Result<Option<IssuedSession>> {
        let recent = token.rotated_at.is_some_and(|at| now - at <= Duration::seconds(REFRESH_REUSE_SECS));
        let live = session.revoked_at.is_none() && session.idle_expires_at > now && session.absolute_expires_at > now;
        if !recent || !live || session.token_hash != hash_token(&successor.access) {
            return Ok(None);
        }
        let next = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash_token(&successor.refresh)))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .one(txn)
            .await?;
        Ok(next.map(|_| issued(session, successor)))
    }

    /// Ends the session whose rotated refresh token came back, and says so.
    async fn end_on_reuse(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        session: &session::Model,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.revoke_session_rows(txn, session.id, "refresh_token_reuse", now).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::RefreshTokenReused,
            severity: Severity::High,
            user_id: Some(session.user_id),
            details: json!({ "sessionId": session.id, "sessionRevoked": true }),
        };
        record_security_event(txn, ctx, None, event).await?;
        warn!(
            request_id = %ctx.meta().request_id,
            session_id = %session.id,
            user_id = %session.user_id,
            "rotated refresh token presented again; session revoked"
        );
        Ok(())
    }
}

/// What a refresh hands out: the session's times and the successor's tokens.
fn issued(session: &session::Model, successor: &Successor) -> IssuedSession {
    IssuedSession {
        session_id: session.id,
        user_id: session.user_id,
        access_token: successor.access.clone(),
        access_token_expires_at: session.idle_expires_at,
        refresh_token: successor.refresh.clone(),
        refresh_token_expires_at: session.absolute_expires_at,
        device_token: None,
    }
}
