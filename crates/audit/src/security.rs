//! Security events: what a security reviewer looks for, with a severity.
//!
//! An event about an account (a failed login, a lockout, a reused refresh token, a
//! revoked session) belongs to no tenant, since accounts are shared by businesses,
//! and is kept in the global `account_security_events`; one about a tenant's
//! access (a role granted or changed) names the tenant, in `security_events`. A
//! tenant's admins read the tenant's events and the account events of its staff
//! (the caller passes who that is); everyone reads the events about themselves.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DeriveActiveEnum, EntityTrait, EnumIter, QueryFilter,
};
use serde_json::Value;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{DomainError, Page, PageRequest, Permission, RequestContext, Result, TenantId, UserId};

use crate::entity::{account_security_event, security_event};
use crate::service::AuditService;

/// How much an event matters, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum Severity {
    /// Routine, worth keeping.
    #[sea_orm(string_value = "low")]
    Low,
    /// Worth a look.
    #[sea_orm(string_value = "medium")]
    Medium,
    /// Someone should look now.
    #[sea_orm(string_value = "high")]
    High,
    /// An account or tenant is probably under attack.
    #[sea_orm(string_value = "critical")]
    Critical,
}

impl Severity {
    /// This severity and every higher one.
    fn and_above(self) -> Vec<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Critical].into_iter().filter(|s| *s >= self).collect()
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(50))")]
pub enum SecurityEventKind {
    /// A wrong password, or an unknown email (then naming no user).
    #[sea_orm(string_value = "login_failed")]
    LoginFailed,
    /// Enough failures that the account's logins are refused for a while.
    #[sea_orm(string_value = "account_locked")]
    AccountLocked,
    /// A login refused because the account is locked.
    #[sea_orm(string_value = "login_throttled")]
    LoginThrottled,
    /// A refresh token that was already exchanged came back: it leaked, and the
    /// session was revoked.
    #[sea_orm(string_value = "refresh_token_reused")]
    RefreshTokenReused,
    /// A user ended one of their sessions from elsewhere.
    #[sea_orm(string_value = "session_revoked")]
    SessionRevoked,
    /// A role, a group's membership or an assignment changed what someone may do.
    #[sea_orm(string_value = "permission_changed")]
    PermissionChanged,
    /// A user changed their password; their other sessions were ended.
    #[sea_orm(string_value = "password_changed")]
    PasswordChanged,
    /// A second factor was turned on.
    #[sea_orm(string_value = "mfa_enabled")]
    MfaEnabled,
    /// A second factor was turned off.
    #[sea_orm(string_value = "mfa_disabled")]
    MfaDisabled,
    /// A login was completed with a one-time backup code.
    #[sea_orm(string_value = "backup_code_used")]
    BackupCodeUsed,
    /// New backup codes replaced the old ones.
    #[sea_orm(string_value = "backup_codes_regenerated")]
    BackupCodesRegenerated,
    /// An account was deactivated, suspended, deleted or reactivated.
    #[sea_orm(string_value = "account_status_changed")]
    AccountStatusChanged,
    /// A personal API key was made.
    #[sea_orm(string_value = "api_key_created")]
    ApiKeyCreated,
    /// A passkey was added to an account.
    #[sea_orm(string_value = "passkey_added")]
    PasskeyAdded,
    /// A passkey was removed from an account.
    #[sea_orm(string_value = "passkey_removed")]
    PasskeyRemoved,
    /// A passkey's signature counter went backwards: a copy of it may exist. It
    /// no longer signs in.
    #[sea_orm(string_value = "passkey_possibly_cloned")]
    PasskeyPossiblyCloned,
    /// A partner client (OAuth client credentials) was made for a tenant.
    #[sea_orm(string_value = "oauth_client_created")]
    OAuthClientCreated,
    /// A partner client's secret was replaced.
    #[sea_orm(string_value = "oauth_client_secret_rotated")]
    OAuthClientSecretRotated,
    /// A partner client was revoked, with its tokens.
    #[sea_orm(string_value = "oauth_client_revoked")]
    OAuthClientRevoked,
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: SecurityEventKind,
    /// How much it matters.
    pub severity: Severity,
    /// The account it is about, if known.
    pub user_id: Option<UserId>,
    /// Facts particular to the kind (an object; never a secret).
    pub details: Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEventRecord {
    /// Id.
    pub id: uuid::Uuid,
    /// The tenant whose access it concerns; `None` for account events.
    pub tenant_id: Option<TenantId>,
    /// The account it is about.
    pub user_id: Option<UserId>,
    /// Who caused it (`None`: anonymous or the system).
    pub actor_user_id: Option<UserId>,
    /// What happened.
    pub kind: SecurityEventKind,
    /// How much it matters.
    pub severity: Severity,
    /// Facts particular to the kind.
    pub details: Value,
    /// The request it came from.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityEventFilter {
    /// Only this kind.
    pub kind: Option<SecurityEventKind>,
    /// Only this severity or higher.
    pub min_severity: Option<Severity>,
    /// Only about this account.
    pub user_id: Option<UserId>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// Records `event` in `conn` (the transaction of what caused it, when there is
/// one), about `tenant_id`'s access or (`None`) about an account.
pub async fn record_security_event<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestContext,
    tenant_id: Option<TenantId>,
    event: SecurityEvent,
) -> Result<()> {
    let now = ctx.now().trunc_subsecs(6);
    let meta = ctx.meta();
    let (id, actor_user_id, details) = (uuid_v7_at(now), ctx.actor().map(|a| a.user_id), event.details.to_string());
    let request_id = Some(meta.request_id.clone()).filter(|id| !id.is_empty());
    let (ip, user_agent) = (meta.ip.clone(), meta.user_agent.clone());
    // Account events belong to no tenant and live in a global table of their
    // own, so that every row of `security_events` has its tenant.
    let Some(tenant_id) = tenant_id else {
        let row = account_security_event::ActiveModel {
            id: Set(id),
            user_id: Set(event.user_id),
            actor_user_id: Set(actor_user_id),
            kind: Set(event.kind),
            severity: Set(event.severity),
            details: Set(details),
            request_id: Set(request_id),
            ip: Set(ip),
            user_agent: Set(user_agent),
            occurred_at: Set(now),
        };
        account_security_event::Entity::insert(row).exec_without_returning(conn).await?;
        return Ok(());
    };
    let row = security_event::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        user_id: Set(event.user_id),
        actor_user_id: Set(actor_user_id),
        kind: Set(event.kind),
        severity: Set(event.severity),
        details: Set(details),
        request_id: Set(request_id),
        ip: Set(ip),
        user_agent: Set(user_agent),
        occurred_at: Set(now),
    };
    security_event::Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// The filter's columns on the tenant events' table.
const TENANT_COLUMNS: [security_event::Column; 4] = [
    security_event::Column::Kind,
    security_event::Column::Severity,
    security_event::Column::UserId,
    security_event::Column::OccurredAt,
];

/// The filter's columns on the account events' table.
const ACCOUNT_COLUMNS: [account_security_event::Column; 4] = [
    account_security_event::Column::Kind,
    account_security_event::Column::Severity,
    account_security_event::Column::UserId,
    account_security_event::Column::OccurredAt,
];

impl AuditService {
    /// The request tenant's security events: those about its access, and the
    /// account events of `staff` (the members whose logins the tenant may see;
    /// the caller decides who they are). Oldest first.
    pub async fn security_events(
        &self,
        ctx: &RequestContext,
        staff: &[UserId],
        filter: &SecurityEventFilter,
        page: &PageRequest,
    ) -> Result<Page<SecurityEventRecord>> {
        let keyset = page.keyset()?;
        check_time_window(filter.from, filter.to)?;
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::AuditRead, Access::Read).await?;
        let tenant_events = security_event::Entity::find()
            .filter(security_event::Column::TenantId.eq(auth.tenant_id))
            .filter(filter.condition(TENANT_COLUMNS));
        let mut events = records(keyset.apply(tenant_events, security_event::Column::Id).all(&txn).await?)?;
        if !staff.is_empty() {
            let account_events = account_security_event::Entity::find()
                .filter(account_security_event::Column::UserId.is_in(staff.iter().copied()))
                .filter(filter.condition(ACCOUNT_COLUMNS));
            events.extend(records(keyset.apply(account_events, account_security_event::Column::Id).all(&txn).await?)?);
        }
        txn.commit().await?;
        Ok(keyset.finish(keyset.merge_fetched(events, |event| event.id)))
    }

