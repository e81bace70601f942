//! Sessions: what a sign-in issues and how long it lasts, why a sign-in
//! failed, and the record of each attempt.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use tessera_kernel::{SessionId, UserId};

use super::{MfaChallenge, User};

/// A session as its user sees it in the list of their sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// When it began (login).
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: DateTime<Utc>,
    /// When it ends if unused.
    pub idle_expires_at: DateTime<Utc>,
    /// When it ends regardless.
    pub absolute_expires_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked (`logout`, `revoked_by_user`, `refresh_token_reuse`).
    pub revoked_reason: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
    /// Client IP at login.
    pub ip: Option<String>,
}

/// Tokens handed to the client at login or refresh. Shown once; only hashes are kept.
#[derive(Clone)]
pub struct IssuedSession {
    /// The session.
    pub session_id: SessionId,
    /// The user.
    pub user_id: UserId,
    /// Bearer token for the `Authorization` header.
    pub access_token: String,
    /// When the access token stops working if the session is unused.
    pub access_token_expires_at: DateTime<Utc>,
    /// Single-use token for `refreshSession`.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_token_expires_at: DateTime<Utc>,
    /// The token of the device that signed in (see `devices`), set by sign-ins
    /// (not by refreshes).
    pub device_token: Option<String>,
}

impl fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedSession").field("session_id", &self.session_id).finish_non_exhaustive()
    }
}

/// How long sessions and tokens live, and how logins are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, whatever its use.
    pub absolute_timeout: Duration,
    /// Failed logins per account (or per trusted device) accepted before
    /// backoff starts.
    pub free_login_attempts: i32,
    /// Failed logins from one client address, over any accounts, accepted
    /// before that address's backoff starts.
    pub free_address_failures: i32,
    /// The same for the address's network (its IPv4 /24 or IPv6 /64).
    pub free_network_failures: i32,
    /// The first backoff; it doubles with each further failure.
    pub first_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// Failures older than this are forgotten.
    pub failure_window: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::minutes(60),
            absolute_timeout: Duration::days(30),
            free_login_attempts: 5,
            free_address_failures: 20,
            free_network_failures: 100,
            first_backoff: Duration::seconds(30),
            max_backoff: Duration::minutes(15),
            failure_window: Duration::hours(24),
        }
    }
}

/// Why a login failed, as recorded in the login history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Unknown email or wrong password (never told apart).
    InvalidCredentials,
    /// Too many recent failures.
    Throttled,
    /// The account is not active.
    AccountDisabled,
    /// The password was right but the second factor (a TOTP or backup code) was not.
    SecondFactorRejected,
    /// A passkey's answer did not verify, or the passkey is flagged as copied.
    PasskeyRejected,
}

impl LoginFailure {
    /// The reason as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::Throttled => "throttled",
            Self::AccountDisabled => "account_disabled",
            Self::SecondFactorRejected => "second_factor_rejected",
            Self::PasskeyRejected => "passkey_rejected",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid email or password",
            Self::Throttled => "too many failed attempts",
            Self::AccountDisabled => "this account is disabled",
            Self::SecondFactorRejected => {
                "the code is not valid; use a current code of your authenticator app or an unused backup code"
            }
            Self::PasskeyRejected => "the passkey could not be verified; try again or sign in another way",
        }
    }
}

/// A bearer token's session, as the gateway checks it against a tenant's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedSession {
    /// Who.
    pub actor: tessera_kernel::Actor,
    /// Whether the session was started with a second factor.
    pub second_factor: bool,
    /// When it was last used before this request (the idle time a tenant judges).
    pub last_used_at: DateTime<Utc>,
    /// Set for a partner client's token: its tenant and scopes.
    pub client: Option<crate::oauth::ClientGrant>,
    /// Whether the credential is a personal API key rather than a signed-in
    /// session (keys and clients never manage sign-in methods or keys).
    pub through_api_key: bool,
    /// When the credential's last use is recorded as of this answer (this
    /// request's, when it extended the idle timeout): what `last_used_at`
    /// reads for a later request that reuses the answer.
    pub recorded_use_at: DateTime<Utc>,
    /// Until when a later request with the same token may take this answer
    /// without asking the database: the credential expires then, or its next
    /// use is due to be recorded. `reused_at` explains what else it needs.
    pub reusable_until: DateTime<Utc>,
}

impl AuthenticatedSession {
    /// This answer for a later request at `now` with the same token, or `None`
    /// once the database must be asked again. Only times are judged here: a
    /// session, key or client ended before then is announced to the gateway
    /// (`SessionEndings`), which must check for that notice before reusing.
    pub fn reused_at(&self, now: DateTime<Utc>) -> Option<Self> {
        if now >= self.reusable_until {
            return None;
        }
        let mut reused = self.clone();
        // A key does not idle; a session was idle since its recorded use.
        reused.last_used_at = if self.through_api_key { now } else { self.recorded_use_at };
        Some(reused)
    }
}

/// What a correct email and password lead to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in.
    SignedIn(Box<User>, IssuedSession),
    /// The account has a second factor: complete the challenge with it.
    SecondFactorRequired(MfaChallenge),
}

/// One entry of a user's login history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// Id.
    pub id: uuid::Uuid,
    /// The account, when the email named one.
    pub user_id: Option<UserId>,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Which login attempts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFilter {
    /// Only this account's.
    pub user_id: Option<UserId>,
    /// Only successes (`true`) or failures (`false`).
    pub succeeded: Option<bool>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}
