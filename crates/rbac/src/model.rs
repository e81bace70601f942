//! The domain types of access control.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{
    AssignmentId, DomainError, GroupId, GroupMemberId, Permission, PermissionSet, Resource, Result, RoleId, TenantId,
    UserId,
};

/// The roles every tenant has from its creation. Their permissions are defined here,
/// in code, and cannot be taken away from them; owners may add more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum BuiltinRole {
    /// Runs the business: every permission.
    #[sea_orm(string_value = "owner")]
    Owner,
    /// Manages the business: everything but deleting the tenant.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Works in the business.
    #[sea_orm(string_value = "staff")]
    Staff,
    /// Books appointments.
    #[sea_orm(string_value = "customer")]
    Customer,
}

impl BuiltinRole {
    /// Every built-in role, strongest first.
    pub const ALL: [BuiltinRole; 4] = [Self::Owner, Self::Admin, Self::Staff, Self::Customer];

    /// The stable key (`owner`, `admin`, `staff`, `customer`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Customer => "customer",
        }
    }

    /// The name a new tenant's role starts with.
    pub fn default_name(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Staff => "Staff",
            Self::Customer => "Customer",
        }
    }

    /// The description a new tenant's role starts with.
    pub fn default_description(self) -> &'static str {
        match self {
            Self::Owner => "Runs the business: every permission, including deleting the tenant",
            Self::Admin => "Manages the business day to day: everything but deleting the tenant",
            Self::Staff => {
                "Works in the business: sees the catalogue and customers, books appointments, keeps their own \
                 hours and sees their own bookings"
            }
            Self::Customer => "Books, sees, moves, cancels and reviews their own appointments",
        }
    }

    /// The permissions the role always has.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            Self::Owner => Permission::ALL.into_iter().collect(),
            // Deleting the business, setting the rules its owners sign in
            // under, what it pays and where its customers' money goes stay
            // with its owners.
            Self::Admin => Permission::ALL
                .into_iter()
                .filter(|p| !matches!(p, TenantDelete | PolicyManage | BillingManage | PaymentManage))
                .collect(),
            // Staff see their own calendar; a receptionist's role adds `booking:read`.
            Self::Staff => [
                TenantRead,
                MemberRead,
                ProviderRead,
                ProviderManageOwn,
                ServiceRead,
                CustomerRead,
                BookingReadOwn,
                BookingCreate,
            ]
            .into_iter()
            .collect(),
            Self::Customer => [
                TenantRead,
                ProviderRead,
                ServiceRead,
                CustomerReadOwn,
                BookingReadOwn,
                BookingCreateOwn,
                BookingCancelOwn,
                BookingRescheduleOwn,
                ReviewCreateOwn,
            ]
            .into_iter()
            .collect(),
        }
    }
}

/// Where an assignment applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessScope {
    /// Everywhere in the tenant.
    Tenant,
    /// On one resource only.
    Resource(Resource),
}

impl AccessScope {
    /// Whether an assignment with this scope applies to a question about
    /// `resource` (`None`: the tenant as a whole).
    pub fn covers(self, resource: Option<Resource>) -> bool {
        match (self, resource) {
            (Self::Tenant, _) => true,
            (Self::Resource(own), Some(asked)) => own == asked,
            (Self::Resource(_), None) => false,
        }
    }
}

/// How an assignment's scope is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub(crate) enum ScopeType {
    #[sea_orm(string_value = "tenant")]
    Tenant,
    #[sea_orm(string_value = "provider")]
    Provider,
}

/// Who an assignment grants a role to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One user.
    User(UserId),
    /// Every current member of a group.
    Group(GroupId),
}

/// A role of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role.
    pub id: RoleId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Which built-in role it is, if any.
    pub builtin: Option<BuiltinRole>,
    /// Its name, unique in the tenant.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The role it inherits permissions from.
    pub parent_id: Option<RoleId>,
    /// Whether new members get it when no role is named.
    pub is_default: bool,
    /// The permissions the role itself grants (not counting its parents).
    pub permissions: PermissionSet,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was deleted; deleted roles grant nothing and stay for history.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A new role.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    /// The name, unique in the tenant.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The role to inherit from.
    pub parent_id: Option<RoleId>,
    /// The permissions it grants itself.
    pub permissions: Vec<Permission>,
    /// Whether new members get it by default.
    pub is_default: bool,
}

/// Changes to a role; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    /// A new name.
    pub name: Option<String>,
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// A new parent (`Some(None)` removes it).
    pub parent_id: Option<Option<RoleId>>,
    /// The complete new set of the role's own permissions.
    pub permissions: Option<Vec<Permission>>,
    /// Whether new members get it by default.
    pub is_default: Option<bool>,
}

/// A group of users in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group.
    pub id: GroupId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its name, unique in the tenant.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was deleted; its assignments stop granting then.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A new group, or a group's new name and description.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    /// The name, unique in the tenant.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
}

/// A change to a group: `None` leaves a field as it is, `Some(None)` clears the
/// description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatch {
    /// A new name, unique in the tenant.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<Option<String>>,
}

/// A user's time in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The membership.
    pub id: GroupMemberId,
    /// The group.
    pub group_id: GroupId,
    /// The user.
    pub user_id: UserId,
    /// When they were added.
    pub added_at: DateTime<Utc>,
    /// Who added them (`None`: the system).
    pub added_by: Option<UserId>,
    /// When they were removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// Who removed them.
    pub removed_by: Option<UserId>,
}

