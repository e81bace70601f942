//! Password hashing: argon2id on a bounded pool of blocking threads.
//!
//! One hash at OWASP's minimum cost (19 MiB, t=2, p=1) takes ~50 ms of a core. Run
//! on the async executor, a burst of logins would stall every other request; so
//! hashing runs on blocking threads, at most `concurrency` at a time (half the
//! cores by default). Work beyond that waits in a short queue, and work that
//! finds the queue full is refused at once with `RATE_LIMITED` instead of piling
//! up behind a flood: a queue of `queue` hashes waits at most about
//! `queue / concurrency` hash times.
//!
//! Logins from a trusted device (see `crate::devices`) have a queue of their
//! own, so a flood of anonymous logins cannot refuse the owner's device; they
//! still wait for a thread in arrival order.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tessera_kernel::{DomainError, Result};
use tokio::sync::{OnceCell, Semaphore};

use crate::model::Password;

/// Which queue a piece of hashing waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Sign-ups, unknown devices, password changes.
    Anyone,
    /// A login presenting a trusted device of its account.
    KnownDevice,
}

/// Hashes and verifies passwords off the async executor.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    threads: Arc<Semaphore>,
    anyone: Arc<Semaphore>,
    known_devices: Arc<Semaphore>,
    dummy_hash: Arc<OnceCell<String>>,
}

fn argon2() -> Result<Argon2<'static>> {
    // OWASP Password Storage Cheat Sheet minimum for argon2id.
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| DomainError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once, with up to `queue`
    /// more waiting in each lane.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            threads: Arc::new(Semaphore::new(concurrency)),
            anyone: Arc::new(Semaphore::new(concurrency + queue)),
            known_devices: Arc::new(Semaphore::new(concurrency + queue)),
            dummy_hash: Arc::new(OnceCell::new()),
        }
    }

    /// A hasher sized for this machine: half the cores, so hashing never takes all
    /// of them from request handling, and a queue of four hashes per thread.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let threads = (cores / 2).max(1);
        Self::new(threads, threads * 4)
    }

    async fn run<T: Send + 'static>(&self, lane: Lane, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let queue = match lane {
            Lane::Anyone => &self.anyone,
            Lane::KnownDevice => &self.known_devices,
        };
        let _admitted = queue.try_acquire().map_err(|_| DomainError::RateLimited { retry_after_secs: 1 })?;
        let thread = self
            .threads
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DomainError::Internal("password hasher closed".into()))?;
        // The thread's permit goes with the work: a caller that gives up does not
        // free a thread that is still hashing.
        tokio::task::spawn_blocking(move || {
            let _thread = thread;
            work()
        })
        .await
        .map_err(|e| DomainError::Internal(format!("password hashing task failed: {e}")))?
    }

    /// Hashes `password` into a PHC string (algorithm, parameters and salt included).
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.expose().to_owned();
        self.run(Lane::Anyone, move || {
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

    /// Whether `password` matches `phc_hash`, waiting in `lane`.
    pub async fn verify(&self, password: &Password, phc_hash: &str, lane: Lane) -> Result<bool> {
        let password = password.expose().to_owned();
        let phc_hash = phc_hash.to_owned();
        self.run(lane, move || {
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
        self.verify(password, &dummy, Lane::Anyone).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(1, 1);
        let password = Password::presented("correct horse battery staple").expect("bounded");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&password, &hash, Lane::Anyone).await.expect("verify"));
        let wrong = Password::presented("correct horse battery stapler").expect("bounded");
        assert!(!hasher.verify(&wrong, &hash, Lane::Anyone).await.expect("verify"));
    }

    #[tokio::test]
    async fn work_beyond_the_queue_is_refused_at_once_but_a_known_device_still_waits_its_turn() {
        let hasher = PasswordHasher::new(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(Lane::Anyone, move || {
                        let _ = started.send(());
                        let _ = hold.recv();
                        Ok(())
                    })
                    .await
            })
        };
        running.await.expect("the first hash runs");
        let queued = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.run(Lane::Anyone, || Ok(())).await })
        };
        let known = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.run(Lane::KnownDevice, || Ok(())).await })
        };
        // The thread and the one queue place are taken: the next is refused.
        while hasher.anyone.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.run(Lane::Anyone, || Ok(())).await;
        assert!(matches!(refused, Err(DomainError::RateLimited { retry_after_secs: 1 })), "{refused:?}");
        release.send(()).expect("release the first hash");
        busy.await.expect("joins").expect("the first hash ends");
        queued.await.expect("joins").expect("the queued hash runs");
        known.await.expect("joins").expect("the known device's hash runs");
    }
}
