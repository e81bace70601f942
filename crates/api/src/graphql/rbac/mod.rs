//! GraphQL for access control, one file per area: roles (`roles`), groups
//! (`groups`), role assignments (`assignments`) and explaining access (`explain`).
//! This module merges their roots.

mod assignments;
mod explain;
mod groups;
mod roles;

use async_graphql::MergedObject;

pub(crate) use assignments::RoleAssignmentObject;
pub(crate) use groups::GroupObject;
pub(crate) use roles::{RoleObject, my_roles, parse_permissions};

/// Access control's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct RbacQuery(
    roles::RoleQueries,
    groups::GroupQueries,
    assignments::AssignmentQueries,
    explain::ExplainQueries,
);

/// Access control's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct RbacMutation(roles::RoleMutations, groups::GroupMutations, assignments::AssignmentMutations);
