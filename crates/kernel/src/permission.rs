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
    /// Set the tenant's security policy (networks, second factor, sessions).
    PolicyManage,
    /// List the tenant's members.
    MemberRead,
    /// See providers, their hours and exceptions.
    ProviderRead,
    /// Create and change providers, their hours, exceptions and services.
    ProviderManage,
    /// Change the working hours and time off of the provider linked to you.
    ProviderManageOwn,
    /// See services and add-ons.
    ServiceRead,
    /// Create, change and delete services and add-ons.
    ServiceManage,
    /// See customers.
    CustomerRead,
    /// See your own customer profile.
    CustomerReadOwn,
    /// Create and change customers.
    CustomerManage,
    /// See bookings.
    BookingRead,
    /// See the bookings you take part in, as the customer or the provider.
    BookingReadOwn,
    /// Book appointments for any customer; see availability.
    BookingCreate,
    /// Book appointments for yourself; see availability.
    BookingCreateOwn,
    /// Reschedule, confirm, start, complete, cancel bookings and record reviews.
    BookingManage,
    /// Cancel your own bookings (as the customer).
    BookingCancelOwn,
    /// Move your own upcoming bookings (as the customer), up to the tenant's
    /// reschedule notice.
    BookingRescheduleOwn,
    /// Review your own completed bookings (as the customer).
    ReviewCreateOwn,
    /// See roles, groups and assignments, and explain anyone's access.
    RoleRead,
    /// Create, change and delete roles.
    RoleManage,
    /// Grant and revoke roles; manage groups and their members.
    RoleAssign,
    /// See the tenant's audit log and verify its hash chain.
    AuditRead,
    /// See the tenant's notification delivery log and webhook endpoints.
    NotificationRead,
    /// Manage webhook endpoints, message templates and the tenant's notification
    /// preferences.
    NotificationManage,
    /// See the business's billing details, subscription and invoices.
    BillingRead,
    /// Change the business's billing details and subscription.
    BillingManage,
    /// See what customers paid for bookings, and the daily takings.
    PaymentRead,
    /// Set the business's own payment account and what customers pay when
    /// they book.
    PaymentManage,
    /// Give customers' booking payments back, in part or whole, with a reason.
    PaymentRefund,
}

impl Permission {
    /// Every permission in the catalogue.
    pub const ALL: [Permission; 32] = [
        Self::TenantRead,
        Self::TenantManage,
        Self::TenantDelete,
        Self::PolicyManage,
        Self::MemberRead,
        Self::ProviderRead,
        Self::ProviderManage,
        Self::ProviderManageOwn,
        Self::ServiceRead,
        Self::ServiceManage,
        Self::CustomerRead,
        Self::CustomerReadOwn,
        Self::CustomerManage,
        Self::BookingRead,
        Self::BookingReadOwn,
        Self::BookingCreate,
        Self::BookingCreateOwn,
        Self::BookingManage,
        Self::BookingCancelOwn,
        Self::BookingRescheduleOwn,
        Self::ReviewCreateOwn,
        Self::RoleRead,
        Self::RoleManage,
        Self::RoleAssign,
        Self::AuditRead,
        Self::NotificationRead,
        Self::NotificationManage,
        Self::BillingRead,
        Self::BillingManage,
        Self::PaymentRead,
        Self::PaymentManage,
        Self::PaymentRefund,
    ];

