//! Identity domain types.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{DomainError, PasskeyId, Result, SessionId, UserId};

/// A normalised email address: trimmed and lower-cased, so `Ana@Example.com` and
/// `ana@example.com ` are one account.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates and normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = || DomainError::invalid("email", "must be an email address such as ana@example.com");
        let email = raw.trim().to_lowercase();
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A password candidate, checked against the policy (NIST SP 800-63B: a minimum
/// length, no composition rules, long passphrases accepted whole, and nothing easy
/// to guess). Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Password(String);

/// The shortest password accepted by default.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What a new password must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The fewest characters (8 to 64; 12 by default).
    pub min_chars: usize,
    /// How many recent passwords a new one may not repeat (0 to 24; 5 by default).
    pub history: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: MIN_PASSWORD_CHARS, history: 5 }
    }
}

/// How much of a password the guessability check reads: enough to judge it, and
/// bounded, since the estimator's work grows quickly with length.
const GUESS_CHECK_CHARS: usize = 64;
/// The longest password accepted (far above the 64 NIST asks for; hashed whole).
pub const MAX_PASSWORD_CHARS: usize = 256;

impl Password {
    /// Checks a new password against `policy`: its length, and that it is not a
    /// common password, a simple pattern (`aaaa…`, `qwerty…`, `12345…`) or built
    /// from `context` (the account's email and name), as judged by zxcvbn (fewer
    /// than 10^8 guesses is refused).
    pub fn new(raw: &str, policy: &PasswordPolicy, context: &[&str]) -> Result<Self> {
        let chars = raw.chars().count();
        if chars < policy.min_chars {
            return Err(DomainError::invalid(
                "password",
                format!("must be at least {} characters long", policy.min_chars),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("must be at most {MAX_PASSWORD_CHARS} characters long"),
            ));
        }
        let judged: String = raw.chars().take(GUESS_CHECK_CHARS).collect();
        // The account's own words, whole and in parts: `lucia.ferrari@…` gives
        // `lucia` and `ferrari` too.
        let mut words: Vec<String> = context.iter().map(|c| c.to_lowercase()).collect();
        words.extend(
            context
                .iter()
                .flat_map(|c| c.split(|ch: char| !ch.is_alphanumeric()))
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_lowercase),
        );
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        if zxcvbn::zxcvbn(&judged, &words).score() < zxcvbn::Score::Two {
            return Err(DomainError::invalid(
                "password",
                "is too easy to guess (a common password, a simple pattern or your own name or email); \
                 a few unrelated words make a strong passphrase",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password presented at login; not checked against the policy (old passwords
    /// stay valid when the policy tightens), only bounded in size.
    pub fn presented(raw: &str) -> Result<Self> {
        if raw.chars().count() > MAX_PASSWORD_CHARS {
            return Err(DomainError::Unauthenticated(LoginFailure::InvalidCredentials.message().into()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum UserStatus {
    /// May sign in.
    #[sea_orm(string_value = "active")]
    Active,
    /// Deactivated by themselves or an admin.
    #[sea_orm(string_value = "inactive")]
    Inactive,
    /// Suspended by an admin.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Soft-deleted.
    #[sea_orm(string_value = "deleted")]
    Deleted,
}

/// A user as the rest of the system sees it (no credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Normalised email.
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// Whether they may sign in.
    pub status: UserStatus,
    /// When they signed up.
    pub created_at: DateTime<Utc>,
    /// Their last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When they proved the email address is theirs.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Why the account is not active (when it is not).
    pub status_reason: Option<String>,
    /// When its status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Who changed it: the user themselves, or none for the platform's operator.
    pub status_changed_by: Option<UserId>,
}

/// What signing up needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email address (normalised on the way in).
    pub email: String,
    /// Password.
    pub password: String,
    /// Display name.
    pub display_name: String,
    /// Language for account messages (BCP 47; English when absent).
    pub locale: Option<String>,
}

/// What a single-use account link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(30))")]
pub enum TokenPurpose {
    /// Proves an email address belongs to the account.
    #[sea_orm(string_value = "email_verification")]
    EmailVerification,
    /// Lets the owner of the address set a new password.
    #[sea_orm(string_value = "password_reset")]
    PasswordReset,
}

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
}

/// What a correct email and password lead to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in.
    SignedIn(Box<User>, IssuedSession),
    /// The account has a second factor: complete the challenge with it.
    SecondFactorRequired(MfaChallenge),
}

/// A login waiting for its second factor.
#[derive(Clone)]
pub struct MfaChallenge {
    /// Hand back with the code (`completeLogin`); works until `expires_at`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// What it may be completed with.
    pub methods: Vec<SecondFactor>,
    /// WebAuthn request options (`{"publicKey": …}`) for completing it with a
    /// passkey, when the account has one.
    pub passkey_options: Option<serde_json::Value>,
}

impl fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaChallenge").field("expires_at", &self.expires_at).field("methods", &self.methods).finish()
    }
}

/// A way to complete a login after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// One of the account's one-time backup codes.
    BackupCode,
    /// One of the account's passkeys.
    Passkey,
}

/// A user's second factors as they see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether an authenticator app is set up and confirmed.
    pub totp: bool,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// Passkeys that can sign in (not flagged as copied).
    pub passkeys: u32,
}

/// A user's passkey as they see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Id.
    pub id: PasskeyId,
    /// The name its owner gave it ("MacBook Touch ID").
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last signed in.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When its signature counter went backwards, so a copy of it may exist; a
    /// flagged passkey signs nobody in.
    pub possibly_cloned_at: Option<DateTime<Utc>>,
}

