//! Use cases that need more than one domain service, each a plain function that
//! reads top to bottom: what it asks of which service, in order, and why.
//!
//! A resolver (or an HTTP endpoint, or the command line) parses its input, calls
//! one flow or one service method, and shapes the answer; it never strings
//! services together itself. The domain crates cannot call each other upwards
//! (`tenant` knows nothing of `rbac`'s roles, `rbac` nothing of `scheduling`'s
//! providers), so this is where their answers meet. Work after commit is not a
//! flow's business either: the identity service announces the sessions it ended,
//! and the schema's `AfterMutation` extension wakes the outbox relay.
//!
//! - `invitations`: inviting and re-inviting (the inviter's name on the
//!   email), accepting as the signed-in user, signing up with an invitation;
//! - `roles`: granting a role tenant-wide or on one provider of the tenant;
//! - `sign_in`: what follows every way of signing in (the tenants' session limit);
//! - `accounts`: closing one's own account, never a business's last owner;
//! - `bookings`: who a booking is for when the caller books for themselves;
//! - `staff_activity`: the logins and security events of a tenant's staff;
//! - `usage_notices`: telling a business's owners (and its webhooks) that it
//!   reached a usage alert's threshold, inside the using transaction.

pub(crate) mod accounts;
pub(crate) mod billing_notices;
pub(crate) mod bookings;
pub(crate) mod invitations;
pub(crate) mod roles;
pub(crate) mod sign_in;
pub(crate) mod staff_activity;
pub(crate) mod usage_notices;
