//! SeaORM entities of the scheduling crate. Crate-private: services return domain types.

pub(crate) mod booking;
pub(crate) mod booking_addon;
pub(crate) mod booking_resource;
pub(crate) mod booking_series;
pub(crate) mod calendar_feed;
pub(crate) mod class_schedule;
pub(crate) mod class_session;
pub(crate) mod customer;
pub(crate) mod provider;
pub(crate) mod provider_service;
pub(crate) mod review;
pub(crate) mod schedule_exception;
pub(crate) mod service;
pub(crate) mod service_addon;
pub(crate) mod waitlist_entry;
pub(crate) mod working_hours;