    /// The events about the signed-in user, in every tenant and about their
    /// account. Oldest first.
    pub async fn my_security_events(
        &self,
        ctx: &RequestContext,
        filter: &SecurityEventFilter,
        page: &PageRequest,
    ) -> Result<Page<SecurityEventRecord>> {
        let actor = ctx.require_actor()?;
        let keyset = page.keyset()?;
        check_time_window(filter.from, filter.to)?;
        let txn = self.db().begin(Scope::User(actor.user_id), Access::Read).await?;
        let tenant_events = security_event::Entity::find()
            .filter(security_event::Column::UserId.eq(actor.user_id))
            .filter(filter.condition(TENANT_COLUMNS));
        let mut events = records(keyset.apply(tenant_events, security_event::Column::Id).all(&txn).await?)?;
        let account_events = account_security_event::Entity::find()
            .filter(account_security_event::Column::UserId.eq(actor.user_id))
            .filter(filter.condition(ACCOUNT_COLUMNS));
        events.extend(records(keyset.apply(account_events, account_security_event::Column::Id).all(&txn).await?)?);
        txn.commit().await?;
        Ok(keyset.finish(keyset.merge_fetched(events, |event| event.id)))
    }
}

fn records<M>(rows: Vec<M>) -> Result<Vec<SecurityEventRecord>>
where
    SecurityEventRecord: TryFrom<M, Error = DomainError>,
{
    rows.into_iter().map(SecurityEventRecord::try_from).collect()
}

