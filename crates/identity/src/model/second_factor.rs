//! Second factors: the challenge a password sign-in may end in, authenticator
//! apps, and passkeys with the relying party they are made for.

use std::fmt;

use chrono::{DateTime, Utc};
use tessera_kernel::PasskeyId;

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
