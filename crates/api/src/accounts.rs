//! The platform operator's account actions (`tessera account …`): suspend,
//! deactivate, delete or reactivate an account by email, with a reason. Ended
//! sessions are marked ended and announced on the event bus, so their requests
//! and subscriptions stop on every replica that shares Redis. Without Redis
//! this command's process cannot reach a running gateway's memory: the gateway
//! notices when it next asks the database about the session, within a minute
//! for requests (a remembered session is asked again when its use is due to be
//! recorded) and at the next session check for subscriptions.

use tessera_identity::{User, UserStatus};
use tessera_kernel::{RequestContext, RequestMeta};

use crate::error::ApiError;
use crate::services::Services;

/// Sets the status of the account with `email` as the operator; the identity
/// service tells subscriptions of the sessions that ended, before this returns.
pub async fn set_status(services: &Services, email: &str, to: UserStatus, reason: &str) -> Result<User, ApiError> {
    let meta = RequestMeta { request_id: "operator".into(), ip: None, user_agent: Some("tessera account".into()) };
    let ctx = RequestContext::anonymous(meta, services.clock.clone());
    let (user, _ended) = services.identity.set_account_status(&ctx, email, to, reason).await?;
    Ok(user)
}
