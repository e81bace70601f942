//! Request rate limits, per business and per credential, and a GraphQL
//! complexity budget (README "Rate limits").
//!
//! A request made in a business is counted under two policies at once:
//! - `tenant`: the business's `requests_per_minute` (its tier's, or its own);
//! - `credential`: half of that for each member, API key or partner client,
//!   so one runaway script leaves the other half to the rest of the business.
//!
//! Its GraphQL cost, known once the document is validated, is then spent from
//! the business's `complexity_per_minute` (`complexity`, see [`complexity`]).
//! A request outside any business (signing in and up, one's own account) is
//! counted per account when signed in (`account`) and otherwise per client
//! address (`address`: the IPv4 address, the IPv6 /64), at
//! `TESSERA_PLATFORM_REQUESTS_PER_MINUTE`.
//!
//! Every limit is a [GCRA](gcra) bucket over a minute: its whole limit at
//! once, then refilling steadily. With Redis the buckets are shared by every
//! replica ([`shared`]); without it each gateway keeps its own. Answers carry
//! the IETF `RateLimit-Policy` and `RateLimit` header fields
//! (draft-ietf-httpapi-ratelimit-headers); a refusal is `RATE_LIMITED`, HTTP
//! 429, with `Retry-After`.

pub(crate) mod complexity;
mod gcra;
mod shared;
mod tenant_rates;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, header};
use tessera_kernel::{Db, ErrorCode, RequestContext};

use self::complexity::ComplexityGate;
use self::gcra::{Charge, LocalBuckets, Verdict};
use self::shared::Buckets;
use self::tenant_rates::TenantRates;
use crate::error::{ApiCode, graphql_error};
use crate::http::request_counts::Credential;

/// Webhook deliveries a minute, per client address, whose signature does not
/// hold before the address is refused (`429`).
pub(crate) const UNVERIFIED_PER_MINUTE: u64 = 20;

/// A limit a request is counted under, named as in the `RateLimit` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// The business's requests a minute.
    Tenant,
    /// One credential's share of them.
    Credential,
    /// A signed-in account's requests outside any business.
    Account,
    /// An anonymous client address's requests.
    Address,
    /// The business's GraphQL complexity a minute.
    Complexity,
}

impl Policy {
    /// The policy's name in the header fields and in `extensions.policy`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Credential => "credential",
            Self::Account => "account",
            Self::Address => "address",
            Self::Complexity => "complexity",
        }
    }

    fn reached(self, limit: u64) -> String {
        match self {
            Self::Tenant => format!("the business's limit of {limit} requests a minute is reached"),
            Self::Credential => {
                format!("this credential's share of the business's requests ({limit} a minute) is used up")
            }
            Self::Account | Self::Address => format!("the limit of {limit} requests a minute is reached"),
            Self::Complexity => format!("the business's budget of {limit} query complexity a minute is used up"),
        }
    }
}

/// One policy's verdict on a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    policy: Policy,
    limit: u64,
    verdict: Verdict,
}

impl Checked {
    fn retry_after_secs(&self) -> u64 {
        self.verdict.retry_after_ms.div_ceil(1000).max(1)
    }

    /// The `RATE_LIMITED` error for this refusal.
    pub(crate) fn error(&self) -> async_graphql::ServerError {
        let seconds = self.retry_after_secs();
        let message = format!("{}; retry in {seconds} s", self.policy.reached(self.limit));
        let mut error = graphql_error(ApiCode::Domain(ErrorCode::RateLimited), message);
        if let Some(extensions) = error.extensions.as_mut() {
            extensions.set("retryAfterSeconds", seconds);
            extensions.set("policy", self.policy.name());
            extensions.set("limit", self.limit);
        }
        error
    }
}

/// What the limits said of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    checked: Vec<Checked>,
}

impl Outcome {
    /// The refusal, when a limit refused: the one that frees last.
    pub(crate) fn refusal(&self) -> Option<Checked> {
        self.checked.iter().filter(|c| !c.verdict.allowed).max_by_key(|c| c.verdict.retry_after_ms).copied()
    }

    /// Adds the complexity budget's verdict.
    pub(crate) fn with(mut self, checked: Option<Checked>) -> Self {
        self.checked.extend(checked);
        self
    }

