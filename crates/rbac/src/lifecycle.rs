//! The hook that gives every new tenant its built-in roles and its owner.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;
use tessera_ledger::UsageHooks;
use tessera_tenant::{BoxFuture, CreatedTenant, TenantLifecycle};

use crate::roles::install_builtin_roles;

/// Installs the built-in roles in each new tenant and assigns the owner role to its
/// creator, in the transaction that creates the tenant: a tenant never exists
/// without them. The owner's staff seat is counted there too.
#[derive(Debug, Clone)]
pub struct RbacLifecycle {
    usage: Arc<dyn UsageHooks>,
}

impl RbacLifecycle {
    /// The hook, counting the owner's seat through `usage`.
    pub fn new(usage: Arc<dyn UsageHooks>) -> Self {
        Self { usage }
    }
}

impl TenantLifecycle for RbacLifecycle {
    fn tenant_created<'a>(&'a self, txn: &'a DatabaseTransaction, created: &'a CreatedTenant) -> BoxFuture<'a> {
        Box::pin(async move {
            install_builtin_roles(txn, created.tenant.id, created.owner, created.at).await?;
            crate::seats::settle(txn, &*self.usage, &created.tenant, created.at).await
        })
    }
}
