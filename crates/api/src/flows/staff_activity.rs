//! A tenant's auditors see the logins and account security events of its staff:
//! `rbac` decides who the staff are (members with a role beyond the customer's),
//! `identity` and `audit` keep the records.

use tessera_audit::{SecurityEventFilter, SecurityEventRecord};
use tessera_identity::{LoginAttempt, LoginFilter};
use tessera_kernel::{Page, PageRequest, RequestContext};

use crate::error::ApiResult;
use crate::services::Services;

/// The request tenant's security events, with its staff's account events.
pub(crate) async fn security_events(
    services: &Services,
    request: &RequestContext,
    filter: &SecurityEventFilter,
    page: &PageRequest,
) -> ApiResult<Page<SecurityEventRecord>> {
    let staff = services.rbac.staff_accounts(request).await?;
    Ok(services.audit.security_events(request, &staff, filter, page).await?)
}

/// The sign-in attempts on the accounts of the request tenant's staff.
pub(crate) async fn login_history(
    services: &Services,
    request: &RequestContext,
    filter: &LoginFilter,
    page: &PageRequest,
) -> ApiResult<Page<LoginAttempt>> {
    let staff = services.rbac.staff_accounts(request).await?;
    Ok(services.identity.login_history(request, &staff, filter, page).await?)
}
