//! The scheduling service and what its catalogue and booking halves share.

use std::sync::Arc;

use sea_orm::DbErr;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::txn::Txn;
use tessera_kernel::{Db, DomainError, Permission, ProviderId, RequestContext, Resource, Result};
use tessera_ledger::UsageHooks;

/// Providers, services, customers, availability and bookings of the request's tenant.
#[derive(Debug, Clone)]
pub struct SchedulingService {
    pub(crate) db: Db,
    /// Who hears when a use reaches a usage alert's threshold.
    pub(crate) usage_notices: Arc<dyn UsageHooks>,
}

impl SchedulingService {
    /// A service over `db`; `usage_notices` tells people when a booking or a
    /// provider reaches a usage alert's threshold, in the change's transaction.
    pub fn new(db: Db, usage_notices: Arc<dyn UsageHooks>) -> Self {
        Self { db, usage_notices }
    }

    /// Checks `permission` and opens a transaction in the request's tenant.
    pub(crate) async fn open(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        access: Access,
    ) -> Result<(Authorized, Txn)> {
        self.db.begin_authorized(ctx, permission, access).await
    }
}

impl SchedulingService {
    /// Checks `permission` on one provider (tenant-wide, or granted on that provider
    /// alone) and opens a transaction in the request's tenant.
    pub(crate) async fn open_on_provider(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        provider_id: ProviderId,
        access: Access,
    ) -> Result<(Authorized, Txn)> {
        self.db.begin_authorized_on(ctx, permission, Resource::Provider(provider_id), access).await
    }
}

/// Whether `err` is the database refusing overlapping bookings (the PostgreSQL
/// exclusion constraint or the SQLite trigger, both named `bookings_no_overlap`).
pub(crate) fn is_overlap(err: &DbErr) -> bool {
    err.to_string().contains("bookings_no_overlap")
}

/// Maps a booking write's error: an overlap becomes a helpful `CONFLICT`.
pub(crate) fn booking_write_error(err: DbErr) -> DomainError {
    if is_overlap(&err) {
        DomainError::Conflict(
            "the provider is already booked at that time (buffers included); choose another slot".into(),
        )
    } else if err.to_string().contains("booking_resources_no_overlap") {
        DomainError::Conflict("the resource the service needs is taken then; choose another slot".into())
    } else {
        DomainError::from(err)
    }
}

/// `NOT_FOUND` for `entity`.
pub(crate) fn not_found(entity: &'static str) -> DomainError {
    DomainError::NotFound { entity }
}
