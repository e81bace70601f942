//! Multi-factor authentication: TOTP authenticator apps (RFC 6238, with
//! totp-rs), one-time backup codes, and the login challenge that waits for
//! either.
//!
//! - **Enrolment**: a new secret (160 random bits) is shown once as base32 and
//!   as an `otpauth://` URI for a QR code; it counts only once a first code from
//!   the app confirms it, which also hands out [`BACKUP_CODE_COUNT`] backup codes
//!   (shown once, stored as SHA-256 hashes). Turning TOTP off or making new
//!   backup codes needs the password again.
//! - **Codes**: one 30-second step either side of the server's clock is accepted,
//!   and each step's code only once (the last accepted step is remembered, so a
//!   code seen over someone's shoulder is useless a second time).
//! - **Login**: for an account with a confirmed authenticator or a passkey, a
//!   right password returns a challenge valid [`CHALLENGE_MINUTES`] minutes,
//!   completed with a TOTP code, a backup code or a passkey
//!   ([`IdentityService::complete_login_with_passkey`]). Wrong codes count on the same per-account throttle as
//!   wrong passwords (the password step does not reset it), and a challenge dies
//!   after [`CHALLENGE_ATTEMPTS`] wrong codes. The challenge lives in
//!   `sign_in_challenge.rs`; enrolment and the codes here.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::token::hash_token;
use tessera_kernel::{DomainError, RequestContext, Result, UserId};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::entity::{backup_code, totp_credential, user};
use crate::model::{LoginFailure, MfaStatus, TotpEnrollment};
use crate::passkey::usable_passkeys;
use crate::service::IdentityService;
use crate::throttle::{self, Charge, Reservation};

/// Backup codes handed out at a time.
pub const BACKUP_CODE_COUNT: usize = 10;
/// How long a login waits for its second factor.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Wrong codes a challenge survives.
pub const CHALLENGE_ATTEMPTS: i32 = 5;
/// The issuer shown in authenticator apps.
const ISSUER: &str = "Tessera";
pub(crate) const CHALLENGE_PREFIX: &str = "tsm_";
/// Backup codes use letters and digits that cannot be mistaken for each other;
/// 32 symbols, so each random byte maps to one without bias.
const BACKUP_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a backup code (5 bits each: 60 bits).
pub(crate) const BACKUP_CODE_CHARS: usize = 12;

