//! Accounts: the normalised email address, passwords and their policy, an
//! account's status, and what signing up gives.

use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{DomainError, Result, UserId};

use super::LoginFailure;

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
