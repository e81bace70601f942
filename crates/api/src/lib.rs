//! The Tessera gateway: one GraphQL API over the domain crates.
//!
//! `api` is the composition root. It reads the [`config`], connects and migrates
//! the database, builds the domain services and the federated GraphQL schema
//! ([`graphql`]), and serves them over HTTP and WebSocket ([`http`]). It is the only
//! crate that knows about axum and async-graphql, and the only place where domain
//! errors become client-facing errors ([`error`]).
//!
//! A request flows: axum layers (request id, body limit, CORS, logging, metrics) →
//! bearer token → `X-Tenant` and membership → `RequestContext` + per-request
//! DataLoaders → resolver guard → domain service (which checks again and opens the
//! tenant-scoped transaction) → after commit, the outbox relay publishes events on
//! the bus (in-process or Redis) → subscriptions.

pub mod accounts;
pub mod app;
mod caller;
pub mod catalogue;
pub mod ceremonies;
pub mod config;
pub mod coupons;
pub mod demo;
pub mod error;
pub mod events;
mod flows;
pub mod graphql;
pub mod http;
pub mod payment_events;
pub mod plans;
mod rate_limits;
pub mod retention;
pub mod server;
pub mod services;

pub use app::{App, AppOptions};
pub use config::{Config, ConfigArgs};
