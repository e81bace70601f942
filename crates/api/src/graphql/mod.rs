//! The federated GraphQL schema: one module per domain, merged at the root.
//!
//! Building the schema touches no database: services and the request's context
//! arrive with each request as request data, so `tessera export-schema` and the
//! staleness test build the very same schema offline.
//!
//! Every field that needs a signed-in user or a permission declares it with a guard
//! ([`SignedIn`], [`Requires`], [`RequiresOnSome`], [`RequiresOrOwn`]) and a schema
//! marker (`@permission`, `@ownPermission`, `@authenticated`, `@public`); the
//! service called then checks again and limits the operation to what the caller
//! may reach.

mod access;
mod after_mutation;
mod audit;
mod connection;
mod feed;
mod identity;
mod loaders;
mod local_time;
mod node;
mod notify;
mod patch;
mod rbac;
mod scheduling;
mod tenant;
mod text_input;

use std::sync::Arc;

use async_graphql::{Context, Guard, MergedObject, MergedSubscription, SDLExportOptions, Schema, TypeDirective};
use tessera_audit::AuditService;
use tessera_identity::IdentityService;
use tessera_kernel::{Permission, RequestContext, SharedClock};
use tessera_notify::{DeliveryWorker, NotifyService};
use tessera_rbac::RbacService;
use tessera_scheduling::SchedulingService;
use tessera_tenant::TenantService;

use crate::config::{IntrospectionPolicy, QueryLimits};
use crate::error::{ApiError, ApiResult};
use crate::events::{EventBus, RelayHandle};

pub use loaders::Loaders;

/// What resolvers reach for: the domain services and the event plumbing.
#[derive(Debug, Clone)]
pub struct Services {
    /// Tenants and memberships.
    pub tenants: TenantService,
    /// Users and sessions.
    pub identity: IdentityService,
    /// Roles, groups, assignments and the resolution of effective permissions.
    pub rbac: RbacService,
    /// The tenants' audit logs.
    pub audit: AuditService,
    /// Providers, services, customers, availability and bookings.
    pub scheduling: SchedulingService,
    /// Inboxes, the delivery log and webhook endpoints.
    pub notify: NotifyService,
    /// Sends queued notifications (run in the background, or by hand in tests).
    pub deliveries: DeliveryWorker,
    /// Where published events arrive.
    pub bus: EventBus,
    /// Wakes the outbox relay after a write.
    pub relay: RelayHandle,
    /// The server's clock.
    pub clock: SharedClock,
}

/// The query root.
#[derive(MergedObject, Default)]
pub struct Query(
    identity::IdentityQuery,
    tenant::TenantQuery,
    scheduling::SchedulingQuery,
    access::AccessQueries,
    rbac::RbacQuery,
    audit::AuditQuery,
    notify::NotifyQuery,
    node::NodeQueries,
);

/// The mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    identity::IdentityMutation,
    tenant::TenantMutation,
    scheduling::SchedulingMutation,
    rbac::RbacMutation,
    notify::NotifyMutation,
);

/// The subscription root.
#[derive(MergedSubscription, Default)]
pub struct Subscription(tenant::TenantSubscription, scheduling::SchedulingSubscription, notify::NotifySubscription);

/// The schema type.
pub type TesseraSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with the given limits. Touches no database.
pub fn build_schema(limits: &QueryLimits, introspection: IntrospectionPolicy) -> TesseraSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .enable_federation()
        .enable_subscription_in_federation()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives)
        .limit_recursive_depth(limits.max_depth * 2)
        .extension(text_input::TextInput)
        .extension(after_mutation::AfterMutation);
    // Suggestions ("did you mean …?") reveal the schema; only offer them to those who
    // may read the schema anyway.
    if introspection != IntrospectionPolicy::Everyone {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The root fields marked `@public` (`Mutation.login`, `Query.invitationOffer`…),
/// read from the schema itself so the marker stays the one source: an operation
/// made only of them needs no session and runs whatever credentials came with it.
pub fn public_root_fields(schema: &TesseraSchema) -> std::collections::HashSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let sdl = schema.sdl_with_options(SDLExportOptions::new().federation());
    let Ok(document) = async_graphql::parser::parse_schema(&sdl) else {
        return std::collections::HashSet::new();
    };
    let mut open = std::collections::HashSet::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else { continue };
        let owner = definition.node.name.node.to_string();
        if owner != "Query" && owner != "Mutation" {
            continue;
        }
        let TypeKind::Object(object) = &definition.node.kind else { continue };
        for field in &object.fields {
            if field.node.directives.iter().any(|d| d.node.name.node == "public") {
                open.insert(format!("{owner}.{}", field.node.name.node));
            }
        }
    }
    open
}

