//! Granting a role spans two domains: `rbac` keeps the assignment, and a grant
//! on one provider must name a provider of the tenant, which only `scheduling`
//! knows.

use chrono::{DateTime, Utc};
use tessera_kernel::{DomainError, ProviderId, RequestContext, Resource, RoleId};
use tessera_rbac::{AccessScope, Assignment, NewAssignment, Subject};

use crate::error::ApiResult;
use crate::services::Services;

/// Grants `role_id` to `subject`, tenant-wide or only on `provider`, until
/// `expires_at` if given. A provider the tenant does not have is refused as bad
/// input, the same whether it is another tenant's or no one's.
pub(crate) async fn grant(
    services: &Services,
    request: &RequestContext,
    role_id: RoleId,
    subject: Subject,
    provider: Option<ProviderId>,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<Assignment> {
    let scope = match provider {
        None => AccessScope::Tenant,
        Some(provider) => {
            if !services.scheduling.providers_by_ids(request, &[provider]).await?.contains_key(&provider) {
                return Err(DomainError::invalid("providerId", "no such provider in this tenant").into());
            }
            AccessScope::Resource(Resource::Provider(provider))
        }
    };
    Ok(services.rbac.assign_role(request, NewAssignment { role_id, subject, scope, expires_at }).await?)
}
