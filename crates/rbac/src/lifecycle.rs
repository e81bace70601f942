//! The hook that gives every new tenant its built-in roles and its owner.

use sea_orm::DatabaseTransaction;
use tessera_tenant::{BoxFuture, CreatedTenant, TenantLifecycle};

use crate::roles::install_builtin_roles;

/// Installs the built-in roles in each new tenant and assigns the owner role to its
/// creator, in the transaction that creates the tenant: a tenant never exists
/// without them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RbacLifecycle;

impl TenantLifecycle for RbacLifecycle {
    fn tenant_created<'a>(&'a self, txn: &'a DatabaseTransaction, created: &'a CreatedTenant) -> BoxFuture<'a> {
        Box::pin(install_builtin_roles(txn, created.tenant.id, created.owner, created.at))
    }
}
