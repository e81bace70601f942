//! SeaORM entities of the identity crate. Crate-private: services return domain types.

pub(crate) mod account_token;
pub(crate) mod api_key;
pub(crate) mod backup_code;
pub(crate) mod login_history;
pub(crate) mod login_throttle;
pub(crate) mod mfa_challenge;
pub(crate) mod oauth_client;
pub(crate) mod oauth_token;
pub(crate) mod passkey;
pub(crate) mod password_history;
pub(crate) mod pending_sign_up;
pub(crate) mod platform_secret;
pub(crate) mod rate_window;
pub(crate) mod refresh_token;
pub(crate) mod session;
pub(crate) mod totp_credential;
pub(crate) mod trusted_device;
pub(crate) mod user;
pub(crate) mod webauthn_ceremony;
