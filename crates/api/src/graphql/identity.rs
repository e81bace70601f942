//! GraphQL for identity: the `User` entity, sign-up, login, refresh, logout, and the
//! caller's sessions and login history.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_identity::{
    ApiKey, Credentials, Email, IssuedSession, LoginAttempt, LoginOutcome, MfaChallenge, NewUser, Session, User,
};
use tessera_kernel::{DomainError, Permission, SessionId, UserId};
use tracing::warn;

use super::audit::LoginFilterInput;
use super::connection::{connection, page_cost, page_request};
use super::{InSession, SignedIn, authenticated, loaders, parse_id, public, request, services};
use crate::error::{ApiError, ApiResult};
use crate::events::BusMessage;

/// Whether a user may sign in.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UserStatus", remote = "tessera_identity::UserStatus")]
pub(crate) enum UserStatusGql {
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
pub(crate) struct UserObject(pub(crate) User, Viewer);

/// Who is looking at a [`UserObject`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Viewer {
    /// Whoever made the request: the rule decides.
    Caller,
    /// The person themselves, just signed in (their request carried no token).
    Themselves,
}

/// Whether `user` belongs to the request's tenant (batched per request).
pub(crate) async fn is_member_here(ctx: &Context<'_>, user: UserId) -> ApiResult<bool> {
    let found = loaders(ctx)?.members.load_one(user).await?;
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
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<Option<UserStatusGql>> {
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
    async fn roles(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<super::rbac::RoleObject>>> {
        let request = request(ctx)?;
        if request.actor().map(|a| a.user_id) != Some(self.0.id) {
            return Ok(None);
        }
        if request.tenant().is_none() {
            return Ok(Some(Vec::new()));
        }
        super::rbac::my_roles(ctx).await.map(Some)
    }
}

/// A signed-in session of the caller.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Session")]
pub(crate) struct SessionObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// When it began.
    created_at: DateTime<Utc>,
    /// When it was last used.
    last_used_at: DateTime<Utc>,
    /// When it ends if unused.
    idle_expires_at: DateTime<Utc>,
    /// When it ends regardless of use.
    absolute_expires_at: DateTime<Utc>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    revoked_reason: Option<String>,
    /// Client user agent at login.
    user_agent: Option<String>,
    /// Client IP at login.
    ip: Option<String>,
    /// Whether this is the session of the current request.
    current: bool,
}

impl SessionObject {
    pub(crate) fn new(s: Session, current: Option<SessionId>) -> Self {
        Self {
            id: ID(s.id.to_string()),
            current: current == Some(s.id),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            idle_expires_at: s.idle_expires_at,
            absolute_expires_at: s.absolute_expires_at,
            revoked_at: s.revoked_at,
            revoked_reason: s.revoked_reason,
            user_agent: s.user_agent,
            ip: s.ip,
        }
    }
}

/// One login attempt.
#[derive(SimpleObject)]
#[graphql(name = "LoginAttempt")]
pub(crate) struct LoginAttemptObject {
    /// Id.
    id: ID,
    /// The account, when the email named one.
    user_id: Option<ID>,
    /// Whether it succeeded.
    succeeded: bool,
    /// Why it failed: `invalid_credentials`, `throttled` or `account_disabled`.
    failure_reason: Option<String>,
    /// Client IP.
    ip: Option<String>,
    /// Client user agent.
    user_agent: Option<String>,
    /// When.
    at: DateTime<Utc>,
}

impl From<LoginAttempt> for LoginAttemptObject {
    fn from(a: LoginAttempt) -> Self {
        Self {
            id: ID(a.id.to_string()),
            user_id: a.user_id.map(|id| ID(id.to_string())),
            succeeded: a.succeeded,
            failure_reason: a.failure_reason,
            ip: a.ip,
            user_agent: a.user_agent,
            at: a.at,
        }
    }
}

/// Tokens for a new or refreshed session. Shown once: store them safely.
#[derive(SimpleObject)]
pub(crate) struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    access_token: String,
    /// When the access token ends if unused (each use extends it).
    access_token_expires_at: DateTime<Utc>,
    /// Exchange for new tokens with `refreshSession`; works once.
    refresh_token: String,
    /// When the refresh token expires.
    refresh_token_expires_at: DateTime<Utc>,
    /// The session.
    session_id: ID,
    /// The signed-in user.
    user: UserObject,
    /// This device's sign-in token, set by sign-ins (not by `signUp` or
    /// refreshes). Keep it on the device (beside, not instead of, the session)
    /// and send it as `deviceToken` with the next `login`: it lets the account's
    /// owner sign in from here while strangers' failed guesses hold the account
    /// in backoff. Each sign-in replaces it.
    device_token: Option<String>,
}

