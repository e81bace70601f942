//! SeaORM entities of the rbac crate. Crate-private: services return domain types.

pub(crate) mod assignment;
pub(crate) mod group;
pub(crate) mod group_member;
pub(crate) mod invitation;
pub(crate) mod role;
pub(crate) mod role_permission;
