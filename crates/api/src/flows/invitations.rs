//! Invitations span two domains: `rbac` keeps the invitation and makes the
//! member; `identity` knows the accounts (who the inviter is called, whether
//! the address has an account, creating one for the invited address).

use tessera_identity::{Email, IssuedSession, NewUser, User};
use tessera_kernel::{Actor, DomainError, InvitationId, RequestContext, RoleId};
use tessera_rbac::{Invitation, InvitationPreview, InvitationStatus, NewInvitation};

use crate::error::ApiResult;
use crate::services::Services;

/// Invites `email` to the request's tenant with `roles`; the email names the
/// inviter, and an address that has an account already is invited as that
/// account.
pub(crate) async fn invite(
    services: &Services,
    request: &RequestContext,
    email: &Email,
    roles: Vec<RoleId>,
) -> ApiResult<Invitation> {
    let inviter = services.identity.me(request).await?;
    let existing_user = services.identity.user_id_by_email(email).await?;
    let new =
        NewInvitation { email: email.as_str().to_owned(), roles, inviter_name: inviter.display_name, existing_user };
    Ok(services.rbac.invite(request, new).await?)
}

/// Sends invitation `id` again with a new link, in the inviter's name.
pub(crate) async fn resend(services: &Services, request: &RequestContext, id: InvitationId) -> ApiResult<Invitation> {
    let inviter = services.identity.me(request).await?;
    Ok(services.rbac.resend_invitation(request, id, &inviter.display_name).await?)
}

/// Accepts the invitation behind `token` as the signed-in user, whose (proven)
/// address must be the invited one.
pub(crate) async fn accept(services: &Services, request: &RequestContext, token: &str) -> ApiResult<InvitationPreview> {
    let me = services.identity.me(request).await?;
    Ok(services.rbac.accept_invitation(request, token, &me.email).await?)
}

/// Creates an account for the invited address and accepts the invitation as
/// it, signed in. The address counts as verified: the link proved it.
pub(crate) async fn sign_up_with(
    services: &Services,
    request: &RequestContext,
    token: &str,
    account: NewAccount,
) -> ApiResult<(User, IssuedSession)> {
    let offer = services.rbac.invitation_by_token(request, token).await?;
    if offer.status != InvitationStatus::Pending {
        return Err(DomainError::invalid("token", "the invitation has expired; ask for it to be sent again").into());
    }
    let new_user = NewUser {
        email: offer.email,
        password: account.password,
        display_name: account.display_name,
        locale: account.locale,
    };
    let (user, issued) = services.identity.create_account(request, new_user).await?;
    let signed_in = request.clone().with_actor(Actor { user_id: user.id, session_id: issued.session_id });
    services.rbac.accept_invitation(&signed_in, token, &user.email).await?;
    Ok((user, issued))
}

/// What a person signing up with an invitation gives, besides the link.
pub(crate) struct NewAccount {
    /// Their password.
    pub(crate) password: String,
    /// Their name as others see it.
    pub(crate) display_name: String,
    /// Their language, if given.
    pub(crate) locale: Option<String>,
}