    /// The `resource:action` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TenantRead => "tenant:read",
            Self::TenantManage => "tenant:manage",
            Self::TenantDelete => "tenant:delete",
            Self::PolicyManage => "policy:manage",
            Self::MemberRead => "member:read",
            Self::ProviderRead => "provider:read",
            Self::ProviderManage => "provider:manage",
            Self::ProviderManageOwn => "provider:manage_own",
            Self::ServiceRead => "service:read",
            Self::ServiceManage => "service:manage",
            Self::CustomerRead => "customer:read",
            Self::CustomerReadOwn => "customer:read_own",
            Self::CustomerManage => "customer:manage",
            Self::BookingRead => "booking:read",
            Self::BookingReadOwn => "booking:read_own",
            Self::BookingCreate => "booking:create",
            Self::BookingCreateOwn => "booking:create_own",
            Self::BookingManage => "booking:manage",
            Self::BookingCancelOwn => "booking:cancel_own",
            Self::BookingRescheduleOwn => "booking:reschedule_own",
            Self::ReviewCreateOwn => "review:create_own",
            Self::RoleRead => "role:read",
            Self::RoleManage => "role:manage",
            Self::RoleAssign => "role:assign",
            Self::AuditRead => "audit:read",
            Self::NotificationRead => "notification:read",
            Self::NotificationManage => "notification:manage",
            Self::BillingRead => "billing:read",
            Self::BillingManage => "billing:manage",
            Self::PaymentRead => "payment:read",
            Self::PaymentManage => "payment:manage",
            Self::PaymentRefund => "payment:refund",
        }
    }

    /// A one-line description for the catalogue.
    pub fn description(self) -> &'static str {
        match self {
            Self::TenantRead => "Read the tenant's profile, settings and child tenants",
            Self::TenantManage => "Change the tenant's profile, settings and feature flags",
            Self::TenantDelete => "Delete and restore the tenant",
            Self::PolicyManage => "Set the tenant's security policy: networks, second factor, sessions",
            Self::MemberRead => "List the tenant's members",
            Self::ProviderRead => "See providers, their working hours and exceptions",
            Self::ProviderManage => "Manage providers, their working hours, exceptions and services",
            Self::ProviderManageOwn => "Manage your own working hours and time off (the provider linked to you)",
            Self::ServiceRead => "See services and add-ons",
            Self::ServiceManage => "Manage services and add-ons",
            Self::CustomerRead => "See customers",
            Self::CustomerReadOwn => "See your own customer profile",
            Self::CustomerManage => "Create and change customers",
            Self::BookingRead => "See every booking",
            Self::BookingReadOwn => "See the bookings you take part in, as the customer or as the provider",
            Self::BookingCreate => "Book appointments for any customer and see availability",
            Self::BookingCreateOwn => "Book appointments for yourself and see availability",
            Self::BookingManage => "Reschedule, confirm, start, complete and cancel bookings; record reviews",
            Self::BookingCancelOwn => "Cancel your own upcoming bookings, under the cancellation policy",
            Self::BookingRescheduleOwn => "Move your own upcoming bookings, up to the business's reschedule notice",
            Self::ReviewCreateOwn => "Review your own completed bookings",
            Self::RoleRead => "See roles, groups and assignments, and explain anyone's access",
            Self::RoleManage => "Create, change and delete roles",
            Self::RoleAssign => "Grant and revoke roles; manage groups and their members",
            Self::AuditRead => "See the tenant's audit log and verify its hash chain",
            Self::NotificationRead => "See the notification delivery log and webhook endpoints",
            Self::NotificationManage => "Manage webhook endpoints, message templates and notification preferences",
            Self::BillingRead => "See the business's billing details, subscription and invoices",
            Self::BillingManage => "Change the business's billing details and subscription",
            Self::PaymentRead => "See what customers paid for bookings, and the daily takings",
            Self::PaymentManage => "Set the business's payment account and what customers pay when they book",
            Self::PaymentRefund => "Give customers' booking payments back, in part or whole, with a reason",
        }
    }

    /// The permissions holding this one includes. Managing a thing includes
    /// seeing it: nobody manages what they cannot see, so a role (or a client
    /// scope) naming `booking:manage` also reads bookings.
    pub fn implies(self) -> &'static [Permission] {
        match self {
            Self::TenantManage | Self::TenantDelete | Self::PolicyManage => &[Self::TenantRead],
            Self::ProviderManage => &[Self::ProviderRead],
            Self::ServiceManage => &[Self::ServiceRead],
            Self::CustomerManage => &[Self::CustomerRead],
            Self::BookingManage => &[Self::BookingRead],
            Self::RoleManage | Self::RoleAssign => &[Self::RoleRead],
            Self::NotificationManage => &[Self::NotificationRead],
            Self::BillingManage => &[Self::BillingRead],
            Self::PaymentManage | Self::PaymentRefund => &[Self::PaymentRead],
            _ => &[],
        }
    }

    /// Whether the permission only reads.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Self::TenantRead
                | Self::MemberRead
                | Self::ProviderRead
                | Self::ServiceRead
                | Self::CustomerRead
                | Self::CustomerReadOwn
                | Self::BookingRead
                | Self::BookingReadOwn
                | Self::RoleRead
                | Self::AuditRead
                | Self::NotificationRead
                | Self::BillingRead
                | Self::PaymentRead
        )
    }
}

impl std::str::FromStr for Permission {
    type Err = crate::DomainError;

    /// Parses a `resource:action` name from the catalogue.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| crate::DomainError::invalid("permission", format!("`{name}` is not in the catalogue")))
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

    /// Whether every permission of `other` is held.
    pub fn is_superset(&self, other: &PermissionSet) -> bool {
        self.0.is_superset(&other.0)
    }

    /// The permissions of `other` that are not held.
    pub fn missing_from(&self, other: &PermissionSet) -> PermissionSet {
        Self(other.0.difference(&self.0).copied().collect())
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0.insert(permission);
    }

    /// Adds every permission of `other`.
    pub fn extend(&mut self, other: &PermissionSet) {
        self.0.extend(other.0.iter().copied());
    }

    /// Whether no permission is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These permissions and every one they imply ([`Permission::implies`]).
    pub fn with_implied(mut self) -> Self {
        let implied: Vec<Permission> = self.0.iter().flat_map(|p| p.implies()).copied().collect();
        self.0.extend(implied);
        self
    }

    /// Keeps only the permissions `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Permission) -> bool) {
        self.0.retain(keep);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manage_permission_includes_reading_what_it_manages() {
        for permission in Permission::ALL {
            let (resource, action) = permission.name().split_once(':').unwrap();
            if action != "manage" {
                continue;
            }
            let read: Permission = format!("{resource}:read").parse().unwrap_or(Permission::TenantRead);
            let held = PermissionSet::from_iter([permission]).with_implied();
            assert!(held.contains(read), "{permission} does not include {read}");
        }
    }

    #[test]
    fn implied_permissions_are_reads_and_imply_nothing_further() {
        for permission in Permission::ALL {
            for implied in permission.implies() {
                assert!(implied.is_read(), "{permission} implies {implied}, which is not a read");
                assert!(implied.implies().is_empty(), "{implied} implies more: one pass is the whole closure");
            }
        }
    }
}
