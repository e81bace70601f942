//! Identity's types that other domains show: people (`User`, with the one rule for
//! what others see of a person), the tokens of a new session (`AuthPayload`) and
//! partner clients (`OAuthClient`). Other domains import these, never identity's
//! resolver files.

use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_identity::{IssuedSession, OAuthClient, User};
use tessera_kernel::{Permission, UserId};

use crate::error::ApiResult;
use crate::graphql::rbac::objects::{RoleObject, my_roles};
use crate::graphql::{loaders, request};

/// Whether a user may sign in.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UserStatus", remote = "tessera_identity::UserStatus")]
pub(crate) enum UserStatusEnum {
    Active,
    Inactive,
    Suspended,
    Deleted,
}

/// A person who can sign in.
///
/// One rule for what others see of a person, wherever a user appears (federation,
/// booking and audit fields, invitations, partner clients): the id and name to
/// anyone who reached the record that names them; contact and account details
/// (email, status, dates) only to the person themselves or, in a business, to
/// those holding `member:read` when the person is one of its members.
#[derive(Clone)]
pub(crate) struct UserObject(pub(crate) User, pub(super) Viewer);

/// Who is looking at a [`UserObject`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Viewer {
    /// Whoever made the request: the rule decides.
    Caller,
    /// The person themselves, just signed in (their request carried no token).
    Themselves,
}

/// Whether `user` belongs to the request's tenant (batched per request).
pub(crate) async fn is_member_here(ctx: &Context<'_>, user: UserId) -> ApiResult<bool> {
    let found = loaders(ctx)?.members().load_one(user).await?;
    Ok(found.is_some())
}

impl UserObject {
    /// A person as the caller sees them.
    pub(crate) fn seen(user: User) -> Self {
        Self(user, Viewer::Caller)
    }

    /// Whether the caller may see this person's contact and account details.
    async fn shows_details(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        if self.1 == Viewer::Themselves {
            return Ok(true);
        }
        let request = request(ctx)?;
        let Some(actor) = request.actor() else { return Ok(false) };
        // A partner client never reads its maker's account as the maker would.
        if actor.user_id == self.0.id && request.client().is_none() {
            return Ok(true);
        }
        let may_list_members = request.tenant().is_some_and(|t| t.permissions.contains(Permission::MemberRead));
        Ok(may_list_members && is_member_here(ctx, self.0.id).await?)
    }

    async fn detail<T>(&self, ctx: &Context<'_>, value: T) -> ApiResult<Option<T>> {
        Ok(self.shows_details(ctx).await?.then_some(value))
    }
}

#[Object(name = "User")]
impl UserObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Email address (normalised to lower case). Shown to the person and, in a
    /// business, to those who may list its members; null to others.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        self.detail(ctx, self.0.email.as_str()).await
    }
    /// Name shown to others.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Whether they may sign in (shown as `email` is).
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<Option<UserStatusEnum>> {
        self.detail(ctx, self.0.status.into()).await
    }
    /// When they signed up (shown as `email` is).
    async fn created_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        self.detail(ctx, self.0.created_at).await
    }
    /// Their last successful login (shown as `email` is).
    async fn last_login_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.detail(ctx, self.0.last_login_at).await?.flatten())
    }
    /// Whether they proved the email address is theirs (a verification,
    /// password-reset or invitation link sent to it was used); shown as `email` is.
    async fn email_verified(&self, ctx: &Context<'_>) -> ApiResult<Option<bool>> {
        self.detail(ctx, self.0.email_verified_at.is_some()).await
    }
    /// When they proved it (shown as `email` is).
    async fn email_verified_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.detail(ctx, self.0.email_verified_at).await?.flatten())
    }
    /// For the signed-in user: what they may do in the request's tenant
    /// (`X-Tenant`), as permission names; empty without a tenant. Null for others.
    async fn permissions(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<&'static str>>> {
        let request = request(ctx)?;
        if request.actor().map(|a| a.user_id) != Some(self.0.id) {
            return Ok(None);
        }
        Ok(Some(request.tenant().map(|t| t.permissions.iter().map(|p| p.name()).collect()).unwrap_or_default()))
    }
    /// For the signed-in user: their roles in the request's tenant (`X-Tenant`),
    /// directly or through groups; empty without a tenant. Null for others.
    async fn roles(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<RoleObject>>> {
        let request = request(ctx)?;
        if request.actor().map(|a| a.user_id) != Some(self.0.id) {
            return Ok(None);
        }
        if request.tenant().is_none() {
            return Ok(Some(Vec::new()));
        }
        my_roles(ctx).await.map(Some)
    }
}

