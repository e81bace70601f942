//! The domain services and the event plumbing, built once by [`crate::App`] and
//! shared by everything that serves a request: resolvers, flows, the HTTP
//! endpoints, the WebSocket handler and the background tasks.

use std::sync::Arc;
use tessera_audit::AuditService;
use tessera_billing::BillingService;
use tessera_identity::IdentityService;
use tessera_kernel::SharedClock;

use tessera_ledger::{UsageHooks, UsageService};
use tessera_notify::{DeliveryWorker, NotifyService};
use tessera_rbac::RbacService;
use tessera_scheduling::SchedulingService;
use tessera_tenant::TenantService;

use crate::events::{EventBus, RelayHandle};

/// The domain services and the event plumbing.
#[derive(Debug, Clone)]
pub struct Services {
    /// Tenants and memberships.
    pub tenants: TenantService,
    /// Users and sessions.
    pub identity: IdentityService,
    /// Roles, groups, assignments and the resolution of effective permissions.
    pub rbac: RbacService,
    /// The tenants' audit logs.
    pub audit: AuditService,
    /// Providers, services, customers, availability and bookings.
    pub scheduling: SchedulingService,
    /// Inboxes, the delivery log and webhook endpoints.
    pub notify: NotifyService,
    /// Tier limits and usage.
    pub usage: UsageService,
    /// Plans, billing details and subscriptions.
    pub billing: BillingService,
    /// What the ledger asks of the gateway inside a using transaction.
    pub usage_hooks: Arc<dyn UsageHooks>,
    /// Sends queued notifications (run in the background, or by hand in tests).
    pub deliveries: DeliveryWorker,
    /// Where published events arrive.
    pub bus: EventBus,
    /// Wakes the outbox relay after a write.
    pub relay: RelayHandle,
    /// The server's clock.
    pub clock: SharedClock,
    /// Where the gateway is reached from outside (`TESSERA_PUBLIC_URL`): the
    /// base of the URLs it hands out.
    pub public_url: String,
}
