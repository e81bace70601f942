//! Changing a password: the current one proven, the new one checked against the
//! policy and the account's recent passwords, and the other sessions ended.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, RequestContext, Result, SessionId, UserId};

use crate::entity::{password_history, user};
use crate::model::Password;
use crate::password::Lane;
use crate::service::IdentityService;
use crate::sessions::revoke_user_sessions;
use crate::throttle::{self, Charge};

impl IdentityService {
    /// Changes the signed-in user's password: the current one must match, the new
    /// one must satisfy the policy and not repeat any of the last
    /// `PasswordPolicy::history`. Ends every other session of the user (whoever
    /// might have the old password loses its sessions) and returns them.
    pub async fn change_password(&self, ctx: &RequestContext, current: &str, new: &str) -> Result<Vec<SessionId>> {
        let actor = ctx.require_actor()?;
        let user = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &user, current, "currentPassword").await?;
        let hash = self.checked_new_password(&user, new).await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        self.store_password(&txn, user.id, &hash, now).await?;
        let others = revoke_user_sessions(&txn, user.id, Some(actor.session_id), "password_changed", now).await?;
        throttle::clear(&txn, &Charge::account(&user.email)).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::PasswordChanged,
            severity: Severity::Medium,
            user_id: Some(user.id),
            details: json!({ "otherSessionsEnded": others.len() }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        txn.commit().await?;
        self.sessions_ended(&others).await;
        Ok(others)
    }

    /// Checks `new` as the next password of `user`: the policy (judged with the
    /// account's own email and name) and the last `PasswordPolicy::history`
    /// passwords. Returns its hash.
    pub(crate) async fn checked_new_password(&self, user: &user::Model, new: &str) -> Result<String> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let recent = password_history::Entity::find()
            .filter(password_history::Column::UserId.eq(user.id))
            .order_by_desc(password_history::Column::Id)
            .limit(u64::try_from(self.password_policy.history).unwrap_or(0))
            .all(&txn)
            .await?;
        txn.commit().await?;
        let context = [user.email.as_str(), user.display_name.as_str()];
        let password = Password::new(new, &self.password_policy, &context)?;
        let mut earlier: Vec<&str> = recent.iter().map(|h| h.password_hash.as_str()).collect();
        if self.password_policy.history > 0 {
            earlier.push(&user.password_hash);
        }
        for hash in earlier {
            if self.hasher.verify(&password, hash, Lane::Anyone).await? {
                return Err(DomainError::invalid(
                    "newPassword",
                    format!(
                        "was used recently; choose one you have not used in your last {} passwords",
                        self.password_policy.history
                    ),
                ));
            }
        }
        self.hasher.hash(&password).await
    }

    /// Makes `hash` the user's password and keeps it in the history.
    pub(crate) async fn store_password<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(conn)
            .await?;
        remember_password(conn, user_id, hash, now).await?;
        prune_history(conn, user_id, self.password_policy.history).await
    }
}

/// Keeps `hash` in the user's password history.
pub(crate) async fn remember_password<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    hash: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    password_history::ActiveModel {
        id: Set(uuid_v7_at(at)),
        user_id: Set(user_id),
        password_hash: Set(hash.to_owned()),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Forgets all but the newest `keep` entries of the user's password history.
async fn prune_history<C: ConnectionTrait>(conn: &C, user_id: UserId, keep: usize) -> Result<()> {
    // A handful of rows per user: sorted here (SQLite has no OFFSET without LIMIT).
    let stale: Vec<uuid::Uuid> = password_history::Entity::find()
        .filter(password_history::Column::UserId.eq(user_id))
        .order_by_desc(password_history::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .skip(keep.max(1))
        .map(|h| h.id)
        .collect();
    if !stale.is_empty() {
        password_history::Entity::delete_many().filter(password_history::Column::Id.is_in(stale)).exec(conn).await?;
    }
    Ok(())
}
