//! SeaORM entities of the ledger. Crate-private: the functions return domain types.

pub(crate) mod booking_payment;
pub(crate) mod booking_refund;
pub(crate) mod customer_card;
pub(crate) mod payment_account;
pub(crate) mod payment_account_owner;
pub(crate) mod tenant_limit;
pub(crate) mod tier_limit;
pub(crate) mod usage_alert;
pub(crate) mod usage_alert_firing;
pub(crate) mod usage_counter;
pub(crate) mod usage_record;