/// The federation v2 SDL of the schema, as checked in at `schema.graphql`.
pub fn export_sdl() -> String {
    let schema = build_schema(&QueryLimits::default(), IntrospectionPolicy::Everyone);
    let sdl = schema.sdl_with_options(SDLExportOptions::new().federation().sorted_fields().sorted_enum_items());
    format!("# Generated by `tessera export-schema`; do not edit. A test fails when it is stale.\n\n{}\n", sdl.trim())
}

// Schema markers: every operation field says in the SDL what it requires, so
// `schema.graphql` documents the access rules and a test can check none is missing.
// Each sits in the same attribute as the guard that enforces it.

/// The field needs this permission in the request's tenant (`X-Tenant`).
#[TypeDirective(location = "FieldDefinition")]
pub(crate) fn permission(name: String) {}

/// Besides `@permission` (held tenant-wide or on some resource), this permission
/// lets the caller do the same to their own records only (their bookings, their
/// customer profile, their calendar).
#[TypeDirective(name = "ownPermission", location = "FieldDefinition")]
pub(crate) fn own_permission(name: String) {}

/// The field needs a signed-in caller, and no tenant permission.
#[TypeDirective(location = "FieldDefinition")]
pub(crate) fn authenticated() {}

/// The field is open to anonymous callers (signing in and up).
#[TypeDirective(location = "FieldDefinition")]
pub(crate) fn public() {}

/// The request's context.
pub(crate) fn request<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestContext> {
    ctx.data::<RequestContext>().map_err(|_| ApiError::internal("request context missing"))
}

/// The domain services.
pub(crate) fn services<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Arc<Services>> {
    ctx.data::<Arc<Services>>().map_err(|_| ApiError::internal("services missing"))
}

/// The request's DataLoaders.
pub(crate) fn loaders<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Loaders> {
    ctx.data::<Loaders>().map_err(|_| ApiError::internal("loaders missing"))
}

/// Guard: the caller is signed in.
pub(crate) struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let request = request(ctx)?;
        request.require_actor().map_err(ApiError::from)?;
        // A partner client acts within its business's permissions, never on the
        // account of the person who made it.
        if request.client().is_some() {
            return Err(ApiError::from(tessera_kernel::DomainError::Forbidden(
                "a partner client cannot act on an account; it acts within its business only".into(),
            ))
            .into());
        }
        Ok(())
    }
}

/// Guard: the caller is signed in with a session of their own, not with a
/// personal API key or a partner client: for what manages how the account signs
/// in (second factors, passkeys, the password, API keys), so that a leaked key
/// can never add a way in or lock the owner out.
pub(crate) struct InSession;

impl Guard for InSession {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        SignedIn.check(ctx).await?;
        let through_key = ctx.data_opt::<crate::caller::Caller>().is_none_or(|c| c.session.through_api_key);
        if through_key {
            return Err(ApiError::from(tessera_kernel::DomainError::Forbidden(
                "sign-in methods and API keys are managed from a signed-in session, not with an API key".into(),
            ))
            .into());
        }
        Ok(())
    }
}

/// Guard: the caller, in person (a partner client acting for them is refused,
/// as by [`SignedIn`]), holds a permission in the request's tenant. For what is
/// the member's own: their inbox, their preferences, their live notifications.
pub(crate) struct RequiresInPerson(pub(crate) Permission);

impl Guard for RequiresInPerson {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        SignedIn.check(ctx).await?;
        Requires(self.0).check(ctx).await
    }
}

/// Guard: the caller holds a permission in the request's tenant (`X-Tenant`).
pub(crate) struct Requires(pub(crate) Permission);

impl Guard for Requires {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let request = request(ctx)?;
        request.require_actor().map_err(ApiError::from)?;
        request.authorize(self.0).map_err(ApiError::from)?;
        Ok(())
    }
}

/// Guard: the caller holds a permission in the request's tenant, tenant-wide or on
/// at least one resource (a role granted on one provider). For fields that act on
/// one resource: the service then checks that resource.
pub(crate) struct RequiresOnSome(pub(crate) Permission);

impl Guard for RequiresOnSome {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let request = request(ctx)?;
        request.require_actor().map_err(ApiError::from)?;
        request.authorize_somewhere(self.0).map_err(ApiError::from)?;
        Ok(())
    }
}

/// Guard: the caller holds a permission (tenant-wide or on some resource), or its
/// `*_own` variant. The service then limits the operation to what that reaches.
pub(crate) struct RequiresOrOwn(pub(crate) Permission, pub(crate) Permission);

impl Guard for RequiresOrOwn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let request = request(ctx)?;
        request.require_actor().map_err(ApiError::from)?;
        request.authorize_reach(self.0, self.1).map_err(ApiError::from)?;
        Ok(())
    }
}

/// Parses an `ID` argument as a typed id.
pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, id: &async_graphql::ID) -> ApiResult<T> {
    id.parse::<T>().map_err(|_| ApiError::from(tessera_kernel::DomainError::invalid(field, "is not a valid id")))
}
