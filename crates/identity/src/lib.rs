//! Identity: who people are and how they prove it.
//!
//! Users are global (one person can belong to several tenants); an email address,
//! normalised, identifies one user. This crate owns:
//!
//! - passwords, hashed with argon2id at OWASP's minimum cost on a bounded pool of
//!   blocking threads ([`PasswordHasher`]), so a login storm cannot starve the server;
//! - sessions: an opaque bearer token (≥128 bits, stored only as a SHA-256 hash) plus
//!   a refresh token that rotates on every use; presenting a rotated refresh token
//!   again revokes the whole session (RFC 9700 reuse detection), unless it comes
//!   within seconds of its rotation, when it gets the same successor (`refresh`);
//! - login throttling per account and per client address and network, counted
//!   atomically before the password is checked so parallel guesses cannot slip past
//!   it, with exponential backoff instead of a permanent lockout; trusted devices
//!   that let an account's owner sign in while others' guesses hold it in backoff
//!   (`login`, `throttle`, `devices`); and the login history;
//! - email verification and password reset by single-use links, sent as account
//!   messages through `tessera_notify` ([`IdentityService::reset_password`]);
//! - second factors: TOTP authenticator apps and one-time backup codes, and the
//!   login challenge that waits for them ([`IdentityService::complete_login`]);
//! - passkeys (WebAuthn, with webauthn-rs): signing in without a password, or as
//!   the second factor of a password login; ceremony state in a
//!   [`CeremonyStore`] ([`IdentityService::start_passkey_login`]);
//! - partner clients: OAuth 2.0 client credentials per tenant, exchanged for
//!   short-lived tokens ([`IdentityService::issue_client_token`]);
//! - personal API keys ([`IdentityService::create_api_key`]) and the account's
//!   lifecycle (deactivate, suspend, soft delete).
//!
//! Unknown emails and wrong passwords fail identically and in comparable time: an
//! unknown email is verified against a dummy hash and throttled like a real account.

mod accounts;
mod api_keys;
mod ceremony;
mod client_tokens;
mod connection;
mod convert;
mod devices;
mod endings;
mod entity;
mod lifecycle;
mod login;
mod login_history;
mod mfa;
mod model;
mod oauth;
mod passkey;
mod passkey_sign_in;
mod password;
mod password_change;
mod rate_window;
mod recovery;
mod refresh;
mod service;
mod sessions;
mod sign_in_challenge;
mod sign_up;
mod throttle;
mod token;

pub use accounts::users_in;
pub use api_keys::{API_KEY_PREFIX, ApiKey, MAX_API_KEYS};
pub use ceremony::{CeremonyFuture, CeremonyStore, DatabaseCeremonies};
pub use connection::SessionStanding;
pub use devices::{DEVICE_DAYS, DEVICE_TOKEN_PREFIX, MAX_DEVICES};
pub use endings::{EndingsFuture, SessionEndings};
pub use login::Credentials;
pub use mfa::{BACKUP_CODE_COUNT, CHALLENGE_ATTEMPTS, CHALLENGE_MINUTES};
pub use model::{
    AuthenticatedSession, Email, IssuedSession, LoginAttempt, LoginFailure, LoginFilter, LoginOutcome,
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, MfaChallenge, MfaStatus, NewUser, Passkey, PasskeyCeremony, Password,
    PasswordPolicy, RelyingParty, SecondFactor, Session, SessionPolicy, TokenPurpose, TotpEnrollment, User, UserStatus,
};
pub use oauth::{
    CLIENT_TOKEN_MINUTES, CLIENT_TOKEN_PREFIX, ClientGrant, ClientToken, MAX_CLIENTS, MAX_ROTATION_OVERLAP_MINUTES,
    OAuthClient, TokenRefusal,
};
pub use passkey::{CEREMONY_MINUTES, MAX_PASSKEYS};
pub use password::{Lane, PasswordHasher};
pub use recovery::RESET_LINKS_PER_HOUR;
pub use refresh::REFRESH_REUSE_SECS;
pub use service::IdentityService;
pub use sign_up::{SIGN_UP_EMAILS_PER_HOUR, SIGN_UP_HOURS, SIGN_UPS_PER_CLIENT_HOUR, SignUpRequested};
pub use tessera_kernel::token::AccountLinks;
pub use throttle::client_key;
pub use token::{hash_token, new_token};