    /// `RateLimit-Policy` and `RateLimit` for the request policies (the
    /// complexity budget is not counted in requests, the fields' unit), and
    /// `Retry-After` on a refusal.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        let requests = || self.checked.iter().filter(|c| c.policy != Policy::Complexity);
        let policies: Vec<String> = requests().map(|c| format!("\"{}\";q={};w=60", c.policy.name(), c.limit)).collect();
        let limits: Vec<String> = requests()
            .map(|c| {
                let seconds = match c.verdict.allowed {
                    true => c.verdict.reset_ms.div_ceil(1000),
                    false => c.retry_after_secs(),
                };
                format!("\"{}\";r={};t={seconds}", c.policy.name(), c.verdict.remaining)
            })
            .collect();
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        if !policies.is_empty() {
            put("ratelimit-policy", policies.join(", "));
            put("ratelimit", limits.join(", "));
        }
        if let Some(refused) = self.refusal() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(refused.retry_after_secs()));
        }
    }
}

/// The gateway's rate limits.
#[derive(Debug)]
pub(crate) struct RateLimits {
    buckets: Buckets,
    tenants: TenantRates,
    /// Requests a minute outside any business; 0 is no limit.
    platform_per_minute: u64,
}

impl RateLimits {
    /// Limits kept in Redis at `redis` (shared by every replica), else in this process.
    pub(crate) fn new(redis: Option<redis::Client>, platform_per_minute: u32) -> Arc<Self> {
        let buckets = match redis {
            Some(client) => Buckets::in_redis(client),
            None => Buckets::Local(LocalBuckets::default()),
        };
        Arc::new(Self { buckets, tenants: TenantRates::default(), platform_per_minute: platform_per_minute.into() })
    }

    /// Counts a request under its policies (`through_api_key`: its credential
    /// is a personal API key). Returns their verdicts and, for a request in a
    /// business with a complexity budget, the gate its validation spends from.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        db: &Db,
        ctx: &RequestContext,
        through_api_key: bool,
    ) -> (Outcome, Option<Arc<ComplexityGate>>) {
        let now = ctx.now();
        let mut plan: Vec<(Policy, u64, Charge)> = Vec::new();
        let mut gate = None;
        if let Some(scope) = ctx.tenant() {
            let tenant = scope.tenant_id;
            let rates = match self.tenants.of(db, tenant).await {
                Ok(rates) => rates,
                Err(err) => {
                    // The request itself will meet the same trouble and say so.
                    tracing::warn!(error = %err, %tenant, "a business's rate limits could not be read");
                    return (Outcome::default(), None);
                }
            };
            if let Some(limit) = rates.requests {
                plan.push((
                    Policy::Tenant,
                    limit,
                    Charge { key: format!("tenant:{{{tenant}}}"), per_minute: limit, cost: 1 },
                ));
                if let Some(credential) = Credential::of(ctx, through_api_key) {
                    let share = limit.div_ceil(2);
                    let key = format!("credential:{{{tenant}}}:{}:{}", credential.kind(), credential.id());
                    plan.push((Policy::Credential, share, Charge { key, per_minute: share, cost: 1 }));
                }
            }
            gate = rates.complexity.map(|limit| Arc::new(ComplexityGate::new(self.clone(), tenant, limit, now)));
        } else if self.platform_per_minute > 0 {
            let (policy, key) = match ctx.actor() {
                Some(actor) => (Policy::Account, format!("account:{{{}}}", actor.user_id)),
                None => {
                    let client = tessera_identity::client_key(ctx.meta().ip.as_deref());
                    (Policy::Address, format!("address:{{{}}}", client.as_deref().unwrap_or("unknown")))
                }
            };
            let limit = self.platform_per_minute;
            plan.push((policy, limit, Charge { key, per_minute: limit, cost: 1 }));
        }
        let charges: Vec<Charge> = plan.iter().map(|(_, _, charge)| charge.clone()).collect();
        let verdicts = self.charge(&charges, now).await;
        let checked =
            plan.into_iter().zip(verdicts).map(|((policy, limit, _), verdict)| Checked { policy, limit, verdict });
        (Outcome { checked: checked.collect() }, gate)
    }

    /// Counts a webhook delivery from `client` whose signature did not hold;
    /// past [`UNVERIFIED_PER_MINUTE`] a minute, the seconds until the next
    /// one is heard.
    pub(crate) async fn unverified_delivery(&self, client: &str, at: DateTime<Utc>) -> Option<u64> {
        let key = format!("webhook-unverified:{{{client}}}");
        let charge = Charge { key, per_minute: UNVERIFIED_PER_MINUTE, cost: 1 };
        let verdict = self.charge(&[charge], at).await.pop()?;
        (!verdict.allowed).then(|| verdict.retry_after_ms.div_ceil(1000).max(1))
    }

    async fn charge(&self, charges: &[Charge], at: DateTime<Utc>) -> Vec<Verdict> {
        if charges.is_empty() {
            return Vec::new();
        }
        self.buckets.charge(charges, micros(at)).await
    }
}

fn micros(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64
}
