//! Email verification and password reset: single-use links sent through
//! `notify` as account messages.
//!
//! A link carries a 256-bit token; only its SHA-256 hash is stored, with the
//! address it was sent to and an expiry. Using a link claims its row (`used_at`
//! moves from NULL exactly once), so two requests racing with the same link get
//! one success. A token sent to an address the account no longer has proves
//! nothing and is refused.
//!
//! Asking for a password reset answers the same whether or not the address has
//! an account (the caller sends the request in the background, so the answer
//! does not take longer either); accounts that are not active get no link, and
//! an account gets at most [`RESET_LINKS_PER_HOUR`] links an hour, so the
//! endpoint cannot be used to flood a mailbox. Completing a reset ends every
//! session of the account, clears its login backoff and marks the address
//! verified (the link proved it).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, RequestContext, Result, SessionId};
use tessera_notify::{NewNotification, Recipient, Topic, queue_account_message};
use tracing::{info, warn};

use crate::devices;
use crate::entity::{account_token, mfa_challenge, oauth_token, user, webauthn_ceremony};
use crate::model::{Email, TokenPurpose, UserStatus};
use crate::service::IdentityService;
use crate::sessions::revoke_user_sessions;
use crate::throttle::{self, Charge};
use crate::token::{hash_token, new_token};

/// The language of account messages when none is asked for.
pub(crate) const DEFAULT_LOCALE: &str = "en";

/// The holder of an account, as the recipient of an account message.
fn account_holder(user: &user::Model) -> Recipient {
    Recipient {
        user_id: Some(user.id),
        name: Some(user.display_name.clone()),
        email: Some(user.email.clone()),
        phone: None,
    }
}

/// Tells `user` by email that a way into their account was added (`method`:
/// `totp`, `passkey` or `api_key`, with its `name` when it has one), in the
/// transaction that adds it: if it was not them, they hear of it at once.
pub(crate) async fn tell_sign_in_method_added<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    method: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let message = NewNotification {
        topic: Topic::SignInMethodAdded,
        priority: None,
        recipient: account_holder(user),
        variables: json!({
            "method": method,
            "name": name,
            "occurredAt": now.format("%Y-%m-%d %H:%M UTC").to_string(),
        }),
        subject: Some(("user", user.id.to_string())),
        not_before: None,
        dedupe_key: None,
        sent_by: None,
        calendar: None,
    };
    queue_account_message(conn, DEFAULT_LOCALE, now, message).await?;
    Ok(())
}
/// Reset links an account may be sent per hour; more requests are answered
/// alike but send nothing.
pub const RESET_LINKS_PER_HOUR: u64 = 3;
/// How soon another verification link may be asked for.
const VERIFICATION_RESEND_SECS: i64 = 60;

impl TokenPurpose {
    fn prefix(self) -> &'static str {
        match self {
            Self::EmailVerification => "tsv_",
            Self::PasswordReset => "tsp_",
        }
    }

    /// How long a link stays usable: long enough to find the email, short enough
    /// that a forgotten one in a mailbox is worthless.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::EmailVerification => Duration::hours(24),
            Self::PasswordReset => Duration::minutes(30),
        }
    }

    fn topic(self) -> Topic {
        match self {
            Self::EmailVerification => Topic::EmailVerification,
            Self::PasswordReset => Topic::PasswordReset,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::EmailVerification => "verify-email",
            Self::PasswordReset => "reset-password",
        }
    }
}

fn invalid_link() -> DomainError {
    DomainError::invalid("token", "is invalid, expired or already used; ask for a new link")
}

impl IdentityService {
    /// Issues a link for `purpose` to `user`'s address and queues the message in
    /// `conn`, the causing transaction.
    pub(crate) async fn send_link<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: &user::Model,
        purpose: TokenPurpose,
        locale: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let token = new_token(purpose.prefix());
        account_token::ActiveModel {
            id: Set(uuid_v7_at(now)),
            user_id: Set(user.id),
            purpose: Set(purpose),
            token_hash: Set(hash_token(&token)),
            email: Set(user.email.clone()),
            expires_at: Set(now + purpose.lifetime()),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
        let message = NewNotification {
            topic: purpose.topic(),
            priority: None,
            recipient: account_holder(user),
            variables: match purpose {
                TokenPurpose::EmailVerification => json!({
                    "link": self.links.link(purpose.path(), &token),
                    "validHours": purpose.lifetime().num_hours(),
                }),
                TokenPurpose::PasswordReset => json!({
                    "link": self.links.link(purpose.path(), &token),
                    "validMinutes": purpose.lifetime().num_minutes(),
                }),
            },
            subject: Some(("user", user.id.to_string())),
            not_before: None,
            dedupe_key: None,
            sent_by: None,
            calendar: None,
        };
        queue_account_message(conn, locale, now, message).await?;
        Ok(())
    }

