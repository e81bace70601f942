//! Signing in with a password: the throttle charges, the password check, the
//! second-factor challenge, and the session and device token a success gets.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result};
use tracing::warn;
use uuid::Uuid;

use crate::devices;
use crate::entity::user;
use crate::model::{Email, IssuedSession, LoginFailure, LoginOutcome, Password, User, UserStatus};
use crate::password::Lane;
use crate::service::{IdentityService, invalid_credentials};
use crate::throttle::{self, Charge, Reservation};

/// What a login presents.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// The account's email.
    pub email: &'a str,
    /// Its password.
    pub password: &'a str,
    /// The device token a previous sign-in on this device returned, if kept.
    pub device_token: Option<&'a str>,
}

impl IdentityService {
    /// Checks an email and password and starts a session, or, for an account with
    /// a second factor, returns the challenge to complete with it
    /// ([`IdentityService::complete_login`]).
    ///
    /// Unknown email and wrong password give the same error after the same work (a
    /// dummy verification). Attempts are throttled per email, known or not, and
    /// per client address and network; an attempt from a trusted device of the
    /// account is throttled per device instead (see `crate::throttle`).
    pub async fn login(&self, ctx: &RequestContext, credentials: Credentials<'_>) -> Result<LoginOutcome> {
        let password = Password::presented(credentials.password)?;
        let Ok(email) = Email::parse(credentials.email) else {
            self.hasher.verify_dummy(&password).await?;
            return Err(invalid_credentials());
        };
        let now = ctx.now();

        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
        let known_id = found.as_ref().map(|u| u.id);
        let device = match known_id {
            Some(user_id) => devices::recognise(&txn, credentials.device_token, user_id, now).await?,
            None => None,
        };
        let charges = match device {
            Some(device) => vec![Charge::device(device)],
            None => {
                let mut charges = vec![Charge::account(email.as_str())];
                charges.extend(Charge::client(ctx.meta().ip.as_deref()));
                charges
            }
        };
        let reservation = throttle::reserve(&txn, &charges, now, &self.policy).await?;
        if let Reservation::Locked { retry_after, by } = reservation {
            self.record_login(&txn, ctx, known_id, Some(LoginFailure::Throttled)).await?;
            let event = SecurityEvent {
                kind: SecurityEventKind::LoginThrottled,
                severity: Severity::Medium,
                user_id: known_id,
                details: json!({ "retryAfterSeconds": retry_after.num_seconds(), "limit": by.as_str() }),
            };
            record_security_event(&txn, ctx, None, event).await?;
            txn.commit().await?;
            warn!(request_id = %ctx.meta().request_id, limit = by.as_str(), "login throttled");
            return Err(throttle::rate_limited(retry_after));
        }
        txn.commit().await?;

        let lane = if device.is_some() { Lane::KnownDevice } else { Lane::Anyone };
        let checked = match &found {
            Some(user) => self.hasher.verify(&password, &user.password_hash, lane).await,
            None => self.hasher.verify_dummy(&password).await.map(|()| false),
        };
        let matches = match checked {
            Ok(matches) => matches,
            Err(busy @ DomainError::RateLimited { .. }) => {
                // Refused before the password was looked at: not a failure.
                let txn = self.db.begin(Scope::Global, Access::Write).await?;
                throttle::refund(&txn, &charges, now, &self.policy).await?;
                txn.commit().await?;
                return Err(busy);
            }
            Err(other) => return Err(other),
        };
        let Some(user) = found.filter(|_| matches) else {
            let txn = self.db.begin(Scope::Global, Access::Write).await?;
            self.record_login(&txn, ctx, known_id, Some(LoginFailure::InvalidCredentials)).await?;
            let event = match reservation {
                Reservation::Allowed { locks_until: Some(until), failures } => SecurityEvent {
                    kind: SecurityEventKind::AccountLocked,
                    severity: Severity::High,
                    user_id: known_id,
                    details: json!({
                        "lockedUntil": until,
                        "failedAttempts": failures,
                        "limit": charges[0].counter.as_str(),
                    }),
                },
                _ => SecurityEvent {
                    kind: SecurityEventKind::LoginFailed,
                    severity: Severity::Low,
                    user_id: known_id,
                    details: json!({ "reason": LoginFailure::InvalidCredentials.as_str() }),
                },
            };
            record_security_event(&txn, ctx, None, event).await?;
            txn.commit().await?;
            return Err(invalid_credentials());
        };

        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        if user.status != UserStatus::Active {
            throttle::settle_success(&txn, &charges, false, now, &self.policy).await?;
            self.record_login(&txn, ctx, Some(user.id), Some(LoginFailure::AccountDisabled)).await?;
            let event = SecurityEvent {
                kind: SecurityEventKind::LoginFailed,
                severity: Severity::Medium,
                user_id: Some(user.id),
                details: json!({ "reason": LoginFailure::AccountDisabled.as_str() }),
            };
            record_security_event(&txn, ctx, None, event).await?;
            txn.commit().await?;
            return Err(DomainError::Forbidden(LoginFailure::AccountDisabled.message().into()));
        }
        // With a second factor, the password alone opens nothing: the attempt
        // stays counted until the code completes it, so the code cannot be
        // guessed by logging in again and again.
        if let Some(methods) = self.second_factors(&txn, user.id).await? {
            throttle::settle_success(&txn, &charges, true, now, &self.policy).await?;
            let challenge = self.issue_challenge(&txn, user.id, methods, device, now).await?;
            txn.commit().await?;
            let challenge = self.offer_passkey(challenge, user.id, now).await?;
            return Ok(LoginOutcome::SecondFactorRequired(challenge));
        }
        throttle::settle_success(&txn, &charges, false, now, &self.policy).await?;
        let (user, issued) = self.finish_login(&txn, ctx, user, false, device, now).await?;
        txn.commit().await?;
        Ok(LoginOutcome::SignedIn(Box::new(user), issued))
    }

    /// Starts the session of a login whose every factor checked out, in `txn`,
    /// and trusts the device it came from (replacing `device`, the trusted
    /// device it presented, if any).
    pub(crate) async fn finish_login(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        user: user::Model,
        second_factor: bool,
        device: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(User, IssuedSession)> {
        let mut issued = self.start_session(txn, ctx, user.id, second_factor, now).await?;
        issued.device_token = Some(devices::trust(txn, user.id, device, now).await?);
        self.record_login(txn, ctx, Some(user.id), None).await?;
        let mut active: user::ActiveModel = user.into();
        active.last_login_at = Set(Some(now));
        let user = active.update(txn).await?;
        Ok((user.into(), issued))
    }

    /// Clears an account's failed-login backoff (after a password reset).
    pub async fn clear_login_failures(&self, email: &str) -> Result<()> {
        let email = Email::parse(email)?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        throttle::clear(&txn, &Charge::account(email.as_str())).await?;
        txn.commit().await?;
        Ok(())
    }
}
