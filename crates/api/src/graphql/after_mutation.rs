//! What follows every mutation, done once here instead of by hand in resolvers:
//! the tenants whose access it changed (a revoked role, a changed policy) are
//! stamped, so the caller's next request on any replica resolves rights afresh
//! (`caller::stamps`), and the outbox relay is woken, so the events the
//! mutation committed reach subscribers at once rather than at the relay's next
//! poll. Over HTTP and WebSocket alike, since both execute through the schema.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Response, ServerResult, Variables};

use tessera_kernel::event::noting_access_changes;

use crate::caller::stamps::Mark;
use crate::services::Services;

/// Installs [`WakeRelay`] on every request.
pub(crate) struct AfterMutation;

impl ExtensionFactory for AfterMutation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(WakeRelay::default())
    }
}

/// Remembers the document's mutations, and wakes the relay after one ran.
#[derive(Default)]
struct WakeRelay {
    /// The names of the document's mutation operations (`None`: anonymous).
    mutations: Mutex<Vec<Option<String>>>,
}

#[async_trait::async_trait]
impl Extension for WakeRelay {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutations = document
            .operations
            .iter()
            .filter(|(_, operation)| operation.node.ty == OperationType::Mutation)
            .map(|(name, _)| name.map(|n| n.to_string()))
            .collect();
        *self.mutations.lock().unwrap_or_else(PoisonError::into_inner) = mutations;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (response, access_changed) = noting_access_changes(next.run(ctx, operation_name)).await;
        if !access_changed.is_empty()
            && let Some(services) = ctx.data_opt::<Arc<Services>>()
        {
            let marks: Vec<Mark> = access_changed.into_iter().map(Mark::Tenant).collect();
            services.bus.stamps().bump(&marks).await;
        }
        let ran_a_mutation = {
            let mutations = self.mutations.lock().unwrap_or_else(PoisonError::into_inner);
            match operation_name {
                Some(name) => mutations.iter().any(|m| m.as_deref() == Some(name)),
                // Without a name, the document holds exactly one operation.
                None => !mutations.is_empty(),
            }
        };
        if ran_a_mutation && let Some(services) = ctx.data_opt::<Arc<Services>>() {
            services.relay.kick();
        }
        response
    }
}
