//! The business's security policy: second factors, session limits and the rules members
//! sign in under.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_tenant::SecurityPolicy;

use super::tenants::TenantObject;
use crate::error::ApiResult;
use crate::graphql::{Requires, parse_id, request, services};

/// Who must sign in with a second factor.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MfaRequirement", remote = "tessera_tenant::MfaRequirement")]
pub(crate) enum MfaRequirementEnum {
    /// Nobody is made to.
    Off,
    /// Every member.
    AllMembers,
    /// Members holding any of `mfaRoles` (or a role under one of them).
    Roles,
}

/// What a tenant demands of the sessions that use it.
#[derive(SimpleObject, InputObject)]
#[graphql(name = "SecurityPolicy", input_name = "SecurityPolicyInput")]
pub(crate) struct SecurityPolicyObject {
    /// Who must sign in with a second factor.
    #[graphql(default_with = "MfaRequirementEnum::Off")]
    require_mfa: MfaRequirementEnum,
    /// The roles whose holders must, with `ROLES`.
    #[graphql(default)]
    mfa_roles: Vec<ID>,
    /// Sign-ins a member without a second factor may still use the business with
    /// once the requirement applies (0–20); each new session spends one.
    #[graphql(default)]
    mfa_grace_logins: u32,
    /// From when the requirement applies (now when null).
    mfa_enforced_from: Option<DateTime<Utc>>,
    /// A session idle this long may not act here (5–1440 minutes).
    session_idle_minutes: Option<u32>,
    /// The most sessions a member may hold at once (1–100): signing in again ends
    /// the oldest.
    max_sessions: Option<u32>,
    /// Networks (CIDR or addresses) the business may be used from; empty allows all.
    #[graphql(default)]
    ip_allow: Vec<String>,
    /// Networks it may never be used from (wins over `ipAllow`).
    #[graphql(default)]
    ip_block: Vec<String>,
}

impl From<&SecurityPolicy> for SecurityPolicyObject {
    fn from(p: &SecurityPolicy) -> Self {
        Self {
            require_mfa: p.require_mfa.into(),
            mfa_roles: p.mfa_roles.iter().map(|r| ID(r.to_string())).collect(),
            mfa_grace_logins: p.mfa_grace_logins,
            mfa_enforced_from: p.mfa_enforced_from,
            session_idle_minutes: p.session_idle_minutes,
            max_sessions: p.max_sessions,
            ip_allow: p.ip_allow.clone(),
            ip_block: p.ip_block.clone(),
        }
    }
}

impl SecurityPolicyObject {
    fn parse(self) -> ApiResult<SecurityPolicy> {
        Ok(SecurityPolicy {
            require_mfa: self.require_mfa.into(),
            mfa_roles: self.mfa_roles.iter().map(|id| parse_id("mfaRoles", id)).collect::<ApiResult<Vec<_>>>()?,
            mfa_grace_logins: self.mfa_grace_logins,
            mfa_enforced_from: self.mfa_enforced_from,
            session_idle_minutes: self.session_idle_minutes,
            max_sessions: self.max_sessions,
            ip_allow: self.ip_allow,
            ip_block: self.ip_block,
        })
    }
}

/// Mutations about the security policy.
#[derive(Default)]
pub(super) struct SecurityPolicyMutations;

#[operations]
#[Object]
impl SecurityPolicyMutations {
    /// Replaces the current tenant's security policy (its owners, or whoever they
    /// give `policy:manage`; its own members only).
    /// Requests entering the tenant are held to it from the next one: networks,
    /// session idle time, a second factor for all or some members (with grace
    /// sign-ins and an enforcement date); the session limit applies at sign-in.
    #[access(Requires(Permission::PolicyManage))]
    async fn set_security_policy(&self, ctx: &Context<'_>, input: SecurityPolicyObject) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.set_security_policy(request(ctx)?, input.parse()?).await?;
        Ok(TenantObject(tenant))
    }
}
