//! End-to-end tests: the real gateway over HTTP and WebSocket.
//!
//! One test binary (link time matters on small machines). Each test starts its own
//! server on a fresh database; see `tessera_e2e` for how the backend is chosen.

#![allow(missing_docs, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account_outbox;
mod api_keys;
mod architecture;
mod audit;
mod auth;
mod billing;
mod billing_cards;
mod billing_changes;
mod billing_conekta;
mod billing_coupons;
mod billing_invoice_pages;
mod billing_overage;
mod billing_payments;
mod billing_subscriptions;
mod billing_webhooks;
mod booking_lifecycle;
mod bounds;
mod citus;
mod database_tls;
mod demo_roles;
mod digests;
mod distribution_rules;
mod edges;
mod error_codes;
mod invitation_abuse;
mod invitations;
mod js_tools;
mod lifecycle;
mod live_rights;
mod local_times;
mod login_defense;
mod mfa;
mod notifications;
mod oauth;
mod operations;
mod owners;
mod ownership;
mod partial_updates;
mod passkeys;
mod payment_gateways;
mod persisted_queries;
mod personal_data;
mod policy;
mod provider_terms;
mod rate_limits;
mod rbac;
mod recovery;
mod relay_nodes;
mod remembered_rights;
mod request_cost;
mod row_level_security;
mod scheduling;
mod schema_docs;
mod security;
mod sign_up;
mod stale_tokens;
mod subscription_endings;
mod takeover;
mod tenants;
mod token_directory;
mod transport;
mod trusted_documents;
mod usage;
mod usage_alerts;
mod usage_messages;
mod usage_operator;
mod usage_requests;
mod usage_seats;
mod usage_stocks;
mod websocket;
