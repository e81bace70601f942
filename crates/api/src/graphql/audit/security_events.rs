//! Security events: those about a tenant's access and its staff's accounts,
//! and those about the caller's own account.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_audit::{SecurityEventFilter, SecurityEventRecord};
use tessera_kernel::Permission;

use crate::error::ApiResult;
use crate::flows;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::{UserObject, user_by_id};
use crate::graphql::{Requires, SignedIn, parse_id, request, services};

/// How much a security event matters.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Severity", remote = "tessera_audit::Severity")]
pub(crate) enum SeverityEnum {
    /// Routine, worth keeping.
    Low,
    /// Worth a look.
    Medium,
    /// Someone should look now.
    High,
    /// An account or tenant is probably under attack.
    Critical,
}

/// What a security event records.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SecurityEventKind", remote = "tessera_audit::SecurityEventKind")]
pub(crate) enum SecurityEventKindEnum {
    /// A wrong password, or an unknown email (then naming no user).
    LoginFailed,
    /// Enough failures that the account's logins are refused for a while.
    AccountLocked,
    /// A login refused because the account is locked.
    LoginThrottled,
    /// An already used refresh token came back; its session was revoked.
    RefreshTokenReused,
    /// A user ended one of their sessions from another.
    SessionRevoked,
    /// A role, group membership or assignment changed what someone may do.
    PermissionChanged,
    /// A user changed their password (or reset it); their other sessions were ended.
    PasswordChanged,
    /// A second factor was turned on.
    MfaEnabled,
    /// A second factor was turned off.
    MfaDisabled,
    /// A login was completed with a one-time backup code.
    BackupCodeUsed,
    /// New backup codes replaced the old ones.
    BackupCodesRegenerated,
    /// An account was deactivated, suspended, deleted or reactivated; its sessions ended.
    AccountStatusChanged,
    /// A personal API key was made (revoking one is a `SESSION_REVOKED`).
    ApiKeyCreated,
    /// A passkey was added to an account.
    PasskeyAdded,
    /// A passkey was removed from an account.
    PasskeyRemoved,
    /// A passkey's signature counter went backwards, so a copy of it may exist;
    /// it no longer signs in.
    PasskeyPossiblyCloned,
    /// A partner client was made for the business.
    #[graphql(name = "OAUTH_CLIENT_CREATED")]
    OAuthClientCreated,
    /// A partner client's secret was replaced.
    #[graphql(name = "OAUTH_CLIENT_SECRET_ROTATED")]
    OAuthClientSecretRotated,
    /// A partner client was revoked, with its tokens.
    #[graphql(name = "OAUTH_CLIENT_REVOKED")]
    OAuthClientRevoked,
}

/// Something a security reviewer looks for.
pub(crate) struct SecurityEventObject(SecurityEventRecord);

#[Object(name = "SecurityEvent")]
impl SecurityEventObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What happened.
    async fn kind(&self) -> SecurityEventKindEnum {
        self.0.kind.into()
    }
    /// How much it matters.
    async fn severity(&self) -> SeverityEnum {
        self.0.severity.into()
    }
    /// The tenant whose access it concerns; null for events about an account
    /// (logins, sessions).
    async fn tenant_id(&self) -> Option<ID> {
        self.0.tenant_id.map(|id| ID(id.to_string()))
    }
    /// The account it is about.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.user_id).await
    }
    /// Who caused it; null when anonymous (a login) or the system.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.actor_user_id).await
    }
    /// Facts particular to the kind (for a permission change: the action, its
    /// target and the permissions involved).
    async fn details(&self) -> Json<serde_json::Value> {
        Json(self.0.details.clone())
    }
    /// The request it came from (`x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The client's IP address.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// When.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// Which security events to list.
#[derive(InputObject, Default)]
pub(crate) struct SecurityEventFilterInput {
    /// Only this kind.
    kind: Option<SecurityEventKindEnum>,
    /// Only this severity or higher.
    min_severity: Option<SeverityEnum>,
    /// Only about this account.
    user_id: Option<ID>,
    /// At or after.
    from: Option<DateTime<Utc>>,
    /// Before.
    to: Option<DateTime<Utc>>,
}

impl SecurityEventFilterInput {
    fn parse(self) -> ApiResult<SecurityEventFilter> {
        Ok(SecurityEventFilter {
            kind: self.kind.map(Into::into),
            min_severity: self.min_severity.map(Into::into),
            user_id: self.user_id.as_ref().map(|id| parse_id("userId", id)).transpose()?,
            from: self.from,
            to: self.to,
        })
    }
}

/// Queries about security events.
#[derive(Default)]
pub(super) struct SecurityEventQueries;

#[operations]
#[Object]
impl SecurityEventQueries {
    /// The current tenant's security events, oldest first: those about its access
    /// (permission changes) and the account events (failed logins, lockouts,
    /// reused refresh tokens, revoked sessions) of its staff, the members holding
    /// any role but the built-in customer role. Customers' account events stay
    /// theirs: they may book with many businesses.
    #[access(Requires(Permission::AuditRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SecurityEventFilterInput>,
    ) -> ApiResult<Connection<String, SecurityEventObject>> {
        let filter = filter.unwrap_or_default().parse()?;
        let page = page_request(first, after, last, before);
        let page = flows::staff_activity::security_events(services(ctx)?, request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |e| e.id, SecurityEventObject))
    }

    /// The security events about the caller, in every tenant, oldest first.
    #[access(SignedIn)]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn my_security_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SecurityEventFilterInput>,
    ) -> ApiResult<Connection<String, SecurityEventObject>> {
        let filter = filter.unwrap_or_default().parse()?;
        let page = page_request(first, after, last, before);
        let page = services(ctx)?.audit.my_security_events(request(ctx)?, &filter, &page).await?;
        Ok(connection(page, |e| e.id, SecurityEventObject))
    }
}
