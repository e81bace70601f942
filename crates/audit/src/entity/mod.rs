//! SeaORM entities of the audit crate. Crate-private: the service returns domain types.

pub(crate) mod account_security_event;
pub(crate) mod head;
pub(crate) mod record;
pub(crate) mod security_event;