    /// Sends the signed-in user a new link to verify their address; earlier
    /// links stop working. `false` when the address is already verified;
    /// `RATE_LIMITED` when a link went out less than a minute ago.
    pub async fn request_email_verification(&self, ctx: &RequestContext, locale: Option<&str>) -> Result<bool> {
        let actor = ctx.require_actor()?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let user = user::Entity::find_by_id(actor.user_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "user" })?;
        if user.email_verified_at.is_some() {
            txn.commit().await?;
            return Ok(false);
        }
        let last = account_token::Entity::find()
            .filter(account_token::Column::UserId.eq(user.id))
            .filter(account_token::Column::Purpose.eq(TokenPurpose::EmailVerification))
            .order_by_desc(account_token::Column::Id)
            .one(&txn)
            .await?;
        if let Some(last) = last {
            let wait = VERIFICATION_RESEND_SECS - (now - last.created_at).num_seconds();
            if wait > 0 {
                txn.commit().await?;
                return Err(DomainError::RateLimited { retry_after_secs: u64::try_from(wait).unwrap_or(1) });
            }
        }
        forget_unused(&txn, &user, TokenPurpose::EmailVerification).await?;
        self.send_link(&txn, &user, TokenPurpose::EmailVerification, locale.unwrap_or(DEFAULT_LOCALE), now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Marks the address a verification link was sent to as the account's
    /// verified address. Needs no session: the link is the proof.
    pub async fn verify_email(&self, ctx: &RequestContext, token: &str) -> Result<()> {
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let (_, user) = claim(&txn, token, TokenPurpose::EmailVerification, now).await?;
        if user.email_verified_at.is_none() {
            user::Entity::update_many()
                .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::Id.eq(user.id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Sends a password-reset link to `email` if it names an active account
    /// (and it has not had [`RESET_LINKS_PER_HOUR`] this hour). Says nothing
    /// either way: the caller answers alike for every address.
    pub async fn request_password_reset(&self, ctx: &RequestContext, email: &str, locale: Option<&str>) -> Result<()> {
        let email = Email::parse(email)?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        // Locked, so parallel requests count each other's links (PostgreSQL;
        // SQLite serialises writing transactions anyway).
        let found =
            user::Entity::find().filter(user::Column::Email.eq(email.as_str())).lock_exclusive().one(&txn).await?;
        let Some(user) = found.filter(|u| u.status == UserStatus::Active) else {
            txn.commit().await?;
            return Ok(());
        };
        let recent = account_token::Entity::find()
            .filter(account_token::Column::UserId.eq(user.id))
            .filter(account_token::Column::Purpose.eq(TokenPurpose::PasswordReset))
            .filter(account_token::Column::CreatedAt.gt(now - Duration::hours(1)))
            .count(&txn)
            .await?;
        if recent >= RESET_LINKS_PER_HOUR {
            txn.commit().await?;
            warn!(request_id = %ctx.meta().request_id, user_id = %user.id, "password reset asked for too often; no link sent");
            return Ok(());
        }
        self.send_link(&txn, &user, TokenPurpose::PasswordReset, locale.unwrap_or(DEFAULT_LOCALE), now).await?;
        txn.commit().await?;
        info!(request_id = %ctx.meta().request_id, user_id = %user.id, "password reset link sent");
        Ok(())
    }

    /// Sets a new password with a reset link. The password follows the policy and
    /// the history; every session of the account ends (returned, so their
    /// subscriptions can be told), other reset links stop working, the login
    /// backoff is cleared and the address counts as verified.
    pub async fn reset_password(&self, ctx: &RequestContext, token: &str, new: &str) -> Result<Vec<SessionId>> {
        let now = ctx.now();
        // A first look, so a bad link fails before the (slow) password checks.
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let (_, user) = usable(&txn, token, TokenPurpose::PasswordReset, now).await?;
        txn.commit().await?;
        let hash = self.checked_new_password(&user, new).await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        // The claim decides: of two requests with one link, only one gets here.
        let (_, user) = claim(&txn, token, TokenPurpose::PasswordReset, now).await?;
        self.store_password(&txn, user.id, &hash, now).await?;
        let ended = revoke_user_sessions(&txn, user.id, None, "password_reset", now).await?;
        forget_unused(&txn, &user, TokenPurpose::PasswordReset).await?;
        throttle::clear(&txn, &Charge::account(&user.email)).await?;
        // Whoever signed in with the old password may have trusted devices.
        devices::forget_all(&txn, user.id).await?;
        if user.email_verified_at.is_none() {
            user::Entity::update_many()
                .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
                .filter(user::Column::Id.eq(user.id))
                .exec(&txn)
                .await?;
        }
        let event = SecurityEvent {
            kind: SecurityEventKind::PasswordChanged,
            severity: Severity::Medium,
            user_id: Some(user.id),
            details: json!({ "via": "reset_link", "sessionsEnded": ended.len() }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        txn.commit().await?;
        self.sessions_ended(&ended).await;
        Ok(ended)
    }
}

impl IdentityService {
    /// Forgets links, second-factor login challenges, passkey ceremonies (those
    /// kept in the database), partner clients' access tokens and trusted
    /// devices that expired more than a day before `now` (used or not), and
    /// login throttle counters with nothing left to remember. A background job.
    pub async fn expire_account_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        let before = now - Duration::days(1);
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let links = account_token::Entity::delete_many()
            .filter(account_token::Column::ExpiresAt.lt(before))
            .exec(&txn)
            .await?
            .rows_affected;
        let challenges = mfa_challenge::Entity::delete_many()
            .filter(mfa_challenge::Column::ExpiresAt.lt(before))
            .exec(&txn)
            .await?
            .rows_affected;
        let ceremonies = webauthn_ceremony::Entity::delete_many()
            .filter(webauthn_ceremony::Column::ExpiresAt.lt(before))
            .exec(&txn)
            .await?
            .rows_affected;
        let client_tokens = oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::ExpiresAt.lt(before))
            .exec(&txn)
            .await?
            .rows_affected;
        let devices = devices::expire(&txn, before).await?;
        let sign_ups = self.expire_sign_ups(&txn, before).await?;
        let counters = throttle::forget_stale(&txn, now, &self.policy).await?;
        txn.commit().await?;
        Ok(links + challenges + ceremonies + client_tokens + devices + counters + sign_ups)
    }
}

/// The account a link belongs to, if the link is unused, unexpired, for
/// `purpose`, and sent to the address the active account still has.
async fn usable<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<(account_token::Model, user::Model)> {
    if !token.starts_with(purpose.prefix()) {
        return Err(invalid_link());
    }
    let row = account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(hash_token(token)))
        .filter(account_token::Column::Purpose.eq(purpose))
        .one(conn)
        .await?
        .filter(|t| t.used_at.is_none() && t.expires_at > now)
        .ok_or_else(invalid_link)?;
    let user = user::Entity::find_by_id(row.user_id)
        .one(conn)
        .await?
        .filter(|u| u.email == row.email && u.status == UserStatus::Active)
        .ok_or_else(invalid_link)?;
    Ok((row, user))
}

/// [`usable`], and marks the link used in `conn`; only one transaction can.
async fn claim<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<(account_token::Model, user::Model)> {
    let (row, user) = usable(conn, token, purpose, now).await?;
    let claimed = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::Id.eq(row.id))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        return Err(invalid_link());
    }
    Ok((row, user))
}

/// Drops the account's unused links for `purpose` (a newer one supersedes them).
async fn forget_unused<C: ConnectionTrait>(conn: &C, user: &user::Model, purpose: TokenPurpose) -> Result<()> {
    account_token::Entity::delete_many()
        .filter(account_token::Column::UserId.eq(user.id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
