//! Closing one's own account spans two domains: `rbac` knows whom each business
//! has as owners, `identity` closes the account and ends its sessions.

use tessera_kernel::{DomainError, RequestContext};

use crate::error::ApiResult;
use crate::services::Services;

/// How the caller closes their account.
pub(crate) enum Closing<'a> {
    /// Deactivated, with an optional reason: the operator can reactivate it.
    Deactivate {
        /// Why, in the owner's words.
        reason: Option<&'a str>,
    },
    /// Deleted (softly, and for good).
    Delete,
}

/// Closes the signed-in user's account after checking `password`, unless they
/// are the last owner of a business: that business would be left without one.
pub(crate) async fn close_my_account(
    services: &Services,
    request: &RequestContext,
    password: &str,
    closing: Closing<'_>,
) -> ApiResult<()> {
    let actor = request.require_actor()?;
    let sole = services.rbac.tenants_solely_owned_by(actor.user_id).await?;
    if !sole.is_empty() {
        return Err(DomainError::Conflict(format!(
            "you are the last owner of {} business(es): make someone else an owner, or delete the business, first",
            sole.len()
        ))
        .into());
    }
    match closing {
        Closing::Deactivate { reason } => services.identity.deactivate_my_account(request, password, reason).await?,
        Closing::Delete => services.identity.delete_my_account(request, password).await?,
    };
    Ok(())
}