impl AuthPayload {
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

/// What `signUp` answers, whether or not the address has an account: look in
/// the inbox.
#[derive(SimpleObject)]
pub(crate) struct SignUpPayload {
    /// The address the email went to (normalised).
    email: String,
    /// When the link in it stops working (24 hours).
    expires_at: DateTime<Utc>,
}

/// A new account.
#[derive(InputObject)]
pub(crate) struct SignUpInput {
    /// Email address.
    email: String,
    /// Password: at least 12 characters (as configured), up to 256; passphrases
    /// welcome. Common passwords, simple patterns and ones built from the email or
    /// name are refused.
    #[graphql(secret)]
    password: String,
    /// Name shown to others.
    display_name: String,
    /// Language of account emails (BCP 47, such as `es`); English when absent
    /// or when there is no text in that language.
    locale: Option<String>,
}

/// Credentials.
#[derive(InputObject)]
pub(crate) struct LoginInput {
    /// Email address.
    email: String,
    /// Password.
    #[graphql(secret)]
    password: String,
    /// The `deviceToken` an earlier sign-in on this device returned, if kept.
    #[graphql(secret)]
    device_token: Option<String>,
}

/// What `login` answers: a session, or the challenge of a second factor.
#[derive(SimpleObject)]
pub(crate) struct LoginPayload {
    /// Send as `Authorization: Bearer <accessToken>`; null until every factor is in.
    access_token: Option<String>,
    /// When the access token ends if unused.
    access_token_expires_at: Option<DateTime<Utc>>,
    /// Exchange for new tokens with `refreshSession`; works once.
    refresh_token: Option<String>,
    /// When the refresh token expires.
    refresh_token_expires_at: Option<DateTime<Utc>>,
    /// The session.
    session_id: Option<ID>,
    /// The signed-in user.
    user: Option<UserObject>,
    /// This device's sign-in token (see `AuthPayload.deviceToken`); after a
    /// second factor, `completeLogin` returns it instead.
    device_token: Option<String>,
    /// Set when the account has a second factor: complete with `completeLogin`.
    second_factor: Option<SecondFactorChallenge>,
}

impl LoginPayload {
    fn signed_in(auth: AuthPayload) -> Self {
        Self {
            access_token: Some(auth.access_token),
            access_token_expires_at: Some(auth.access_token_expires_at),
            refresh_token: Some(auth.refresh_token),
            refresh_token_expires_at: Some(auth.refresh_token_expires_at),
            session_id: Some(auth.session_id),
            user: Some(auth.user),
            device_token: auth.device_token,
            second_factor: None,
        }
    }

