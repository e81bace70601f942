//! A tenant's security policy: who must sign in with a second factor, how long
//! sessions may idle and how many a member may hold, and which networks may
//! reach the tenant. The gateway enforces it each time a request enters the
//! tenant (`X-Tenant`), so it applies to the tenant's data however the account
//! is used elsewhere.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainError, Result, RoleId};

/// Most networks in each list.
pub const MAX_NETWORKS: usize = 100;

/// Who must use a second factor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaRequirement {
    /// Nobody is made to (anyone may).
    #[default]
    Off,
    /// Every member.
    AllMembers,
    /// Members holding any of the policy's roles.
    Roles,
}

/// What a tenant demands of the sessions that use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityPolicy {
    /// Who must sign in with a second factor.
    pub require_mfa: MfaRequirement,
    /// The roles whose holders must, with [`MfaRequirement::Roles`].
    pub mfa_roles: Vec<RoleId>,
    /// Sign-ins a member without a second factor may still use the tenant with
    /// once the requirement is enforced (0–20).
    pub mfa_grace_logins: u32,
    /// From when the requirement is enforced; before, it only counts as warned.
    pub mfa_enforced_from: Option<DateTime<Utc>>,
    /// A session unused this long may not enter the tenant (5–1440 minutes;
    /// shorter than the gateway's own idle timeout to matter).
    pub session_idle_minutes: Option<u32>,
    /// The most sessions a member may hold at once (1–100); signing in again
    /// ends the oldest.
    pub max_sessions: Option<u32>,
    /// Networks (CIDR or single addresses) the tenant may be used from; empty
    /// allows all.
    pub ip_allow: Vec<String>,
    /// Networks it may never be used from (wins over `ip_allow`).
    pub ip_block: Vec<String>,
}

fn networks(field: &str, raw: &[String]) -> Result<Vec<IpNet>> {
    if raw.len() > MAX_NETWORKS {
        return Err(DomainError::invalid(field, format!("at most {MAX_NETWORKS} networks")));
    }
    raw.iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| DomainError::invalid(field, format!("{entry:?} is not an IP address or CIDR network")))
        })
        .collect()
}

impl SecurityPolicy {
    /// Checks the values and puts networks in canonical form.
    pub fn validated(mut self) -> Result<Self> {
        if self.mfa_grace_logins > 20 {
            return Err(DomainError::invalid("mfaGraceLogins", "must be 0 to 20"));
        }
        if self.require_mfa == MfaRequirement::Roles && self.mfa_roles.is_empty() {
            return Err(DomainError::invalid("mfaRoles", "name at least one role when requiring it by role"));
        }
        if self.session_idle_minutes.is_some_and(|m| !(5..=1440).contains(&m)) {
            return Err(DomainError::invalid("sessionIdleMinutes", "must be 5 to 1440"));
        }
        if self.max_sessions.is_some_and(|m| !(1..=100).contains(&m)) {
            return Err(DomainError::invalid("maxSessions", "must be 1 to 100"));
        }
        self.ip_allow = networks("ipAllow", &self.ip_allow)?.iter().map(ToString::to_string).collect();
        self.ip_block = networks("ipBlock", &self.ip_block)?.iter().map(ToString::to_string).collect();
        Ok(self)
    }

    /// Whether a request from `ip` may use the tenant: not in a blocked network,
    /// and in an allowed one when there are any (an unknown address is then refused).
    pub fn allows_ip(&self, ip: Option<IpAddr>) -> bool {
        let contains = |list: &[String], ip: IpAddr| {
            list.iter().filter_map(|n| n.parse::<IpNet>().ok()).any(|net| net.contains(&ip))
        };
        match ip {
            Some(ip) if contains(&self.ip_block, ip) => false,
            Some(ip) => self.ip_allow.is_empty() || contains(&self.ip_allow, ip),
            None => self.ip_allow.is_empty(),
        }
    }

    /// Whether a second factor is required at `now` of a member holding
    /// `held_roles` (only consulted with [`MfaRequirement::Roles`]).
    pub fn requires_mfa(&self, held_roles: &[RoleId], now: DateTime<Utc>) -> bool {
        let enforced = self.mfa_enforced_from.is_none_or(|from| from <= now);
        enforced
            && match self.require_mfa {
                MfaRequirement::Off => false,
                MfaRequirement::AllMembers => true,
                MfaRequirement::Roles => held_roles.iter().any(|r| self.mfa_roles.contains(r)),
            }
    }

    pub(crate) fn from_json(value: Option<&serde_json::Value>) -> Result<Self> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| DomainError::Internal(format!("a stored security policy does not parse: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_checked_and_blocks_win() {
        let policy = SecurityPolicy {
            ip_allow: vec!["10.0.0.0/8".into(), " 192.168.1.7 ".into()],
            ip_block: vec!["10.6.0.0/16".into()],
            ..SecurityPolicy::default()
        }
        .validated()
        .unwrap();
        assert_eq!(policy.ip_allow, ["10.0.0.0/8", "192.168.1.7/32"]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(policy.allows_ip(ip("10.1.2.3")));
        assert!(policy.allows_ip(ip("192.168.1.7")));
        assert!(!policy.allows_ip(ip("10.6.0.9")), "blocked inside an allowed network");
        assert!(!policy.allows_ip(ip("8.8.8.8")));
        assert!(!policy.allows_ip(None), "an unknown address is not in an allow list");
        assert!(SecurityPolicy::default().allows_ip(None));
        let bad = SecurityPolicy { ip_block: vec!["10.0.0.0/33".into()], ..SecurityPolicy::default() };
        assert!(bad.validated().is_err());
    }

    #[test]
    fn the_mfa_requirement_waits_for_its_date_and_its_roles() {
        let role = RoleId(uuid::Uuid::now_v7());
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc();
        let by_role = SecurityPolicy {
            require_mfa: MfaRequirement::Roles,
            mfa_roles: vec![role],
            mfa_enforced_from: Some(now + chrono::Duration::days(1)),
            ..SecurityPolicy::default()
        };
        assert!(!by_role.requires_mfa(&[role], now), "not yet");
        assert!(by_role.requires_mfa(&[role], now + chrono::Duration::days(2)));
        assert!(!by_role.requires_mfa(&[], now + chrono::Duration::days(2)));
        assert!(
            SecurityPolicy { require_mfa: MfaRequirement::Roles, ..SecurityPolicy::default() }.validated().is_err()
        );
    }
}