impl GroupMember {
    /// Whether the user was in the group at `at`.
    pub fn is_member_at(&self, at: DateTime<Utc>) -> bool {
        self.added_at <= at && self.removed_at.is_none_or(|removed| removed > at)
    }
}

/// A role granted to a user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The assignment.
    pub id: AssignmentId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The role granted.
    pub role_id: RoleId,
    /// Who it is granted to.
    pub subject: Subject,
    /// Where it applies.
    pub scope: AccessScope,
    /// Who granted it (`None`: the system, e.g. at tenant creation).
    pub granted_by: Option<UserId>,
    /// When.
    pub granted_at: DateTime<Utc>,
    /// When it stops granting by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<UserId>,
}

/// Whether an assignment grants anything at an instant, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentState {
    /// It grants its role.
    Active,
    /// It was granted later.
    NotYetGranted,
    /// It had expired.
    Expired,
    /// It had been revoked.
    Revoked,
}

impl Assignment {
    /// The assignment's own state at `at` (before looking at groups and roles).
    pub fn state_at(&self, at: DateTime<Utc>) -> AssignmentState {
        if self.granted_at > at {
            AssignmentState::NotYetGranted
        } else if self.revoked_at.is_some_and(|revoked| revoked <= at) {
            AssignmentState::Revoked
        } else if self.expires_at.is_some_and(|expires| expires <= at) {
            AssignmentState::Expired
        } else {
            AssignmentState::Active
        }
    }
}

/// A role to grant.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The role.
    pub role_id: RoleId,
    /// To whom.
    pub subject: Subject,
    /// Where it applies.
    pub scope: AccessScope,
    /// When it stops granting by itself.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewAssignment {
    /// `role_id` for `subject` everywhere in the tenant, without expiry.
    pub fn tenant_wide(role_id: RoleId, subject: Subject) -> Self {
        Self { role_id, subject, scope: AccessScope::Tenant, expires_at: None }
    }
}

/// Which assignments to list.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    /// Only those of this user (directly; group grants are listed under the group).
    pub user_id: Option<UserId>,
    /// Only those of this group.
    pub group_id: Option<GroupId>,
    /// Only those of this role.
    pub role_id: Option<RoleId>,
    /// Also revoked and expired ones (history).
    pub include_inactive: bool,
}

/// Why one assignment does or does not give a permission, at the instant asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    /// It grants the permission.
    Grants,
    /// It was granted after the instant.
    NotYetGranted,
    /// It had expired.
    Expired,
    /// It had been revoked.
    Revoked,
    /// It is limited to another resource (or to one resource, when the question is
    /// about the whole tenant).
    OutOfScope,
    /// It is a group's, and the user was not in the group then.
    NotInGroup,
    /// It is a group's, and the group had been deleted.
    GroupDeleted,
    /// Its role had been deleted.
    RoleDeleted,
}

/// One assignment whose role (or an ancestor of it) holds the permission asked about.
#[derive(Debug, Clone)]
pub struct GrantPath {
    /// The assignment.
    pub assignment: Assignment,
    /// The group it reaches the user through, if any.
    pub group: Option<Group>,
    /// From the assigned role up its parents to the role that holds the permission.
    pub roles: Vec<Role>,
    /// Whether it gives the permission at the instant asked about.
    pub status: GrantStatus,
}

/// The answer to "may this user do this, here, at that time?".
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The answer.
    pub allowed: bool,
    /// The user asked about.
    pub user_id: UserId,
    /// The permission asked about.
    pub permission: Permission,
    /// The resource asked about (`None`: the tenant as a whole).
    pub resource: Option<Resource>,
    /// The instant asked about.
    pub at: DateTime<Utc>,
    /// Whether the user belongs to the tenant now.
    pub member: bool,
    /// Whether the tenant's status (suspended, pending deletion) withholds the
    /// permission from everyone, whatever the grants say.
    pub withheld_by_tenant_status: bool,
    /// Every assignment that holds the permission, with whether it applies.
    pub paths: Vec<GrantPath>,
    /// For a user who does not belong to the tenant, whether the tenant's parent
    /// lets them in: `None` when the user is a member or the tenant has no parent.
    pub through_parent: Option<ParentAccess>,
}

/// How an owner of the parent tenant reaches a child tenant: as an admin, when the
/// child allows its parent to manage it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentAccess {
    /// The parent tenant.
    pub parent_tenant_id: TenantId,
    /// Whether the tenant lets its parent's owners manage it (now: the setting
    /// keeps no history).
    pub allowed_by_tenant: bool,
    /// Whether the user owned the parent tenant at the instant asked about.
    pub owner_of_parent: bool,
    /// Whether this route gives the permission: allowed, owner, and the permission
    /// among the built-in admin role's.
    pub grants: bool,
}

/// Validates a role or group name: 1 to 100 characters after trimming.
pub(crate) fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters long"));
    }
    Ok(name.to_owned())
}

/// Validates a description: at most 1,000 characters; blank means none.
pub(crate) fn parse_description(raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > 1000 => {
            Err(DomainError::invalid("description", "must be at most 1000 characters long"))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}