impl SecurityEventFilter {
    /// The filter over a table of events, given its kind, severity, user and
    /// time columns (the time window is checked by the caller).
    fn condition<C: ColumnTrait>(&self, [kind_column, severity_column, user_column, time_column]: [C; 4]) -> Condition {
        let mut all = Condition::all();
        if let Some(kind) = self.kind {
            all = all.add(kind_column.eq(kind));
        }
        if let Some(severity) = self.min_severity {
            all = all.add(severity_column.is_in(severity.and_above()));
        }
        if let Some(user_id) = self.user_id {
            all = all.add(user_column.eq(user_id));
        }
        if let Some(from) = self.from {
            all = all.add(time_column.gte(from));
        }
        if let Some(to) = self.to {
            all = all.add(time_column.lt(to));
        }
        all
    }
}

/// The details of event `id`, as stored.
fn read_details(id: uuid::Uuid, details: &str) -> Result<Value> {
    serde_json::from_str(details)
        .map_err(|e| DomainError::Internal(format!("security event {id} has unreadable details: {e}")))
}

impl TryFrom<security_event::Model> for SecurityEventRecord {
    type Error = DomainError;

    fn try_from(row: security_event::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            tenant_id: Some(row.tenant_id),
            user_id: row.user_id,
            actor_user_id: row.actor_user_id,
            kind: row.kind,
            severity: row.severity,
            details: read_details(row.id, &row.details)?,
            request_id: row.request_id,
            ip: row.ip,
            user_agent: row.user_agent,
            occurred_at: row.occurred_at,
        })
    }
}

impl TryFrom<account_security_event::Model> for SecurityEventRecord {
    type Error = DomainError;

    fn try_from(row: account_security_event::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            tenant_id: None,
            user_id: row.user_id,
            actor_user_id: row.actor_user_id,
            kind: row.kind,
            severity: row.severity,
            details: read_details(row.id, &row.details)?,
            request_id: row.request_id,
            ip: row.ip,
            user_agent: row.user_agent,
            occurred_at: row.occurred_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_severity_takes_the_higher_ones_too() {
        assert_eq!(Severity::High.and_above(), vec![Severity::High, Severity::Critical]);
        assert_eq!(Severity::Low.and_above().len(), 4);
    }
}
