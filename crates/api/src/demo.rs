//! The demo tenant a newcomer finds on first start: a hair salon and its owner.

use tessera_identity::NewUser;
use tessera_kernel::{DomainError, RequestContext, RequestMeta};
use tessera_tenant::NewTenant;

use crate::error::ApiError;
use crate::graphql::Services;

/// The demo tenant's slug (use it in `X-Tenant`).
pub const DEMO_SLUG: &str = "demo-salon";
/// The demo owner's email.
pub const DEMO_OWNER_EMAIL: &str = "owner@demo-salon.test";
/// The demo owner's password. Demo data only: the demo is seeded automatically only
/// into an empty embedded database.
pub const DEMO_OWNER_PASSWORD: &str = "tessera-demo-owner";

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The demo was created.
    Created,
    /// It was already there.
    AlreadyPresent,
}

fn system_context(services: &Services) -> RequestContext {
    let meta = RequestMeta { request_id: "seed-demo".into(), ip: None, user_agent: Some("tessera seed-demo".into()) };
    RequestContext::anonymous(meta, services.clock.clone())
}

/// Seeds the demo into a database that has no tenant yet.
pub async fn seed_if_empty(services: &Services) -> Result<Option<Seeded>, ApiError> {
    if services.tenants.any_tenant_exists().await? {
        return Ok(None);
    }
    seed(services).await.map(Some)
}

/// Seeds the demo unless its owner already exists.
pub async fn seed(services: &Services) -> Result<Seeded, ApiError> {
    let ctx = system_context(services);
    let owner = NewUser {
        email: DEMO_OWNER_EMAIL.into(),
        password: DEMO_OWNER_PASSWORD.into(),
        display_name: "Bella Rossi (demo owner)".into(),
    };
    let (user, session) = match services.identity.sign_up(&ctx, owner).await {
        Ok(created) => created,
        Err(DomainError::Conflict(_)) => return Ok(Seeded::AlreadyPresent),
        Err(err) => return Err(err.into()),
    };
    let ctx = ctx.with_actor(tessera_kernel::Actor { user_id: user.id, session_id: session.session_id });
    let salon = NewTenant {
        name: "Bella Hair Salon (demo)".into(),
        slug: DEMO_SLUG.into(),
        timezone: "America/New_York".into(),
        locale: Some("en-US".into()),
    };
    services.tenants.create_tenant(&ctx, salon).await?;
    services.identity.logout(&ctx).await?;
    Ok(Seeded::Created)
}