    fn challenged(challenge: MfaChallenge) -> Self {
        Self {
            access_token: None,
            access_token_expires_at: None,
            refresh_token: None,
            refresh_token_expires_at: None,
            session_id: None,
            user: None,
            device_token: None,
            second_factor: Some(SecondFactorChallenge {
                challenge: challenge.token,
                expires_at: challenge.expires_at,
                methods: challenge.methods.into_iter().map(SecondFactorGql::from).collect(),
                passkey_options: challenge.passkey_options.map(Json),
            }),
        }
    }
}

/// A login waiting for its second factor.
#[derive(SimpleObject)]
pub(crate) struct SecondFactorChallenge {
    /// Hand back to `completeLogin` with the code (or to
    /// `completeLoginWithPasskey`).
    challenge: String,
    /// When it stops working (five minutes).
    expires_at: DateTime<Utc>,
    /// What it can be completed with.
    methods: Vec<SecondFactorGql>,
    /// When `methods` has `PASSKEY`: `{"publicKey": …}` for
    /// `navigator.credentials.get` (through `parseRequestOptionsFromJSON`).
    passkey_options: Option<Json<serde_json::Value>>,
}

/// A way to complete a login after the password.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SecondFactor", remote = "tessera_identity::SecondFactor")]
pub(crate) enum SecondFactorGql {
    /// A six-digit code from an authenticator app.
    Totp,
    /// One of the account's one-time backup codes.
    BackupCode,
    /// One of the account's passkeys (`completeLoginWithPasskey`).
    Passkey,
}

/// A new authenticator app's secret, until a code from the app confirms it.
#[derive(SimpleObject)]
#[graphql(name = "TotpEnrollment")]
pub(crate) struct TotpEnrollmentObject {
    /// The secret in base32, for typing into the app.
    secret: String,
    /// `otpauth://totp/…`: show it as a QR code.
    otpauth_uri: String,
}

/// The caller's second factors.
#[derive(SimpleObject)]
#[graphql(name = "MfaStatus")]
pub(crate) struct MfaStatusObject {
    /// Whether an authenticator app is on.
    totp: bool,
    /// Unused backup codes.
    backup_codes_left: u32,
    /// Passkeys that can sign in.
    passkeys: u32,
}

/// A personal API key (never its secret).
#[derive(Clone, SimpleObject)]
#[graphql(name = "ApiKey")]
pub(crate) struct ApiKeyObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// What it is for.
    name: String,
    /// Its first characters, to tell keys apart (`tsk_AbCdEfGh`).
    prefix: String,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When it stops working.
    expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyObject {
    fn from(k: ApiKey) -> Self {
        Self {
            id: ID(k.id.to_string()),
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new API key with its secret, shown this once.
#[derive(SimpleObject)]
pub(crate) struct CreatedApiKey {
    /// The key.
    api_key: ApiKeyObject,
    /// Send as `Authorization: Bearer <secret>`. Store it now: it is not shown again.
    secret: String,
}

#[derive(Default)]
pub(crate) struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The caller's API keys that are not revoked, newest first.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn my_api_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiKeyObject>> {
        Ok(services(ctx)?.identity.my_api_keys(request(ctx)?).await?.into_iter().map(ApiKeyObject::from).collect())
    }

    /// The caller's second factors.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn my_mfa(&self, ctx: &Context<'_>) -> ApiResult<MfaStatusObject> {
        let status = services(ctx)?.identity.mfa_status(request(ctx)?).await?;
        Ok(MfaStatusObject {
            totp: status.totp,
            backup_codes_left: status.backup_codes_left,
            passkeys: status.passkeys,
        })
    }

    /// The signed-in user.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<UserObject> {
        Ok(UserObject::seen(services(ctx)?.identity.me(request(ctx)?).await?))
    }

    /// The caller's sessions that are still usable.
    #[graphql(guard = "SignedIn", directive = authenticated::apply(), complexity = "page_cost(first, last, child_complexity)")]
    async fn my_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, SessionObject>> {
        let request = request(ctx)?;
        let current = request.actor().map(|a| a.session_id);
        let page = services(ctx)?.identity.my_sessions(request, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |s| s.id.as_uuid(), |s| SessionObject::new(s, current)))
    }

    /// The caller's login attempts, oldest first (`last: 10` for the latest).
    #[graphql(guard = "SignedIn", directive = authenticated::apply(), complexity = "page_cost(first, last, child_complexity)")]
    async fn my_login_history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<LoginFilterInput>,
    ) -> ApiResult<Connection<String, LoginAttemptObject>> {
        let filter = filter.unwrap_or_default().parse()?;
        let page = page_request(first, after, last, before);
        let page = services(ctx)?.identity.my_login_history(request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |a| a.id, LoginAttemptObject::from))
    }

    /// Federation: resolves a `User` reference from another subgraph: the caller
    /// themselves, or a member of the request's tenant; nobody else.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<UserObject>> {
        let Ok(id) = id.parse::<UserId>() else { return Ok(None) };
        let request = request(ctx)?;
        let Some(actor) = request.actor() else { return Ok(None) };
        if actor.user_id != id && !is_member_here(ctx, id).await? {
            return Ok(None);
        }
        let found = loaders(ctx)?.users.load_one(id).await?;
        Ok(found.map(UserObject::seen))
    }
}

