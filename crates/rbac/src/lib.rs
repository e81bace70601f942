//! Access control: who may do what in a tenant, decided in one place and explainable.
//!
//! - **Permissions** are the closed catalogue in [`tessera_kernel::Permission`]
//!   (`resource:action`), defined once in code.
//! - **Roles** belong to a tenant and name a set of permissions; a role may have a
//!   parent whose permissions it inherits (cycles are refused). Every tenant starts
//!   with the [built-in roles](BuiltinRole) owner, admin, staff and customer, whose
//!   permissions are defined in code and cannot be taken from them; owners add their
//!   own roles (say, "Receptionist" under staff).
//! - **Groups** collect users; a role assigned to a group reaches its current members.
//! - **Assignments** grant a role to a user or group, tenant-wide or on one
//!   [resource](tessera_kernel::Resource), with an optional expiry. They are never
//!   deleted: revoking stamps who and when, so expired and revoked grants stop
//!   counting without any job, and [`RbacService::explain`] can answer as of any
//!   past instant.
//!
//! [`RbacService::resolve_scope`] turns the `X-Tenant` header into the request's
//! effective permissions once per request (nothing is cached across requests, so
//! changes apply on the next one). Nobody can grant or take away permissions they do
//! not hold, and a tenant always keeps an owner. [`RbacLifecycle`] installs the
//! built-in roles inside the transaction that creates a tenant. [Invitations]
//! bring new members in with roles, by an emailed single-use link
//! ([`RbacService::invite`]).

mod assignments;
mod convert;
mod entity;
mod groups;
mod invitation;
mod invitation_link;
mod lifecycle;
mod model;
mod owners;
mod resolve;
mod roles;
#[cfg(test)]
mod rules_tests;
mod scope;
mod seats;
mod service;

pub use invitation::{
    INVITATION_DAYS, INVITATIONS_PER_DAY, Invitation, InvitationPreview, InvitationStatus, NewInvitation,
};
pub use lifecycle::RbacLifecycle;
pub use model::{
    AccessScope, Assignment, AssignmentFilter, AssignmentState, BuiltinRole, Explanation, GrantPath, GrantStatus,
    Group, GroupInput, GroupMember, GroupPatch, NewAssignment, ParentAccess, Role, RoleInput, RolePatch, Subject,
};
pub use owners::owners_in;
pub use scope::ResolvedScope;
pub use service::RbacService;
