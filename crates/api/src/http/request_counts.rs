//! API requests per credential, for a business's usage statistics
//! (`api_requests`: which member, API key or partner client used what).
//!
//! Counted in memory per (tenant, credential) as requests arrive and written
//! in batches (every [`FLUSH_EVERY`] and at shutdown), not a write per
//! request. Each batch's line is one usage record under a key of its own: a
//! batch whose write failed is tried again under the same key, so it is never
//! counted twice, and its counts wait in memory meanwhile (at most
//! [`MAX_WAITING`] lines). What a crash loses is at most the last interval's
//! counts; the records and the counters still agree, since they are written
//! together.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Db, RequestContext, Result, TenantId};
use tessera_ledger::{Metric, Usage};
use uuid::Uuid;

use crate::services::Services;

/// How often the counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(15);

/// The most lines kept waiting while the database cannot be written to; the
/// oldest beyond it are dropped (and the log says so), so memory stays bounded.
const MAX_WAITING: usize = 10_000;

/// Who made a request in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Credential {
    /// A signed-in person (their account's id).
    Person(Uuid),
    /// A personal API key (its id).
    ApiKey(Uuid),
    /// A partner client (its id).
    PartnerClient(Uuid),
}

impl Credential {
    /// The credential of a request made in a tenant (`through_api_key`: a
    /// personal API key); `None` for an anonymous one.
    pub(crate) fn of(ctx: &RequestContext, through_api_key: bool) -> Option<Self> {
        match (ctx.client(), ctx.actor()) {
            (Some(client), _) => Some(Self::PartnerClient(client.as_uuid())),
            (None, Some(actor)) if through_api_key => Some(Self::ApiKey(actor.session_id.as_uuid())),
            (None, Some(actor)) => Some(Self::Person(actor.user_id.as_uuid())),
            (None, None) => None,
        }
    }

    /// `user`, `api_key` or `partner_client`.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Person(_) => "user",
            Self::ApiKey(_) => "api_key",
            Self::PartnerClient(_) => "partner_client",
        }
    }

    /// The account's, key's or client's id.
    pub(crate) fn id(self) -> Uuid {
        match self {
            Self::Person(id) | Self::ApiKey(id) | Self::PartnerClient(id) => id,
        }
    }
}

type Line = (TenantId, Credential);

/// The counts not yet written.
#[derive(Debug, Default)]
pub struct RequestCounts {
    pending: Mutex<HashMap<Line, i64>>,
    /// Lines whose write failed, with the key they were tried under.
    retry: Mutex<Vec<(Line, i64, String)>>,
}

impl RequestCounts {
    /// Counts one request made in a tenant (`through_api_key`: its credential
    /// is a personal API key). Requests outside any tenant are not counted.
    pub(crate) fn record(&self, ctx: &RequestContext, through_api_key: bool) {
        let Some(tenant) = ctx.tenant() else { return };
        let Some(credential) = Credential::of(ctx, through_api_key) else { return };
        if let Ok(mut pending) = self.pending.lock() {
            *pending.entry((tenant.tenant_id, credential)).or_default() += 1;
        }
    }

    /// Writes the counts so far; returns how many lines were written. A line
    /// that cannot be written waits for the next flush under the same key.
    pub async fn flush(&self, db: &Db, services: &Services) -> Result<usize> {
        let now = services.clock.now();
        let mut lines: Vec<(Line, i64, String)> =
            self.retry.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let taken = self.pending.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
        let batch = uuid_v7_at(now);
        lines.extend(taken.into_iter().map(|(line, n)| {
            let key = format!("requests:{batch}:{}:{}", line.1.kind(), line.1.id());
            (line, n, key)
        }));
        let (mut written, mut waiting) = (0, Vec::new());
        let mut lines = lines.into_iter();
        while let Some((line, n, key)) = lines.next() {
            match write(db, services, line, n, &key, now).await {
                Ok(()) => written += 1,
                Err(tessera_kernel::DomainError::NotFound { .. }) => {} // the tenant is gone
                Err(err) => {
                    // The database is likely away: the rest wait too, under their keys.
                    tracing::warn!(error = %err, "request counts could not be written; trying again later");
                    waiting.push((line, n, key));
                    waiting.extend(lines.by_ref());
                    break;
                }
            }
        }
        if let Ok(mut retry) = self.retry.lock() {
            retry.extend(waiting);
            if retry.len() > MAX_WAITING {
                let dropped = retry.len() - MAX_WAITING;
                retry.drain(..dropped);
                tracing::warn!(dropped, "request counts waiting too long were dropped");
            }
        }
        Ok(written)
    }
}

async fn write(
    db: &Db,
    services: &Services,
    (tenant_id, credential): Line,
    n: i64,
    key: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let txn = db.begin(Scope::Tenant { tenant_id, user_id: None }, Access::Write).await?;
    let usage = Usage {
        metric: Metric::ApiRequests,
        quantity: n,
        at: now,
        source_kind: credential.kind(),
        source_id: Some(credential.id().to_string()),
        key: key.to_owned(),
    };
    tessera_ledger::count_with(&txn, &*services.usage_hooks, tenant_id, usage).await?;
    txn.commit().await?;
    Ok(())
}