/// The first half of a WebAuthn ceremony: options for the browser
/// (`navigator.credentials.create` or `.get`) and the id to finish it with.
#[derive(Clone)]
pub struct PasskeyCeremony {
    /// Hand back with the authenticator's answer; works once, until `expires_at`.
    pub ceremony: String,
    /// `{"publicKey": …}` in the WebAuthn JSON form
    /// (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`).
    pub options: serde_json::Value,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyCeremony").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Who passkeys are made for: the WebAuthn relying party. Its id is the domain
/// the passkeys belong to; the origins are the pages allowed to use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// A domain, such as `example.com` (the origins' host or a parent of it).
    pub id: String,
    /// The name authenticators show.
    pub name: String,
    /// Allowed origins, such as `https://app.example.com`.
    pub origins: Vec<String>,
}

/// A new authenticator app's secret, to show once (as text and as a QR code of
/// the URI) until a first code confirms it.
#[derive(Clone)]
pub struct TotpEnrollment {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrollment(…)")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana.Lopez@Example.COM ").map(|e| e.as_str().to_owned()).ok(),
            Some("ana.lopez@example.com".into())
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana @example.com",
            "ana@.example.com",
            "ana@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    fn check(raw: &str) -> Result<Password> {
        Password::new(raw, &PasswordPolicy::default(), &["ana@example.com", "Ana López"])
    }

    #[test]
    fn passwords_need_length_not_composition_and_must_not_be_easy_to_guess() {
        assert!(check("short").is_err());
        assert!(check("all lowercase words are fine").is_ok(), "no composition rules");
        let passphrase_of_64 = "winter harbour lanterns drift over quiet cobalt rooftops at dawn";
        assert_eq!(passphrase_of_64.chars().count(), 64);
        assert!(check(passphrase_of_64).is_ok(), "64 characters are accepted");
        assert!(check(&format!("{passphrase_of_64} and a much longer tail of further words")).is_ok());
        assert!(check(&"p".repeat(257)).is_err());
        for easy in ["password1234", "qwertyuiop123", "aaaaaaaaaaaaaaaa", "123456789012", "ana@example.com1"] {
            let refused = check(easy).err().map(|e| e.public_message()).unwrap_or_default();
            assert!(refused.contains("too easy to guess"), "{easy}: {refused}");
        }
        let longer = PasswordPolicy { min_chars: 16, ..PasswordPolicy::default() };
        assert!(Password::new("tangerine orbit lake", &longer, &[]).is_ok());
        assert!(Password::new("tangerine orbit", &longer, &[]).is_err(), "15 characters, 16 required");
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let password = check("correct horse battery staple").ok();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
