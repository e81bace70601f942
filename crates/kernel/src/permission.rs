//! The closed catalogue of permissions.
//!
//! A permission is a resource and an action (`tenant:manage`). The catalogue is
//! defined once, here, so guards in the API and checks in services name the same
//! thing. Which permissions an actor holds in a tenant is resolved per request and
//! carried in the [`RequestContext`](crate::RequestContext).

use std::collections::BTreeSet;
use std::fmt;

/// One thing an actor may do in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read the tenant's profile, settings and children.
    TenantRead,
    /// Change the tenant's profile, settings and feature flags; create child tenants.
    TenantManage,
    /// Soft-delete and restore the tenant.
    TenantDelete,
    /// List the tenant's members.
    MemberRead,
}

impl Permission {
    /// Every permission in the catalogue.
    pub const ALL: [Permission; 4] = [Self::TenantRead, Self::TenantManage, Self::TenantDelete, Self::MemberRead];

    /// The `resource:action` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TenantRead => "tenant:read",
            Self::TenantManage => "tenant:manage",
            Self::TenantDelete => "tenant:delete",
            Self::MemberRead => "member:read",
        }
    }

    /// A one-line description for the catalogue.
    pub fn description(self) -> &'static str {
        match self {
            Self::TenantRead => "Read the tenant's profile, settings and child tenants",
            Self::TenantManage => "Change the tenant's profile, settings and feature flags",
            Self::TenantDelete => "Delete and restore the tenant",
            Self::MemberRead => "List the tenant's members",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The permissions an actor holds in the request's tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    /// No permissions.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Whether `permission` is held.
    pub fn contains(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    /// The held permissions, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}
