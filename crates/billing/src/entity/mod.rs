//! SeaORM entities of billing. Crate-private: the functions return domain types.

pub(crate) mod coupon;
pub(crate) mod coupon_redemption;
pub(crate) mod invoice;
pub(crate) mod invoice_line;
pub(crate) mod invoice_payment;
pub(crate) mod payment_customer;
pub(crate) mod payment_method;
pub(crate) mod plan;
pub(crate) mod plan_overage_price;
pub(crate) mod provider_event;
pub(crate) mod subscription;
pub(crate) mod subscription_quote;
pub(crate) mod tenant_billing;