/// An authenticator for `secret` (base32) labelled with `account`.
pub(crate) fn authenticator(secret: &str, account: &str) -> Result<Totp> {
    let secret =
        Secret::try_from_base32(secret).map_err(|e| DomainError::Internal(format!("a stored TOTP secret: {e:?}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| DomainError::Internal(format!("building a TOTP authenticator: {e:?}")))
}

pub(crate) fn unix_seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// A new backup code, grouped for reading: `ABCD-EFGH-JKLM`.
fn new_backup_code() -> String {
    let mut bytes = [0u8; BACKUP_CODE_CHARS];
    rand::fill(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| char::from(BACKUP_ALPHABET[usize::from(b % 32)])).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// A code as typed (spaces, dashes, any case) in the form that was hashed.
pub(crate) fn normalise_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

pub(crate) fn wrong_code() -> DomainError {
    DomainError::Unauthenticated(LoginFailure::SecondFactorRejected.message().into())
}

pub(crate) fn expired_challenge() -> DomainError {
    DomainError::Unauthenticated("the sign-in has expired or was already completed; sign in again".into())
}

impl IdentityService {
    /// Starts setting up an authenticator app for the signed-in user: a new secret
    /// (replacing one not yet confirmed). `CONFLICT` when one is already on.
    pub async fn enroll_totp(&self, ctx: &RequestContext, password: &str) -> Result<TotpEnrollment> {
        let actor = ctx.require_actor()?;
        // A stolen access token must not be enough to put the thief's app on
        // the account (and lock its owner out of it).
        let signed_in = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &signed_in, password, "password").await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let user =
            user::Entity::find_by_id(actor.user_id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "user" })?;
        let existing = totp_credential::Entity::find_by_id(user.id).one(&txn).await?;
        if existing.as_ref().is_some_and(|c| c.confirmed_at.is_some()) {
            return Err(DomainError::Conflict(
                "an authenticator app is already set up; turn it off first to set up another".into(),
            ));
        }
        let mut bytes = [0u8; 20];
        rand::fill(&mut bytes);
        let secret = Secret::from(bytes).to_base32();
        totp_credential::Entity::delete_many().filter(totp_credential::Column::UserId.eq(user.id)).exec(&txn).await?;
        totp_credential::Entity::insert(totp_credential::ActiveModel {
            user_id: Set(user.id),
            secret: Set(secret.clone()),
            confirmed_at: Set(None),
            last_used_step: Set(None),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let otpauth_uri = authenticator(&secret, &user.email)?
            .to_url()
            .map_err(|e| DomainError::Internal(format!("an otpauth URI: {e:?}")))?;
        txn.commit().await?;
        Ok(TotpEnrollment { secret, otpauth_uri })
    }

    /// Confirms the authenticator app being set up with a code from it, turns
    /// TOTP on and returns fresh backup codes (shown this once).
    pub async fn confirm_totp(&self, ctx: &RequestContext, code: &str) -> Result<Vec<String>> {
        let actor = ctx.require_actor()?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let user =
            user::Entity::find_by_id(actor.user_id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "user" })?;
        let pending = totp_credential::Entity::find_by_id(user.id)
            .filter(totp_credential::Column::ConfirmedAt.is_null())
            .one(&txn)
            .await?
            .ok_or_else(|| {
                DomainError::Conflict("no authenticator app is being set up; start with enrollTotp".into())
            })?;
        let account = [Charge::account(&user.email)];
        if let Reservation::Locked { retry_after, .. } = throttle::reserve(&txn, &account, now, &self.policy).await? {
            txn.commit().await?;
            return Err(throttle::rate_limited(retry_after));
        }
        let step = authenticator(&pending.secret, &user.email)?.check(&normalise_code(code), unix_seconds(now));
        let Some(step) = step else {
            txn.commit().await?;
            return Err(DomainError::invalid("code", "is not the current code of the authenticator app"));
        };
        throttle::clear(&txn, &account[0]).await?;
        totp_credential::Entity::update_many()
            .col_expr(totp_credential::Column::ConfirmedAt, Expr::value(now))
            .col_expr(totp_credential::Column::LastUsedStep, Expr::value(i64::try_from(step).unwrap_or(i64::MAX)))
            .filter(totp_credential::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
        let codes = replace_backup_codes(&txn, user.id, now).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::MfaEnabled,
            severity: Severity::Medium,
            user_id: Some(user.id),
            details: json!({ "method": "totp", "backupCodes": codes.len() }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        crate::recovery::tell_sign_in_method_added(&txn, &user, "totp", None, now).await?;
        txn.commit().await?;
        Ok(codes)
    }

    /// Turns the signed-in user's authenticator app off (and forgets their backup
    /// codes), after checking their password again. `false` when it was off.
    pub async fn disable_totp(&self, ctx: &RequestContext, password: &str) -> Result<bool> {
        let user = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &user, password, "password").await?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let removed = totp_credential::Entity::delete_many()
            .filter(totp_credential::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?
            .rows_affected;
        if self.second_factors(&txn, user.id).await?.is_none() {
            backup_code::Entity::delete_many().filter(backup_code::Column::UserId.eq(user.id)).exec(&txn).await?;
        }
        if removed > 0 {
            let event = SecurityEvent {
                kind: SecurityEventKind::MfaDisabled,
                severity: Severity::High,
                user_id: Some(user.id),
                details: json!({ "method": "totp" }),
            };
            record_security_event(&txn, ctx, None, event).await?;
        }
        txn.commit().await?;
        Ok(removed > 0)
    }

    /// New backup codes for the signed-in user (the old ones stop working),
    /// after checking their password again; shown this once.
    pub async fn regenerate_backup_codes(&self, ctx: &RequestContext, password: &str) -> Result<Vec<String>> {
        let user = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &user, password, "password").await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        if self.second_factors(&txn, user.id).await?.is_none() {
            return Err(DomainError::Conflict(
                "backup codes come with a second factor; set up an authenticator app or a passkey first".into(),
            ));
        }
        let codes = replace_backup_codes(&txn, user.id, now).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::BackupCodesRegenerated,
            severity: Severity::Medium,
            user_id: Some(user.id),
            details: json!({ "backupCodes": codes.len() }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        txn.commit().await?;
        Ok(codes)
    }

    /// The signed-in user's second factors.
    pub async fn mfa_status(&self, ctx: &RequestContext) -> Result<MfaStatus> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let totp = totp_credential::Entity::find_by_id(actor.user_id)
            .filter(totp_credential::Column::ConfirmedAt.is_not_null())
            .one(&txn)
            .await?
            .is_some();
        let left = unused_backup_codes(&txn, actor.user_id).await?;
        let passkeys = usable_passkeys(&txn, actor.user_id).await?;
        txn.commit().await?;
        Ok(MfaStatus { totp, backup_codes_left: left, passkeys: u32::try_from(passkeys).unwrap_or(u32::MAX) })
    }
}

/// Records `step` as the last one used if it is later than any before; only one
/// request can.
pub(crate) async fn claim_step<C: ConnectionTrait>(conn: &C, user_id: UserId, step: u64) -> Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let claimed = totp_credential::Entity::update_many()
        .col_expr(totp_credential::Column::LastUsedStep, Expr::value(step))
        .filter(totp_credential::Column::UserId.eq(user_id))
        .filter(
            sea_orm::Condition::any()
                .add(totp_credential::Column::LastUsedStep.is_null())
                .add(totp_credential::Column::LastUsedStep.lt(step)),
        )
        .exec(conn)
        .await?
        .rows_affected;
    Ok(claimed == 1)
}

pub(crate) async fn unused_backup_codes<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<u32> {
    let left = backup_code::Entity::find()
        .filter(backup_code::Column::UserId.eq(user_id))
        .filter(backup_code::Column::UsedAt.is_null())
        .count(conn)
        .await?;
    Ok(u32::try_from(left).unwrap_or(u32::MAX))
}

/// Replaces the user's backup codes with [`BACKUP_CODE_COUNT`] new ones and
/// returns them in clear (the only time they exist so).
pub(crate) async fn replace_backup_codes<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    backup_code::Entity::delete_many().filter(backup_code::Column::UserId.eq(user_id)).exec(conn).await?;
    let codes: Vec<String> = (0..BACKUP_CODE_COUNT).map(|_| new_backup_code()).collect();
    for (offset, code) in codes.iter().enumerate() {
        let at = now + Duration::microseconds(i64::try_from(offset).unwrap_or(0));
        backup_code::Entity::insert(backup_code::ActiveModel {
            id: Set(uuid_v7_at(at)),
            user_id: Set(user_id),
            code_hash: Set(hash_token(&normalise_code(code))),
            used_at: Set(None),
            created_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_are_twelve_unambiguous_characters_in_groups() {
        let code = new_backup_code();
        assert_eq!(code.len(), 14, "{code}");
        assert_eq!(code.matches('-').count(), 2);
        assert!(normalise_code(&code).bytes().all(|b| BACKUP_ALPHABET.contains(&b)));
        assert_eq!(normalise_code(" abcd efgh-jkLm "), "ABCDEFGHJKLM");
        assert_ne!(new_backup_code(), new_backup_code());
    }

    #[test]
    fn a_code_checks_within_one_step_either_side_only() {
        let totp = authenticator("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ana@example.com").unwrap();
        let now = 1_700_000_000;
        let code = totp.generate(now).to_string();
        assert_eq!(totp.check(&code, now), Some(now / 30));
        assert!(totp.check(&code, now + 30).is_some(), "a step late");
        assert!(totp.check(&code, now - 30).is_some(), "a step early");
        assert!(totp.check(&code, now + 90).is_none(), "three steps late");
        let uri = totp.to_url().unwrap();
        assert!(uri.starts_with("otpauth://totp/Tessera:ana%40example.com?"), "{uri}");
        assert!(uri.contains("issuer=Tessera"), "{uri}");
    }
}
