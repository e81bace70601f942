//! Effective permissions, computed in memory from what the database holds about one
//! user in one tenant: the tenant's roles, the user's assignments (direct and
//! through groups), and their group memberships. Pure, so every rule (parents,
//! scope, expiry, revocation, group membership over time) is unit-tested here, and
//! the same code answers "what may they do now?" and "why, as of then?".

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tessera_kernel::{GroupId, Permission, PermissionSet, Resource, RoleId};

use crate::model::{
    AccessScope, Assignment, AssignmentState, BuiltinRole, GrantPath, GrantStatus, Group, GroupMember, Role, Subject,
};

/// What the resolution works from.
#[derive(Debug, Default)]
pub(crate) struct AccessFacts {
    /// Every role of the tenant, deleted ones included (for history).
    pub(crate) roles: HashMap<RoleId, Role>,
    /// The user's assignments and those of every group they were ever in.
    pub(crate) assignments: Vec<Assignment>,
    /// The user's group memberships, past and present.
    pub(crate) memberships: Vec<GroupMember>,
    /// The groups those memberships are in.
    pub(crate) groups: HashMap<GroupId, Group>,
}

/// What a user may do in a tenant: everywhere, and on single resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Effective {
    pub(crate) tenant_wide: PermissionSet,
    pub(crate) on_resources: BTreeMap<Resource, PermissionSet>,
}

