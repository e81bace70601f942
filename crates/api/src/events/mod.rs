//! Events after commit: the outbox relay and the event bus.
//!
//! Services write domain events into the outbox inside their transaction. The
//! [`relay`] moves committed rows onto the [`bus`]: straight to in-process
//! subscribers, or, when `REDIS_URL` is set, to one Redis stream that every gateway
//! replica reads. Delivery is at least once; subscribers see each event id once
//! because the bus drops ids it has already delivered.

pub(crate) mod bus;
pub(crate) mod link;
mod relay;

pub use bus::{BusMessage, EventBus, REDIS_STREAM, STREAM_MAX_LEN};
pub use relay::{RelayHandle, spawn_relay};
