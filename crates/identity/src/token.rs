//! The prefixes of identity's tokens; the tokens themselves are
//! [`tessera_kernel::token`]'s: 256 random bits, stored only as a SHA-256 hash.

pub use tessera_kernel::token::{hash_token, new_token};

/// Prefix of access (session) tokens.
pub(crate) const ACCESS_PREFIX: &str = "tsa_";
/// Prefix of refresh tokens.
pub(crate) const REFRESH_PREFIX: &str = "tsr_";
