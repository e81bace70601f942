//! SeaORM entities of the notify crate. Crate-private: the services return domain types.

pub(crate) mod account_attempt;
pub(crate) mod account_message;
pub(crate) mod attempt;
pub(crate) mod delivery;
pub(crate) mod notification;
pub(crate) mod preference;
pub(crate) mod template;
pub(crate) mod webhook_endpoint;