#[derive(Default)]
pub(crate) struct IdentityMutation;

/// Ends the user's oldest sessions beyond the strictest limit of the tenants
/// they belong to (after a new sign-in), and tells their subscriptions.
pub(crate) async fn apply_session_limit(ctx: &Context<'_>, user_id: UserId) -> ApiResult<()> {
    let services = services(ctx)?;
    if let Some(max) = services.tenants.session_limit_for(user_id).await? {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        for session in services.identity.limit_sessions(request(ctx)?, user_id, max).await? {
            announce_revocation(ctx, session);
        }
    }
    Ok(())
}

/// An account that is the last owner of a business cannot be closed: the
/// business would be left without anyone who can run it.
async fn refuse_if_last_owner(ctx: &Context<'_>) -> ApiResult<()> {
    let actor = request(ctx)?.require_actor()?;
    let sole = services(ctx)?.rbac.tenants_solely_owned_by(actor.user_id).await?;
    if sole.is_empty() {
        return Ok(());
    }
    Err(DomainError::Conflict(format!(
        "you are the last owner of {} business(es): make someone else an owner, or delete the business, first",
        sole.len()
    ))
    .into())
}

fn announce_revocation(ctx: &Context<'_>, session_id: SessionId) {
    if let Ok(services) = services(ctx) {
        services.bus.publish_now(BusMessage::SessionRevoked { session_id });
    }
}

#[Object]
impl IdentityMutation {
    /// Starts a sign-up: emails the address a link that creates the account
    /// (`completeSignUp`), or, when the address has an account already, a note
    /// to its owner that someone tried. Answers the same either way, so it
    /// tells nobody whether an address has an account; at most three such
    /// emails go to one address an hour, and one client may sign up ten times
    /// an hour (`RATE_LIMITED`).
    #[graphql(directive = public::apply())]
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<SignUpPayload> {
        let new_user = NewUser {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            locale: input.locale,
        };
        let requested = services(ctx)?.identity.request_sign_up(request(ctx)?, new_user).await?;
        Ok(SignUpPayload { email: requested.email, expires_at: requested.expires_at })
    }

    /// Finishes a sign-up with the token of the emailed link: creates the
    /// account, its address verified, and signs it in. Needs no session.
    #[graphql(directive = public::apply())]
    async fn complete_sign_up(&self, ctx: &Context<'_>, #[graphql(secret)] token: String) -> ApiResult<AuthPayload> {
        let (user, issued) = services(ctx)?.identity.complete_sign_up(request(ctx)?, &token).await?;
        Ok(AuthPayload::new(user, issued))
    }

