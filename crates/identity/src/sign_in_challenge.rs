//! The login challenge: what a right password returns for an account with a
//! second factor, and completing it with an authenticator code or a backup code
//! (passkeys complete it in `passkey_sign_in.rs`). Wrong codes count on the
//! account's login throttle; a challenge lasts [`CHALLENGE_MINUTES`] minutes and
//! [`CHALLENGE_ATTEMPTS`] wrong codes. Enrolment and the codes themselves are in
//! `mfa.rs`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::token::{hash_token, new_token};
use tessera_kernel::{RequestContext, Result, UserId};
use uuid::Uuid;

use crate::entity::{backup_code, mfa_challenge, totp_credential, user};
use crate::mfa::{
    BACKUP_CODE_CHARS, CHALLENGE_ATTEMPTS, CHALLENGE_MINUTES, CHALLENGE_PREFIX, authenticator, claim_step,
    expired_challenge, normalise_code, unix_seconds, unused_backup_codes, wrong_code,
};
use crate::model::{IssuedSession, LoginFailure, MfaChallenge, SecondFactor, User, UserStatus};
use crate::passkey::usable_passkeys;
use crate::service::IdentityService;
use crate::throttle::{self, Charge, Reservation};

impl IdentityService {
    /// The second factors `user_id` must complete a login with, if any.
    pub(crate) async fn second_factors<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
    ) -> Result<Option<Vec<SecondFactor>>> {
        let totp = totp_credential::Entity::find_by_id(user_id)
            .filter(totp_credential::Column::ConfirmedAt.is_not_null())
            .one(conn)
            .await?
            .is_some();
        let passkeys = usable_passkeys(conn, user_id).await? > 0;
        let mut methods = Vec::new();
        if passkeys {
            methods.push(SecondFactor::Passkey);
        }
        if totp {
            methods.push(SecondFactor::Totp);
        }
        if methods.is_empty() {
            return Ok(None);
        }
        methods.push(SecondFactor::BackupCode);
        Ok(Some(methods))
    }

    /// Opens a challenge for a login whose password was right.
    pub(crate) async fn issue_challenge<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        methods: Vec<SecondFactor>,
        device: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<MfaChallenge> {
        let token = new_token(CHALLENGE_PREFIX);
        let expires_at = now + Duration::minutes(CHALLENGE_MINUTES);
        mfa_challenge::Entity::insert(mfa_challenge::ActiveModel {
            id: Set(uuid_v7_at(now)),
            user_id: Set(user_id),
            token_hash: Set(hash_token(&token)),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
            failed_attempts: Set(0),
            device_id: Set(device),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(MfaChallenge { token, expires_at, methods, passkey_options: None })
    }

    /// Completes a login challenge with a TOTP code or a backup code and starts
    /// the session.
    pub async fn complete_login(
        &self,
        ctx: &RequestContext,
        challenge: &str,
        code: &str,
    ) -> Result<(User, IssuedSession)> {
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let (open, user) = self.open_challenge(&txn, challenge, now).await?;
        // Codes count on what the password step counted on: the trusted device
        // it came from, or the account.
        let principal = [open.device_id.map_or_else(|| Charge::account(&user.email), Charge::device)];
        if let Reservation::Locked { retry_after, .. } = throttle::reserve(&txn, &principal, now, &self.policy).await? {
            self.record_login(&txn, ctx, Some(user.id), Some(LoginFailure::Throttled)).await?;
            txn.commit().await?;
            return Err(throttle::rate_limited(retry_after));
        }
        let Some(used) = self.accept_code(&txn, &user, code, now).await? else {
            self.refuse_second_factor(&txn, ctx, &open, user.id, LoginFailure::SecondFactorRejected, now).await?;
            txn.commit().await?;
            return Err(wrong_code());
        };
        self.claim_challenge(&txn, &open, now).await?;
        throttle::clear(&txn, &principal[0]).await?;
        if used == SecondFactor::BackupCode {
            let left = unused_backup_codes(&txn, user.id).await?;
            let event = SecurityEvent {
                kind: SecurityEventKind::BackupCodeUsed,
                severity: if left <= 2 { Severity::High } else { Severity::Medium },
                user_id: Some(user.id),
                details: json!({ "backupCodesLeft": left }),
            };
            record_security_event(&txn, ctx, None, event).await?;
        }
        let signed_in = self.finish_login(&txn, ctx, user, true, open.device_id, now).await?;
        txn.commit().await?;
        Ok(signed_in)
    }

    /// The open challenge presented as `challenge` and its (active) account;
    /// an expired, spent or unknown one is refused alike.
    pub(crate) async fn open_challenge(
        &self,
        txn: &DatabaseTransaction,
        challenge: &str,
        now: DateTime<Utc>,
    ) -> Result<(mfa_challenge::Model, user::Model)> {
        let open = mfa_challenge::Entity::find()
            .filter(mfa_challenge::Column::TokenHash.eq(hash_token(challenge)))
            .one(txn)
            .await?
            .filter(|c| c.used_at.is_none() && c.expires_at > now && challenge.starts_with(CHALLENGE_PREFIX))
            .ok_or_else(expired_challenge)?;
        let user = user::Entity::find_by_id(open.user_id)
            .one(txn)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(expired_challenge)?;
        Ok((open, user))
    }

    /// Counts a wrong second factor against `open` (which dies after
    /// [`CHALLENGE_ATTEMPTS`]) and records it.
    pub(crate) async fn refuse_second_factor(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        open: &mfa_challenge::Model,
        user_id: UserId,
        failure: LoginFailure,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let attempts = open.failed_attempts + 1;
        mfa_challenge::Entity::update_many()
            .col_expr(mfa_challenge::Column::FailedAttempts, Expr::value(attempts))
            .col_expr(mfa_challenge::Column::UsedAt, Expr::value((attempts >= CHALLENGE_ATTEMPTS).then_some(now)))
            .filter(mfa_challenge::Column::Id.eq(open.id))
            .exec(txn)
            .await?;
        self.record_login(txn, ctx, Some(user_id), Some(failure)).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::LoginFailed,
            severity: Severity::Medium,
            user_id: Some(user_id),
            details: json!({ "reason": failure.as_str(), "attempt": attempts }),
        };
        record_security_event(txn, ctx, None, event).await
    }

    /// Spends `open`: exactly one completion can.
    pub(crate) async fn claim_challenge(
        &self,
        txn: &DatabaseTransaction,
        open: &mfa_challenge::Model,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let claimed = mfa_challenge::Entity::update_many()
            .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
            .filter(mfa_challenge::Column::Id.eq(open.id))
            .filter(mfa_challenge::Column::UsedAt.is_null())
            .exec(txn)
            .await?
            .rows_affected
            == 1;
        if claimed { Ok(()) } else { Err(expired_challenge()) }
    }

    /// Accepts `code` for `user` in `txn` if it is a current TOTP code not used
    /// before or an unused backup code, and spends it. `None` when it is neither.
    async fn accept_code(
        &self,
        txn: &DatabaseTransaction,
        user: &user::Model,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SecondFactor>> {
        let typed = normalise_code(code);
        if typed.len() == 6 && typed.chars().all(|c| c.is_ascii_digit()) {
            let Some(credential) = totp_credential::Entity::find_by_id(user.id)
                .filter(totp_credential::Column::ConfirmedAt.is_not_null())
                .one(txn)
                .await?
            else {
                return Ok(None);
            };
            let Some(step) = authenticator(&credential.secret, &user.email)?.check(&typed, unix_seconds(now)) else {
                return Ok(None);
            };
            return Ok(claim_step(txn, user.id, step).await?.then_some(SecondFactor::Totp));
        }
        if typed.len() != BACKUP_CODE_CHARS {
            return Ok(None);
        }
        let spent = backup_code::Entity::update_many()
            .col_expr(backup_code::Column::UsedAt, Expr::value(now))
            .filter(backup_code::Column::UserId.eq(user.id))
            .filter(backup_code::Column::CodeHash.eq(hash_token(&typed)))
            .filter(backup_code::Column::UsedAt.is_null())
            .exec(txn)
            .await?
            .rows_affected
            == 1;
        Ok(spent.then_some(SecondFactor::BackupCode))
    }
}
