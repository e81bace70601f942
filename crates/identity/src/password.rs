//! Password hashing: argon2id on a bounded pool of blocking threads.
//!
//! One hash at OWASP's minimum cost (19 MiB, t=2, p=1) takes ~50 ms of a core. Run
//! on the async executor, a burst of logins would stall every other request; so
//! hashing runs on blocking threads, at most `concurrency` at a time, and a caller
//! that cannot get a slot within `queue_timeout` is told to retry instead of piling
//! up.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tessera_kernel::{DomainError, Result};
use tokio::sync::{OnceCell, Semaphore};

use crate::model::Password;

/// Hashes and verifies passwords off the async executor.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    dummy_hash: Arc<OnceCell<String>>,
}

fn argon2() -> Result<Argon2<'static>> {
    // OWASP Password Storage Cheat Sheet minimum for argon2id.
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| DomainError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize, queue_timeout: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_timeout,
            dummy_hash: Arc::new(OnceCell::new()),
        }
    }

    /// A hasher sized for this machine: half the cores, so hashing never takes all
    /// of them from request handling.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self::new((cores / 2).max(1), Duration::from_secs(10))
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _slot = tokio::time::timeout(self.queue_timeout, self.slots.acquire())
            .await
            .map_err(|_| DomainError::RateLimited { retry_after_secs: 1 })?
            .map_err(|_| DomainError::Internal("password hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| DomainError::Internal(format!("password hashing task failed: {e}")))?
    }

    /// Hashes `password` into a PHC string (algorithm, parameters and salt included).
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.expose().to_owned();
        self.run(move || {
            let mut salt_bytes = [0u8; 16];
            rand::fill(&mut salt_bytes);
            let salt =
                SaltString::encode_b64(&salt_bytes).map_err(|e| DomainError::Internal(format!("argon2 salt: {e}")))?;
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| DomainError::Internal(format!("argon2 hash: {e}")))
        })
        .await
    }

    /// Whether `password` matches `phc_hash`.
    pub async fn verify(&self, password: &Password, phc_hash: &str) -> Result<bool> {
        let password = password.expose().to_owned();
        let phc_hash = phc_hash.to_owned();
        self.run(move || {
            let parsed = PasswordHash::new(&phc_hash)
                .map_err(|e| DomainError::Internal(format!("stored password hash is unreadable: {e}")))?;
            Ok(argon2()?.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }

    /// Spends the time of one verification without a real account, so an unknown
    /// email takes as long to refuse as a wrong password.
    pub async fn verify_dummy(&self, password: &Password) -> Result<()> {
        let dummy = self
            .dummy_hash
            .get_or_try_init(|| async {
                let placeholder = Password::presented("tessera dummy password for timing")?;
                self.hash(&placeholder).await
            })
            .await?
            .clone();
        self.verify(password, &dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(1, Duration::from_secs(30));
        let password = Password::presented("correct horse battery staple").expect("bounded");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&password, &hash).await.expect("verify"));
        let wrong = Password::presented("correct horse battery stapler").expect("bounded");
        assert!(!hasher.verify(&wrong, &hash).await.expect("verify"));
    }
}