/// The user with `id`, as the caller may see them (see [`UserObject`]); `None`
/// for no id or a user the caller cannot reach.
pub(crate) async fn user_by_id(ctx: &Context<'_>, id: Option<UserId>) -> ApiResult<Option<UserObject>> {
    let Some(id) = id else { return Ok(None) };
    let found = loaders(ctx)?.users().load_one(id).await?;
    Ok(found.map(UserObject::seen))
}

/// Tokens for a new or refreshed session. Shown once: store them safely.
#[derive(SimpleObject)]
#[graphql(name = "AuthPayload")]
pub(crate) struct AuthPayloadObject {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub(super) access_token: String,
    /// When the access token ends if unused (each use extends it).
    pub(super) access_token_expires_at: DateTime<Utc>,
    /// Exchange for new tokens with `refreshSession`; works once.
    pub(super) refresh_token: String,
    /// When the refresh token expires.
    pub(super) refresh_token_expires_at: DateTime<Utc>,
    /// The session.
    pub(super) session_id: ID,
    /// The signed-in user.
    pub(super) user: UserObject,
    /// This device's sign-in token, set by sign-ins (not by `signUp` or
    /// refreshes). Keep it on the device (beside, not instead of, the session)
    /// and send it as `deviceToken` with the next `login`: it lets the account's
    /// owner sign in from here while strangers' failed guesses hold the account
    /// in backoff. Each sign-in replaces it.
    pub(super) device_token: Option<String>,
}

impl AuthPayloadObject {
    pub(crate) fn new(user: User, issued: IssuedSession) -> Self {
        Self {
            access_token: issued.access_token,
            access_token_expires_at: issued.access_token_expires_at,
            refresh_token: issued.refresh_token,
            refresh_token_expires_at: issued.refresh_token_expires_at,
            session_id: ID(issued.session_id.to_string()),
            user: UserObject(user, Viewer::Themselves),
            device_token: issued.device_token,
        }
    }
}

/// A partner's API client of the current business (never its secret).
#[derive(Clone, SimpleObject)]
#[graphql(name = "OAuthClient", complex)]
pub(crate) struct OAuthClientObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// What it is ("Acme booking widget").
    name: String,
    /// The public client id, for `POST /oauth/token`.
    client_id: String,
    /// What it may do: permission names. It acts within the rights of whoever
    /// made it, narrowed to these.
    scopes: Vec<String>,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When its secret was last replaced.
    rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it last obtained a token.
    last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    created_by: UserId,
}

#[ComplexObject]
impl OAuthClientObject {
    /// Who made it (and whose rights bound it).
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, Some(self.created_by)).await
    }
}

impl From<OAuthClient> for OAuthClientObject {
    fn from(c: OAuthClient) -> Self {
        Self {
            id: ID(c.id.to_string()),
            name: c.name,
            client_id: c.client_id,
            scopes: c.scopes.iter().map(|p| p.name().to_owned()).collect(),
            created_at: c.created_at,
            rotated_at: c.rotated_at,
            previous_secret_expires_at: c.previous_secret_expires_at,
            last_used_at: c.last_used_at,
            revoked_at: c.revoked_at,
            created_by: c.created_by,
        }
    }
}
