//! Account lifecycle: deactivating, suspending, deleting (softly) and
//! reactivating an account, with the reason, who and when.
//!
//! A person may deactivate or delete their own account (with their password);
//! suspending, and bringing an account back, is the platform operator's
//! (`tessera account …`), since an account is shared by every business it
//! belongs to and no one business may shut it. Whatever the change, every
//! session of an account that is no longer active ends in the same
//! transaction; the caller tells live subscriptions (the returned sessions).
//! Deleting keeps the row, so the audit trail and bookings that name the
//! account keep their meaning, and keeps its address taken.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result, SessionId, UserId};

use crate::api_keys::revoke_user_keys;
use crate::entity::user;
use crate::model::{Email, User, UserStatus};
use crate::service::IdentityService;
use crate::sessions::revoke_user_sessions;

/// The longest reason kept.
const MAX_REASON_CHARS: usize = 500;

fn status_name(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "active",
        UserStatus::Inactive => "inactive",
        UserStatus::Suspended => "suspended",
        UserStatus::Deleted => "deleted",
    }
}

fn parse_reason(raw: &str) -> Result<String> {
    let reason = raw.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "reason",
            format!("must be 1 to {MAX_REASON_CHARS} characters, without control characters"),
        ));
    }
    Ok(reason.to_owned())
}

impl IdentityService {
    /// Deactivates the signed-in user's own account, after checking their
    /// password: they can no longer sign in, and every session ends. Returns the
    /// ended sessions.
    pub async fn deactivate_my_account(
        &self,
        ctx: &RequestContext,
        password: &str,
        reason: Option<&str>,
    ) -> Result<Vec<SessionId>> {
        self.close_my_account(ctx, password, UserStatus::Inactive, reason.unwrap_or("deactivated by its owner")).await
    }

    /// Deletes the signed-in user's own account (softly), after checking their
    /// password. Returns the ended sessions.
    pub async fn delete_my_account(&self, ctx: &RequestContext, password: &str) -> Result<Vec<SessionId>> {
        self.close_my_account(ctx, password, UserStatus::Deleted, "deleted by its owner").await
    }

    async fn close_my_account(
        &self,
        ctx: &RequestContext,
        password: &str,
        to: UserStatus,
        reason: &str,
    ) -> Result<Vec<SessionId>> {
        let me = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &me, password, "password").await?;
        let (_, ended) = self.change_status(ctx, me.id, to, reason).await?;
        Ok(ended)
    }

    /// Sets the status of the account with `email`, for the platform's operator
    /// (the command line): `reason` is kept with who (no one: the operator) and
    /// when. Returns the account and the sessions that ended.
    pub async fn set_account_status(
        &self,
        ctx: &RequestContext,
        email: &str,
        to: UserStatus,
        reason: &str,
    ) -> Result<(User, Vec<SessionId>)> {
        let email = Email::parse(email)?;
        let id = self.user_id_by_email(&email).await?.ok_or(DomainError::NotFound { entity: "user" })?;
        self.change_status(ctx, id, to, reason).await
    }

    async fn change_status(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        to: UserStatus,
        reason: &str,
    ) -> Result<(User, Vec<SessionId>)> {
        let reason = parse_reason(reason)?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let before = user::Entity::find_by_id(user_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "user" })?;
        if before.status == UserStatus::Deleted {
            return Err(DomainError::Conflict("the account is deleted; it cannot change any more".into()));
        }
        if before.status == to {
            return Err(DomainError::Conflict(format!("the account is already {}", status_name(to))));
        }
        let by = ctx.actor().map(|a| a.user_id);
        user::Entity::update_many()
            .col_expr(user::Column::Status, Expr::value(to))
            .col_expr(user::Column::StatusReason, Expr::value((to != UserStatus::Active).then_some(reason.clone())))
            .col_expr(user::Column::StatusChangedAt, Expr::value(now))
            .col_expr(user::Column::StatusChangedBy, Expr::value(by))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        let ended = if to == UserStatus::Active {
            Vec::new()
        } else {
            let mut ended =
                revoke_user_sessions(&txn, user_id, None, &format!("account_{}", status_name(to)), now).await?;
            ended.extend(revoke_user_keys(&txn, user_id, now).await?);
            ended
        };
        let event = SecurityEvent {
            kind: SecurityEventKind::AccountStatusChanged,
            severity: Severity::High,
            user_id: Some(user_id),
            details: json!({
                "from": status_name(before.status),
                "to": status_name(to),
                "reason": reason,
                "by": by.map_or_else(|| "operator".to_owned(), |u| u.to_string()),
                "sessionsEnded": ended.len(),
            }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        let after =
            user::Entity::find_by_id(user_id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "user" })?;
        txn.commit().await?;
        self.sessions_ended(&ended).await;
        Ok((after.into(), ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short_plain_text() {
        assert_eq!(parse_reason("  chargeback fraud ").unwrap(), "chargeback fraud");
        assert!(parse_reason("").is_err());
        assert!(parse_reason("a\u{7}b").is_err());
        assert!(parse_reason(&"x".repeat(501)).is_err());
    }
}
