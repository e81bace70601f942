//! SeaORM entities of the tenant crate. Crate-private: services return domain types.

pub(crate) mod membership;
pub(crate) mod mfa_grace_use;
pub(crate) mod tenant;
