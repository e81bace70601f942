//! The retention sweep: each tenant's audit log and security events past its
//! `activityRetentionDays`, and login history and account security events past
//! the gateway's `account_activity_retention_days`. Run hourly by every replica;
//! sweeps of one tenant queue on its chain's head, so replicas never cut twice.

use chrono::{DateTime, Duration, Utc};
use tessera_kernel::Result;
use tracing::warn;

use crate::services::Services;

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Tenants whose activity was examined.
    pub tenants: u64,
    /// Audit records removed.
    pub audit_records: u64,
    /// Security events removed (of tenants and of accounts).
    pub security_events: u64,
    /// Login attempts removed.
    pub login_attempts: u64,
    /// Expired account links and second-factor login challenges removed.
    pub account_tokens: u64,
}

impl Swept {
    /// Whether anything was removed.
    pub fn removed_anything(&self) -> bool {
        self.audit_records + self.security_events + self.login_attempts + self.account_tokens > 0
    }
}

/// Expires what is past its retention at `now`. A tenant that fails is logged and
/// skipped, so one bad row does not stop the others' expiry.
pub async fn sweep(services: &Services, account_retention: Duration, now: DateTime<Utc>) -> Result<Swept> {
    let mut swept = Swept::default();
    for (tenant_id, days) in services.tenants.activity_retention().await? {
        let cutoff = now - Duration::days(i64::from(days));
        match services.audit.expire(tenant_id, cutoff, now).await {
            Ok(expiry) => {
                swept.tenants += 1;
                swept.audit_records += expiry.audit_records;
                swept.security_events += expiry.security_events;
            }
            Err(err) => warn!(tenant_id = %tenant_id, error = %err, "expiring a tenant's activity failed"),
        }
    }
    let cutoff = now - account_retention;
    swept.security_events += services.audit.expire_account_events(cutoff, now).await?;
    swept.login_attempts += services.identity.expire_login_history(cutoff, now).await?;
    swept.account_tokens += services.identity.expire_account_tokens(now).await?;
    Ok(swept)
}
