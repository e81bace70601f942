//! Sessions behind long-lived connections. A WebSocket that carries
//! subscriptions is in use although it sends no requests: its periodic check
//! counts as use (as a request would), so an open subscription does not let the
//! session go idle. A connection that carries none is told apart when its
//! session is merely idle (a refresh revives it) rather than ended.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Result, SessionId};

use crate::entity::session;
use crate::model::UserStatus;
use crate::service::{IdentityService, user_status};

/// Where a connection's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStanding {
    /// It may go on.
    Live,
    /// Unused for longer than the idle timeout: its access token no longer
    /// works, but refreshing the session revives it.
    Idle,
    /// Signed out, revoked, past its absolute lifetime, or its user disabled.
    Ended,
}

impl IdentityService {
    /// Where the session of a connection stands at `now`; with `in_use` (the
    /// connection carries subscriptions) a live session counts as used and its
    /// idle timeout starts again.
    pub async fn connection_session(
        &self,
        session_id: SessionId,
        now: DateTime<Utc>,
        in_use: bool,
    ) -> Result<SessionStanding> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = session::Entity::find_by_id(session_id).one(&txn).await?;
        let status = match &found {
            Some(session) => user_status(&txn, session.user_id).await?,
            None => None,
        };
        txn.commit().await?;
        let Some(session) = found else {
            // API keys and partner clients have no idle time.
            let live = self.session_is_live(session_id, now).await?;
            return Ok(if live { SessionStanding::Live } else { SessionStanding::Ended });
        };
        if session.revoked_at.is_some() || session.absolute_expires_at <= now {
            return Ok(SessionStanding::Ended);
        }
        if session.idle_expires_at <= now {
            return Ok(SessionStanding::Idle);
        }
        if status != Some(UserStatus::Active) {
            return Ok(SessionStanding::Ended);
        }
        if in_use {
            self.touch(&session, now).await?;
        }
        Ok(SessionStanding::Live)
    }
}
