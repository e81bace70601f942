//! Opaque tokens: 256 random bits, shown once, stored only as a SHA-256 hash.
//!
//! A fast hash is right here (unlike passwords): the token has full entropy, so
//! nothing can be guessed from its hash, and lookups by hash are an index probe.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new token: `prefix` (so a leaked token's kind is recognisable, e.g. by secret
/// scanners) followed by 32 random bytes in base64url.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    // rand's thread RNG is a CSPRNG seeded from the operating system.
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of `token`, as stored.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token)
}

/// The SHA-256 of `text` in lower-case hexadecimal.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where links in emails point: the app that shows the page for each
/// (`{base}/verify-email#token=…`, `{base}/accept-invitation#token=…`). The token
/// travels in the fragment, which browsers never send to servers or in
/// `Referer`, so it stays out of access logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLinks {
    base: String,
}

impl AccountLinks {
    /// Links under `base` (`https://app.example.com`).
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_owned() }
    }

    /// The link to the page at `path` carrying `token`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}/{path}#token={token}", self.base)
    }
}

impl Default for AccountLinks {
    fn default() -> Self {
        Self::new("http://localhost:8080")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_prefix_and_256_bits() {
        let token = new_token("tsa_");
        let body = token.strip_prefix("tsa_").unwrap_or_default();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).map(|b| b.len()).ok(), Some(32));
        assert_ne!(new_token("tsa_"), token);
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
