//! How many operations one account runs at once over this gateway's WebSockets.
//!
//! Each running operation (a subscription, or a query still answering) holds an
//! [`OperationPermit`]; dropping it, when the operation ends or its socket
//! closes, gives the place back. A socket's own cap is simply the size of its
//! operation table (`ws.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tessera_kernel::UserId;

/// Running WebSocket operations per account, shared by every socket of a gateway.
#[derive(Debug, Clone, Default)]
pub struct OperationCounter {
    running: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl OperationCounter {
    /// A place for one more operation of `user`, unless they already run `max`.
    pub(crate) fn acquire(&self, user: UserId, max: usize) -> Option<OperationPermit> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let count = running.entry(user).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(OperationPermit { counter: self.clone(), user })
    }

    /// How many operations `user` runs now.
    pub fn running(&self, user: UserId) -> usize {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).get(&user).copied().unwrap_or(0)
    }
}

/// One running operation's place; given back when dropped.
#[derive(Debug)]
pub(crate) struct OperationPermit {
    counter: OperationCounter,
    user: UserId,
}

impl Drop for OperationPermit {
    fn drop(&mut self) {
        let mut running = self.counter.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}
