//! What follows every way of signing in (password, second factor, passkey):
//! `tenant` knows the businesses' policies, `identity` the sessions.

use tessera_kernel::{RequestContext, UserId};

use crate::error::ApiResult;
use crate::services::Services;

/// Ends `user_id`'s oldest sessions beyond the strictest concurrent-session
/// limit of the businesses they belong to, now that a new one began. The
/// identity service tells the ended sessions' subscriptions.
pub(crate) async fn signed_in(services: &Services, request: &RequestContext, user_id: UserId) -> ApiResult<()> {
    let Some(max) = services.tenants.session_limit_for(user_id).await? else { return Ok(()) };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    services.identity.limit_sessions(request, user_id, max).await?;
    Ok(())
}