    /// Signs in with email and password. Failed attempts are throttled per
    /// account and per client address; with the `deviceToken` of an earlier
    /// sign-in on this device, per device instead. For an account with a second factor the tokens are null and
    /// `secondFactor` holds the challenge to complete with `completeLogin`.
    #[graphql(directive = public::apply())]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<LoginPayload> {
        let credentials =
            Credentials { email: &input.email, password: &input.password, device_token: input.device_token.as_deref() };
        let outcome = services(ctx)?.identity.login(request(ctx)?, credentials).await?;
        Ok(match outcome {
            LoginOutcome::SignedIn(user, issued) => {
                apply_session_limit(ctx, user.id).await?;
                LoginPayload::signed_in(AuthPayload::new(*user, issued))
            }
            LoginOutcome::SecondFactorRequired(challenge) => LoginPayload::challenged(challenge),
        })
    }

    /// Completes a login that asked for a second factor, with a code from the
    /// authenticator app or an unused backup code. Wrong codes count on the
    /// account's login throttle; a challenge lasts five minutes and five wrong codes.
    #[graphql(directive = public::apply())]
    async fn complete_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] challenge: String,
        #[graphql(secret)] code: String,
    ) -> ApiResult<AuthPayload> {
        let (user, issued) = services(ctx)?.identity.complete_login(request(ctx)?, &challenge, &code).await?;
        apply_session_limit(ctx, user.id).await?;
        Ok(AuthPayload::new(user, issued))
    }

    /// Starts setting up an authenticator app, with the password: show
    /// `otpauthUri` as a QR code (or `secret` for typing in), then confirm with a
    /// code from the app. Replaces a setup not yet confirmed; `CONFLICT` when an
    /// app is already on. From a signed-in session only (not an API key).
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn enroll_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> ApiResult<TotpEnrollmentObject> {
        let enrollment = services(ctx)?.identity.enroll_totp(request(ctx)?, &password).await?;
        Ok(TotpEnrollmentObject { secret: enrollment.secret, otpauth_uri: enrollment.otpauth_uri })
    }

    /// Confirms the authenticator app with a current code and turns the second
    /// factor on. Returns ten one-time backup codes, shown this once: keep them
    /// somewhere safe.
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn confirm_totp(&self, ctx: &Context<'_>, #[graphql(secret)] code: String) -> ApiResult<Vec<String>> {
        Ok(services(ctx)?.identity.confirm_totp(request(ctx)?, &code).await?)
    }

    /// Turns the authenticator app off (backup codes too), with the password.
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn disable_totp(&self, ctx: &Context<'_>, #[graphql(secret)] password: String) -> ApiResult<bool> {
        Ok(services(ctx)?.identity.disable_totp(request(ctx)?, &password).await?)
    }

    /// Replaces the backup codes with ten new ones (shown this once), with the
    /// password.
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn regenerate_backup_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Vec<String>> {
        Ok(services(ctx)?.identity.regenerate_backup_codes(request(ctx)?, &password).await?)
    }

    /// Exchanges a refresh token for new tokens. A refresh token works once; using
    /// one again ends the session.
    #[graphql(directive = public::apply())]
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        let services = services(ctx)?;
        let request = request(ctx)?;
        let issued = services.identity.refresh(request, &refresh_token).await?;
        let user = services
            .identity
            .users_by_ids(
                &request
                    .clone()
                    .with_actor(tessera_kernel::Actor { user_id: issued.user_id, session_id: issued.session_id }),
                &[issued.user_id],
            )
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("refreshed session has no user"))?;
        Ok(AuthPayload::new(user, issued))
    }

    /// Ends the current session.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let request = request(ctx)?;
        let revoked = services(ctx)?.identity.logout(request).await?;
        if let Some(actor) = request.actor() {
            announce_revocation(ctx, actor.session_id);
        }
        Ok(revoked)
    }

    /// Changes the caller's password. The current one must match; the new one
    /// follows the password policy and may not repeat a recent one. Every other
    /// session of the caller ends (their subscriptions too); returns how many.
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] current_password: String,
        #[graphql(secret)] new_password: String,
    ) -> ApiResult<i32> {
        let request = request(ctx)?;
        let ended = services(ctx)?.identity.change_password(request, &current_password, &new_password).await?;
        for session in &ended {
            announce_revocation(ctx, *session);
        }
        Ok(i32::try_from(ended.len()).unwrap_or(i32::MAX))
    }

    /// Sends the caller a new link to verify their email address (earlier links
    /// stop working). `false` when it is already verified; `RATE_LIMITED` within
    /// a minute of the last link.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn resend_email_verification(&self, ctx: &Context<'_>, locale: Option<String>) -> ApiResult<bool> {
        Ok(services(ctx)?.identity.request_email_verification(request(ctx)?, locale.as_deref()).await?)
    }

    /// Verifies an email address with the token of the link sent to it (the
    /// part after `#token=`). No session needed. A link works once, for 24 hours.
    #[graphql(directive = public::apply())]
    async fn verify_email(&self, ctx: &Context<'_>, #[graphql(secret)] token: String) -> ApiResult<bool> {
        services(ctx)?.identity.verify_email(request(ctx)?, &token).await?;
        Ok(true)
    }

    /// Emails a password-reset link (valid 30 minutes, usable once) if the
    /// address belongs to an active account. Always answers `true`, at once,
    /// whether or not it does: the answer never tells who has an account. An
    /// account gets at most three links an hour.
    #[graphql(directive = public::apply())]
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
        locale: Option<String>,
    ) -> ApiResult<bool> {
        // Malformed input is the caller's mistake and says nothing about anyone.
        Email::parse(&email)?;
        let services = services(ctx)?.clone();
        let request = request(ctx)?.clone();
        // In the background, so an existing account (which costs a few writes)
        // does not answer later than a missing one.
        tokio::spawn(async move {
            if let Err(err) = services.identity.request_password_reset(&request, &email, locale.as_deref()).await {
                warn!(request_id = %request.meta().request_id, error = %err, "sending a password reset link failed");
            }
        });
        Ok(true)
    }

    /// Sets a new password with the token of a reset link. The password follows
    /// the policy and may not repeat a recent one; every session of the account
    /// ends (subscriptions too) and failed-login backoff is cleared. Sign in
    /// afterwards.
    #[graphql(directive = public::apply())]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
        #[graphql(secret)] new_password: String,
    ) -> ApiResult<bool> {
        let ended = services(ctx)?.identity.reset_password(request(ctx)?, &token, &new_password).await?;
        for session in ended {
            announce_revocation(ctx, session);
        }
        Ok(true)
    }

    /// Deactivates the caller's account, with the password: nobody can sign in to
    /// it any more and every session ends at once (subscriptions too). Coming
    /// back goes through the platform's operator.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn deactivate_my_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
        reason: Option<String>,
    ) -> ApiResult<bool> {
        refuse_if_last_owner(ctx).await?;
        let ended = services(ctx)?.identity.deactivate_my_account(request(ctx)?, &password, reason.as_deref()).await?;
        for session in ended {
            announce_revocation(ctx, session);
        }
        Ok(true)
    }

    /// Deletes the caller's account, with the password. Deleting is soft and
    /// final: the account can no longer be used, every session ends at once, and
    /// records that name it (bookings, the audit log) keep their meaning.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn delete_my_account(&self, ctx: &Context<'_>, #[graphql(secret)] password: String) -> ApiResult<bool> {
        refuse_if_last_owner(ctx).await?;
        let ended = services(ctx)?.identity.delete_my_account(request(ctx)?, &password).await?;
        for session in ended {
            announce_revocation(ctx, session);
        }
        Ok(true)
    }

    /// Makes a personal API key acting as the caller, valid `expiresInDays` (90
    /// unless given, at most 365). Use it as a bearer token (with `X-Tenant` as
    /// usual). Needs a signed-in session, not another key.
    #[graphql(guard = "InSession", directive = authenticated::apply())]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: Option<u32>,
    ) -> ApiResult<CreatedApiKey> {
        let (key, secret) = services(ctx)?.identity.create_api_key(request(ctx)?, &name, expires_in_days).await?;
        Ok(CreatedApiKey { api_key: key.into(), secret })
    }

    /// Revokes one of the caller's API keys at once (its subscriptions too).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKeyObject> {
        let id: uuid::Uuid = id
            .parse()
            .map_err(|_| ApiError::from(tessera_kernel::DomainError::invalid("id", "must be an API key id")))?;
        let key = services(ctx)?.identity.revoke_api_key(request(ctx)?, id).await?;
        announce_revocation(ctx, SessionId(key.id));
        Ok(key.into())
    }

    /// Ends one of the caller's sessions (another device).
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SessionObject> {
        let request = request(ctx)?;
        let session = services(ctx)?.identity.revoke_my_session(request, parse_id("id", &id)?).await?;
        announce_revocation(ctx, session.id);
        Ok(SessionObject::new(session, request.actor().map(|a| a.session_id)))
    }
}
