//! Buckets in Redis, shared by every replica: one Lua script decides all of a
//! request's buckets and charges them only if all allow, atomically, with the
//! same steps as [`super::gcra::decide`].
//!
//! Keys are `tessera:rate:{<partition>}:<bucket>`: the braces put a tenant's
//! buckets in one Redis Cluster slot, which a script over several keys needs.
//! Each key expires when its bucket is full again, so Redis keeps only the
//! buckets in use. When Redis cannot be reached the gateway limits in this
//! process instead (as without Redis) and says so in the log, at most once a
//! minute.

use std::time::Duration;

use super::gcra::{Charge, LocalBuckets, Verdict, WINDOW_US};
use crate::events::link::RedisLink;

/// How long Redis is left alone after a failure.
const QUIET: Duration = Duration::from_secs(60);

/// KEYS: the buckets. ARGV[1]: now (µs); ARGV[2]: the window (µs); then, per
/// bucket, its emission interval (µs) and the use's cost. Answers the overall
/// verdict, then per bucket: allowed, remaining, reset (ms), retry after (ms);
/// a bucket that had room for a use another refused reports itself untouched.
const SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local all = 1
local decided = {}
for i = 1, #KEYS do
  local emission = tonumber(ARGV[1 + 2 * i])
  local cost = tonumber(ARGV[2 + 2 * i])
  local tat = now
  local stored = redis.call('GET', KEYS[i])
  if stored then tat = math.max(tonumber(stored), now) end
  local new_tat = tat + emission * cost
  local allow_at = new_tat - window
  if allow_at > now then
    all = 0
    decided[i] = {0, math.max(0, math.floor((now - (tat - window)) / emission)),
      math.ceil((tat - now) / 1000), math.ceil((allow_at - now) / 1000), tat}
  else
    decided[i] = {1, math.max(0, math.floor((now - allow_at) / emission)),
      math.ceil((new_tat - now) / 1000), 0, new_tat,
      math.max(0, math.floor((now - (tat - window)) / emission)), math.ceil((tat - now) / 1000)}
  end
end
local answer = {all}
for i = 1, #KEYS do
  local d = decided[i]
  if all == 1 then
    redis.call('SET', KEYS[i], string.format('%.0f', d[5]), 'PX', math.max(1, math.ceil((d[5] - now) / 1000)))
  elseif d[1] == 1 then
    d[2] = d[6]
    d[3] = d[7]
  end
  for j = 1, 4 do table.insert(answer, d[j]) end
end
return answer
";

/// Where buckets live.
#[derive(Debug)]
pub(crate) enum Buckets {
    /// In this process only (no Redis configured).
    Local(LocalBuckets),
    /// In Redis, with this process's buckets for when it is away.
    Shared(Box<SharedBuckets>),
}

/// The Redis side of [`Buckets::Shared`].
#[derive(Debug)]
pub(crate) struct SharedBuckets {
    link: RedisLink,
    script: redis::Script,
    fallback: LocalBuckets,
}

impl Buckets {
    /// Buckets in Redis at `client`.
    pub(crate) fn in_redis(client: redis::Client) -> Self {
        Self::Shared(Box::new(SharedBuckets {
            link: RedisLink::new(client, QUIET),
            script: redis::Script::new(SCRIPT),
            fallback: LocalBuckets::default(),
        }))
    }

    /// Decides `charges` (of one partition) together at `now` (µs) and charges
    /// them if all allow.
    pub(crate) async fn charge(&self, charges: &[Charge], now: f64) -> Vec<Verdict> {
        match self {
            Self::Local(local) => local.charge(charges, now),
            Self::Shared(shared) => match shared.run(charges, now).await {
                Some(verdicts) => verdicts,
                None => shared.fallback.charge(charges, now),
            },
        }
    }
}

impl SharedBuckets {
    async fn run(&self, charges: &[Charge], now: f64) -> Option<Vec<Verdict>> {
        let mut connection = match self.link.connection().await {
            Ok(connection) => connection?,
            Err(err) => {
                warned(&err.to_string());
                return None;
            }
        };
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(format!("{now:.0}")).arg(format!("{WINDOW_US:.0}"));
        for charge in charges {
            invocation.key(format!("tessera:rate:{}", charge.key));
            invocation.arg(format!("{:.3}", WINDOW_US / charge.per_minute.max(1) as f64)).arg(charge.cost);
        }
        match invocation.invoke_async::<Vec<u64>>(&mut connection).await {
            Ok(answer) if answer.len() == 1 + 4 * charges.len() => Some(
                answer[1..]
                    .chunks_exact(4)
                    .map(|v| Verdict { allowed: v[0] == 1, remaining: v[1], reset_ms: v[2], retry_after_ms: v[3] })
                    .collect(),
            ),
            Ok(answer) => {
                self.failed(&format!("the rate script answered {} values", answer.len())).await;
                None
            }
            Err(err) => {
                self.failed(&err.to_string()).await;
                None
            }
        }
    }

    async fn failed(&self, why: &str) {
        self.link.failed().await;
        warned(why);
    }
}

fn warned(why: &str) {
    tracing::warn!(error = why, "rate limits are kept by this gateway alone while Redis is unreachable");
}
