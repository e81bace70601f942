//! GraphQL for access control, one file per area: roles (`roles`), groups
//! (`groups`), role assignments (`assignments`), explaining access (`explain`) and
//! invitations (`invitations`). The types other domains show (roles) are in
//! `objects`. This module merges the areas' roots.

mod assignments;
mod explain;
mod groups;
mod invitations;
pub(crate) mod objects;
mod roles;

use async_graphql::MergedObject;

pub(crate) use assignments::RoleAssignmentObject;
pub(crate) use groups::GroupObject;
pub(crate) use invitations::InvitationObject;
pub(crate) use objects::RoleObject;

/// Access control's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct RbacQuery(
    roles::RoleQueries,
    groups::GroupQueries,
    assignments::AssignmentQueries,
    explain::ExplainQueries,
    invitations::InvitationQueries,
);

/// Access control's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct RbacMutation(
    roles::RoleMutations,
    groups::GroupMutations,
    assignments::AssignmentMutations,
    invitations::InvitationMutations,
);