impl AccessFacts {
    /// The role and its ancestors, nearest first. A cycle (which writes refuse) or
    /// a missing parent ends the walk instead of looping.
    pub(crate) fn chain(&self, role_id: RoleId) -> Vec<&Role> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(role_id);
        while let Some(id) = next {
            if !seen.insert(id) {
                break;
            }
            let Some(role) = self.roles.get(&id) else { break };
            chain.push(role);
            next = role.parent_id;
        }
        chain
    }

    /// Every permission the role grants: its parents' included, and what each
    /// implies (managing includes reading).
    pub(crate) fn role_permissions(&self, role_id: RoleId) -> PermissionSet {
        let mut all = PermissionSet::empty();
        for role in self.chain(role_id) {
            all.extend(&role.permissions);
        }
        all.with_implied()
    }

    /// Why `assignment` does or does not apply to a question about `resource` at
    /// `at`, before looking at whether its role holds the permission.
    fn status(&self, assignment: &Assignment, resource: Option<Resource>, at: DateTime<Utc>) -> GrantStatus {
        match assignment.state_at(at) {
            AssignmentState::Active => {}
            AssignmentState::NotYetGranted => return GrantStatus::NotYetGranted,
            AssignmentState::Expired => return GrantStatus::Expired,
            AssignmentState::Revoked => return GrantStatus::Revoked,
        }
        if let Subject::Group(group_id) = assignment.subject {
            if self.groups.get(&group_id).is_none_or(|g| g.deleted_at.is_some_and(|deleted| deleted <= at)) {
                return GrantStatus::GroupDeleted;
            }
            if !self.memberships.iter().any(|m| m.group_id == group_id && m.is_member_at(at)) {
                return GrantStatus::NotInGroup;
            }
        }
        // A deleted role grants nothing, and neither does a role whose parent was
        // deleted: its inherited part is gone.
        let chain = self.chain(assignment.role_id);
        if chain.is_empty() || chain.iter().any(|role| role.deleted_at.is_some_and(|deleted| deleted <= at)) {
            return GrantStatus::RoleDeleted;
        }
        if !assignment.scope.covers(resource) {
            return GrantStatus::OutOfScope;
        }
        GrantStatus::Grants
    }

    /// Whether `assignment` gives its role (where its scope says) at `at`.
    pub(crate) fn in_force(&self, assignment: &Assignment, at: DateTime<Utc>) -> bool {
        let resource = match assignment.scope {
            AccessScope::Tenant => None,
            AccessScope::Resource(resource) => Some(resource),
        };
        self.status(assignment, resource, at) == GrantStatus::Grants
    }

    /// Whether the user holds the built-in owner role tenant-wide at `at` (directly
    /// or through a group): what lets them into children that allow it.
    pub(crate) fn is_owner(&self, at: DateTime<Utc>) -> bool {
        self.assignments.iter().any(|assignment| {
            assignment.scope == AccessScope::Tenant
                && self.in_force(assignment, at)
                && self.roles.get(&assignment.role_id).is_some_and(|role| role.builtin == Some(BuiltinRole::Owner))
        })
    }

    /// The first instant after `at` when one of the assignments stops by itself:
    /// until then, what these facts grant changes only through a write.
    pub(crate) fn next_lapse(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.assignments.iter().filter_map(|a| a.expires_at).filter(|expires| *expires > at).min()
    }

    /// What the user may do at `at`.
    pub(crate) fn effective(&self, at: DateTime<Utc>) -> Effective {
        let mut effective = Effective::default();
        for assignment in &self.assignments {
            if !self.in_force(assignment, at) {
                continue;
            }
            let granted = self.role_permissions(assignment.role_id);
            match assignment.scope {
                AccessScope::Tenant => effective.tenant_wide.extend(&granted),
                AccessScope::Resource(resource) => effective.on_resources.entry(resource).or_default().extend(&granted),
            }
        }
        // Resource grants only list what the tenant-wide ones do not already give.
        let tenant_wide = effective.tenant_wide.clone();
        effective.on_resources.retain(|_, set| {
            set.retain(|p| !tenant_wide.contains(*p));
            !set.is_empty()
        });
        effective
    }

    /// Every assignment whose role chain holds `permission`, with the roles from the
    /// assigned one up to the holder and whether it applies to `resource` at `at`.
    pub(crate) fn paths(
        &self,
        permission: Permission,
        resource: Option<Resource>,
        at: DateTime<Utc>,
    ) -> Vec<GrantPath> {
        let mut paths: Vec<GrantPath> = self
            .assignments
            .iter()
            .filter_map(|assignment| {
                let chain = self.chain(assignment.role_id);
                let holder = chain.iter().position(|role| role.permissions.contains(permission))?;
                Some(GrantPath {
                    assignment: assignment.clone(),
                    group: match assignment.subject {
                        Subject::Group(id) => self.groups.get(&id).cloned(),
                        Subject::User(_) => None,
                    },
                    roles: chain[..=holder].iter().map(|role| (*role).clone()).collect(),
                    status: self.status(assignment, resource, at),
                })
            })
            .collect();
        // Granting paths first, then the most recent.
        paths.sort_by_key(|path| (path.status != GrantStatus::Grants, std::cmp::Reverse(path.assignment.granted_at)));
        paths
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use tessera_kernel::{AssignmentId, GroupMemberId, ProviderId, TenantId, UserId};

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).single().unwrap_or_default()
    }

    struct World {
        facts: AccessFacts,
        tenant: TenantId,
        user: UserId,
    }

    impl World {
        fn new() -> Self {
            Self { facts: AccessFacts::default(), tenant: TenantId::generate(at(0)), user: UserId::generate(at(0)) }
        }

        fn role(&mut self, name: &str, parent: Option<RoleId>, permissions: &[Permission]) -> RoleId {
            let id = RoleId::generate(at(0));
            self.facts.roles.insert(
                id,
                Role {
                    id,
                    tenant_id: self.tenant,
                    builtin: None,
                    name: name.into(),
                    description: None,
                    parent_id: parent,
                    is_default: false,
                    permissions: permissions.iter().copied().collect(),
                    created_at: at(0),
                    updated_at: at(0),
                    deleted_at: None,
                },
            );
            id
        }

        fn assign(&mut self, role: RoleId, subject: Subject, scope: AccessScope) -> &mut Assignment {
            self.facts.assignments.push(Assignment {
                id: AssignmentId::generate(at(1)),
                tenant_id: self.tenant,
                role_id: role,
                subject,
                scope,
                granted_by: None,
                granted_at: at(1),
                expires_at: None,
                revoked_at: None,
                revoked_by: None,
            });
            self.facts.assignments.last_mut().unwrap_or_else(|| unreachable!())
        }

        fn group(&mut self, added: DateTime<Utc>, removed: Option<DateTime<Utc>>) -> GroupId {
            let id = GroupId::generate(at(0));
            self.facts.groups.insert(
                id,
                Group {
                    id,
                    tenant_id: self.tenant,
                    name: "Front desk".into(),
                    description: None,
                    created_at: at(0),
                    updated_at: at(0),
                    deleted_at: None,
                },
            );
            self.facts.memberships.push(GroupMember {
                id: GroupMemberId::generate(at(0)),
                group_id: id,
                user_id: self.user,
                added_at: added,
                added_by: None,
                removed_at: removed,
                removed_by: None,
            });
            id
        }
    }

    #[test]
    fn a_child_role_inherits_its_parents_permissions() {
        let mut world = World::new();
        let staff = world.role("Staff", None, &[Permission::BookingRead]);
        let reception = world.role("Reception", Some(staff), &[Permission::BookingManage]);
        let user = world.user;
        world.assign(reception, Subject::User(user), AccessScope::Tenant);
        let effective = world.facts.effective(at(2));
        assert!(effective.tenant_wide.contains(Permission::BookingRead));
        assert!(effective.tenant_wide.contains(Permission::BookingManage));
        let paths = world.facts.paths(Permission::BookingRead, None, at(2));
        assert_eq!(paths.len(), 1);
        let names: Vec<&str> = paths[0].roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Reception", "Staff"]);
    }

    #[test]
    fn a_cycle_in_stored_roles_ends_the_walk() {
        let mut world = World::new();
        let a = world.role("A", None, &[Permission::BookingRead]);
        let b = world.role("B", Some(a), &[]);
        if let Some(role) = world.facts.roles.get_mut(&a) {
            role.parent_id = Some(b);
        }
        assert_eq!(world.facts.chain(b).len(), 2);
    }

    #[test]
    fn expired_revoked_and_future_assignments_grant_nothing() {
        let mut world = World::new();
        let role = world.role("R", None, &[Permission::BookingRead]);
        let user = world.user;
        world.assign(role, Subject::User(user), AccessScope::Tenant).expires_at = Some(at(3));
        assert!(world.facts.effective(at(2)).tenant_wide.contains(Permission::BookingRead));
        assert!(world.facts.effective(at(3)).tenant_wide.is_empty());
        assert_eq!(world.facts.paths(Permission::BookingRead, None, at(3))[0].status, GrantStatus::Expired);
        assert_eq!(world.facts.paths(Permission::BookingRead, None, at(0))[0].status, GrantStatus::NotYetGranted);

        let mut world = World::new();
        let role = world.role("R", None, &[Permission::BookingRead]);
        let user = world.user;
        world.assign(role, Subject::User(user), AccessScope::Tenant).revoked_at = Some(at(4));
        assert!(world.facts.effective(at(3)).tenant_wide.contains(Permission::BookingRead));
        assert_eq!(world.facts.paths(Permission::BookingRead, None, at(5))[0].status, GrantStatus::Revoked);
    }

    #[test]
    fn group_grants_follow_membership_over_time() {
        let mut world = World::new();
        let role = world.role("R", None, &[Permission::CustomerRead]);
        let group = world.group(at(2), Some(at(4)));
        world.assign(role, Subject::Group(group), AccessScope::Tenant);
        assert_eq!(world.facts.paths(Permission::CustomerRead, None, at(1))[0].status, GrantStatus::NotInGroup);
        assert!(world.facts.effective(at(3)).tenant_wide.contains(Permission::CustomerRead));
        assert!(world.facts.effective(at(4)).tenant_wide.is_empty());
        if let Some(g) = world.facts.groups.get_mut(&group) {
            g.deleted_at = Some(at(3));
        }
        assert_eq!(world.facts.paths(Permission::CustomerRead, None, at(3))[0].status, GrantStatus::GroupDeleted);
    }

    #[test]
    fn resource_scoped_grants_apply_to_that_resource_only() {
        let mut world = World::new();
        let role = world.role("Own schedule", None, &[Permission::ProviderManage, Permission::ProviderRead]);
        let broad = world.role("Reader", None, &[Permission::ProviderRead]);
        let mine = Resource::Provider(ProviderId::generate(at(0)));
        let other = Resource::Provider(ProviderId::generate(at(0) + Duration::seconds(1)));
        let user = world.user;
        world.assign(role, Subject::User(user), AccessScope::Resource(mine));
        world.assign(broad, Subject::User(user), AccessScope::Tenant);
        let effective = world.facts.effective(at(2));
        assert!(!effective.tenant_wide.contains(Permission::ProviderManage));
        // Provider read is tenant-wide already, so the resource grant lists only the rest.
        assert_eq!(
            effective.on_resources.get(&mine).map(|s| s.iter().collect::<Vec<_>>()),
            Some(vec![Permission::ProviderManage])
        );
        let status = |resource| world.facts.paths(Permission::ProviderManage, resource, at(2))[0].status;
        assert_eq!(status(Some(mine)), GrantStatus::Grants);
        assert_eq!(status(Some(other)), GrantStatus::OutOfScope);
        assert_eq!(status(None), GrantStatus::OutOfScope);
    }

    #[test]
    fn a_deleted_role_or_parent_grants_nothing() {
        let mut world = World::new();
        let parent = world.role("Parent", None, &[Permission::BookingRead]);
        let child = world.role("Child", Some(parent), &[Permission::BookingCreate]);
        let user = world.user;
        world.assign(child, Subject::User(user), AccessScope::Tenant);
        if let Some(role) = world.facts.roles.get_mut(&parent) {
            role.deleted_at = Some(at(3));
        }
        assert!(world.facts.effective(at(2)).tenant_wide.contains(Permission::BookingCreate));
        assert!(world.facts.effective(at(3)).tenant_wide.is_empty());
    }

    #[test]
    fn ownership_is_the_built_in_owner_role_held_tenant_wide_and_in_force() {
        let mut world = World::new();
        let owner = world.role("Owner", None, &Permission::ALL);
        world.facts.roles.get_mut(&owner).unwrap_or_else(|| unreachable!()).builtin = Some(BuiltinRole::Owner);
        let look_alike = world.role("Everything", None, &Permission::ALL);
        let user = world.user;
        world.assign(look_alike, Subject::User(user), AccessScope::Tenant);
        assert!(!world.facts.is_owner(at(2)), "holding every permission is not being an owner");
        let provider = Resource::Provider(ProviderId::generate(at(0)));
        world.assign(owner, Subject::User(user), AccessScope::Resource(provider));
        assert!(!world.facts.is_owner(at(2)), "an owner role on one provider is not ownership");
        world.assign(owner, Subject::User(user), AccessScope::Tenant).revoked_at = Some(at(3));
        assert!(world.facts.is_owner(at(2)));
        assert!(!world.facts.is_owner(at(4)), "revoked");
    }
}
