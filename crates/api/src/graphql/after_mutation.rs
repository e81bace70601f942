//! What follows every mutation, done once here instead of by hand in resolvers:
//! the tenants whose access it changed (a revoked role, a changed policy) are
//! stamped, so the caller's next request on any replica resolves rights afresh
//! (`caller::stamps`), and the outbox relay is woken, so the events the
//! mutation committed reach subscribers at once rather than at the relay's next
//! poll. Both transports run their queries and mutations through
//! [`execute_operation`].
//!
//! A function around execution rather than a schema extension: with any
//! extension installed, async-graphql wraps every field of every answer in the
//! extension chain, which cost a page of 100 bookings more than its own reads.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response};

use tessera_kernel::event::noting_access_changes;

use super::TesseraSchema;
use crate::caller::stamps::Mark;
use crate::services::Services;

/// Executes `request`, a query or mutation of type `operation` (as the document
/// check found it), then stamps the tenants whose access it changed and, after a
/// mutation, wakes the relay.
pub(crate) async fn execute_operation(
    schema: &TesseraSchema,
    services: &Arc<Services>,
    operation: Option<OperationType>,
    request: Request,
) -> Response {
    let (response, access_changed) = noting_access_changes(schema.execute(request)).await;
    if !access_changed.is_empty() {
        let marks: Vec<Mark> = access_changed.into_iter().map(Mark::Tenant).collect();
        services.bus.stamps().bump(&marks).await;
    }
    if operation == Some(OperationType::Mutation) {
        services.relay.kick();
    }
    response
}
