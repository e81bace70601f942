//! Telling the rest of the system, once a change has committed, which sessions
//! it ended: whatever runs on them (live subscriptions, on every replica) must
//! stop at once rather than at its next periodic check.
//!
//! Every way a session ends goes through [`IdentityService::sessions_ended`]
//! right after its transaction commits (sign-out, revoking a device, a password
//! change or reset, a reused refresh token, the session limit, revoking an API
//! key or a partner client, closing or suspending an account), so no caller
//! has to remember to announce it. The gateway installs the announcer that
//! publishes on its event bus; a service without one (a test, a one-off
//! command with no subscribers of its own) tells nobody.
//!
//! [`IdentityService::sessions_ended`]: crate::IdentityService

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tessera_kernel::SessionId;

/// A boxed future, for the object-safe [`SessionEndings`].
pub type EndingsFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Told of sessions that ended, after the change that ended them committed.
/// Ids of API keys and partner clients are sessions here too: a credential that
/// stops authenticating ends whatever runs on it.
pub trait SessionEndings: Send + Sync + fmt::Debug {
    /// `sessions` ended; tell whatever runs on them. Failing to tell is the
    /// announcer's to log: the change stands, and the periodic check catches up.
    fn ended<'a>(&'a self, sessions: &'a [SessionId]) -> EndingsFuture<'a>;
}
