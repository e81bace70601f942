//! GraphQL for the audit log (`records`: reading it and verifying its hash chain)
//! and security events (`security_events`). A tenant's login history, which
//! auditors also read, sits with the other logins in `identity::sessions`.

mod records;
mod security_events;

use async_graphql::MergedObject;

/// The audit domain's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct AuditQuery(records::RecordQueries, security_events::SecurityEventQueries);
