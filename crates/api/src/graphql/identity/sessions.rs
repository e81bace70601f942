//! Sessions: the caller's sessions and login history, refreshing, logging out and
//! revoking, and the per-account session limit.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::{LoginAttempt, LoginFilter, Session};
use tessera_kernel::{Permission, SessionId};

use super::objects::AuthPayloadObject;
use crate::error::{ApiError, ApiResult};
use crate::flows;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::{Requires, SignedIn, parse_id, request, services};

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

/// Which login attempts to list.
#[derive(InputObject, Default)]
pub(crate) struct LoginFilterInput {
    /// Only this account's.
    user_id: Option<ID>,
    /// Only successes (`true`) or failures (`false`).
    succeeded: Option<bool>,
    /// At or after.
    from: Option<DateTime<Utc>>,
    /// Before.
    to: Option<DateTime<Utc>>,
}

impl LoginFilterInput {
    pub(crate) fn parse(self) -> ApiResult<LoginFilter> {
        Ok(LoginFilter {
            user_id: self.user_id.as_ref().map(|id| parse_id("userId", id)).transpose()?,
            succeeded: self.succeeded,
            from: self.from,
            to: self.to,
        })
    }
}

/// Queries about sessions.
#[derive(Default)]
pub(super) struct SessionQueries;

#[operations]
#[Object]
impl SessionQueries {
    /// The caller's sessions that are still usable.
    #[access(SignedIn)]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
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
    #[access(SignedIn)]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
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

    /// The login attempts of the current tenant's staff (see `securityEvents`),
    /// oldest first (`last: 20` for the latest).
    #[access(Requires(Permission::AuditRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn login_history(
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
        let page = flows::staff_activity::login_history(services(ctx)?, request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |a| a.id, LoginAttemptObject::from))
    }
}

/// Mutations about sessions.
#[derive(Default)]
pub(super) struct SessionMutations;

#[operations]
#[Object]
impl SessionMutations {
    /// Exchanges a refresh token for new tokens. A refresh token works once; using
    /// one again ends the session.
    #[access(Public)]
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> ApiResult<AuthPayloadObject> {
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
        Ok(AuthPayloadObject::new(user, issued))
    }

    /// Ends the current session.
    #[access(SignedIn)]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(services(ctx)?.identity.logout(request(ctx)?).await?)
    }

    /// Ends one of the caller's sessions (another device).
    #[access(SignedIn)]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SessionObject> {
        let request = request(ctx)?;
        let session = services(ctx)?.identity.revoke_my_session(request, parse_id("id", &id)?).await?;
        Ok(SessionObject::new(session, request.actor().map(|a| a.session_id)))
    }
}
