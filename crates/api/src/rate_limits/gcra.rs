//! The generic cell rate algorithm (GCRA), the arithmetic every rate limit
//! here runs, in this process and (the same steps in Lua) in Redis.
//!
//! A limit of `n` per minute lets `n` units through at once and then one every
//! minute / `n`: each bucket keeps one number, the theoretical arrival time
//! (TAT), the moment it would be full again. A use of `cost` units moves the
//! TAT on by `cost` emission intervals and is allowed while the new TAT is at
//! most a window (a minute) ahead of now. Several buckets are decided together
//! and charged only if every one allows, so a request refused by its tenant's
//! limit does not use up its credential's.
//!
//! Times are microseconds of the gateway's clock, as `f64` (exact well past
//! the year 2200, and what Lua counts in).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The window every limit is expressed over: a minute, in microseconds.
pub(crate) const WINDOW_US: f64 = 60_000_000.0;

/// How many buckets this process keeps. When full, those that have filled up
/// again (and so mean nothing) are dropped; if that frees nothing, a new key
/// shares its policy's overflow bucket, so memory stays bounded and a flood of
/// new keys limits itself rather than anyone else.
const LOCAL_BUCKETS: usize = 100_000;

/// One bucket to charge: its key, its limit per minute and the units used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Charge {
    /// The bucket's key (`tenant:<id>`, `address:<ip>`…).
    pub(crate) key: String,
    /// Units a minute (at least 1).
    pub(crate) per_minute: u64,
    /// Units this use costs.
    pub(crate) cost: u64,
}

impl Charge {
    fn emission_us(&self) -> f64 {
        WINDOW_US / self.per_minute.max(1) as f64
    }
}

/// What a bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether this bucket had room.
    pub(crate) allowed: bool,
    /// Whole units left after this use (or, refused, before it).
    pub(crate) remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub(crate) reset_ms: u64,
    /// Refused: milliseconds until this use would be allowed.
    pub(crate) retry_after_ms: u64,
}

/// Decides one bucket whose TAT is `tat` (none: full) at `now`; returns the
/// verdict and the TAT to keep if the use goes ahead.
pub(crate) fn decide(tat: Option<f64>, now: f64, charge: &Charge) -> (Verdict, f64) {
    let emission = charge.emission_us();
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat + emission * charge.cost as f64;
    let allow_at = new_tat - WINDOW_US;
    let whole = |free_us: f64| (free_us / emission).floor().max(0.0) as u64;
    let ms = |us: f64| (us / 1000.0).ceil().max(0.0) as u64;
    if allow_at > now {
        let verdict = Verdict {
            allowed: false,
            remaining: whole(now - (tat - WINDOW_US)),
            reset_ms: ms(tat - now),
            retry_after_ms: ms(allow_at - now),
        };
        (verdict, tat)
    } else {
        let verdict =
            Verdict { allowed: true, remaining: whole(now - allow_at), reset_ms: ms(new_tat - now), retry_after_ms: 0 };
        (verdict, new_tat)
    }
}

/// A bucket that had room for a use another bucket refused: what it still
/// has, untouched.
fn untaken(tat: Option<f64>, now: f64, charge: &Charge) -> Verdict {
    let tat = tat.unwrap_or(now).max(now);
    let remaining = ((now - (tat - WINDOW_US)) / charge.emission_us()).floor().max(0.0) as u64;
    Verdict { allowed: true, remaining, reset_ms: ((tat - now) / 1000.0).ceil() as u64, retry_after_ms: 0 }
}

/// Buckets kept in this process (no Redis, or Redis away).
#[derive(Debug, Default)]
pub(crate) struct LocalBuckets {
    tats: Mutex<HashMap<String, f64>>,
}

impl LocalBuckets {
    /// Decides `charges` together at `now` and, if all allow, charges them all.
    pub(crate) fn charge(&self, charges: &[Charge], now: f64) -> Vec<Verdict> {
        let mut tats = self.tats.lock().unwrap_or_else(PoisonError::into_inner);
        let keys: Vec<String> = charges.iter().map(|c| bounded_key(&mut tats, &c.key, now)).collect();
        let decided: Vec<(Verdict, f64)> =
            charges.iter().zip(&keys).map(|(charge, key)| decide(tats.get(key).copied(), now, charge)).collect();
        if decided.iter().all(|(verdict, _)| verdict.allowed) {
            for (key, (_, tat)) in keys.into_iter().zip(&decided) {
                tats.insert(key, *tat);
            }
            return decided.into_iter().map(|(verdict, _)| verdict).collect();
        }
        let untouched = |((verdict, _), (charge, key)): ((Verdict, f64), (&Charge, &String))| match verdict.allowed {
            true => untaken(tats.get(key).copied(), now, charge),
            false => verdict,
        };
        decided.into_iter().zip(charges.iter().zip(&keys)).map(untouched).collect()
    }
}

/// `key` itself when it is kept or there is room for it, else its policy's
/// overflow bucket (see [`LOCAL_BUCKETS`]).
fn bounded_key(tats: &mut HashMap<String, f64>, key: &str, now: f64) -> String {
    if tats.contains_key(key) || tats.len() < LOCAL_BUCKETS {
        return key.to_owned();
    }
    tats.retain(|_, tat| *tat > now);
    if tats.len() < LOCAL_BUCKETS {
        return key.to_owned();
    }
    let policy = key.split(':').next().unwrap_or_default();
    format!("{policy}:overflow")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(per_minute: u64, cost: u64) -> Charge {
        Charge { key: "tenant:a".into(), per_minute, cost }
    }

    #[test]
    fn a_full_bucket_lets_its_limit_through_at_once_then_one_per_interval() {
        let buckets = LocalBuckets::default();
        let now = 1_000_000_000.0;
        let verdicts: Vec<Verdict> = (0..4).map(|_| buckets.charge(&[charge(3, 1)], now)[0]).collect();
        assert_eq!(verdicts.iter().map(|v| v.allowed).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!(verdicts.iter().map(|v| v.remaining).collect::<Vec<_>>(), [2, 1, 0, 0]);
        // One unit comes back every 20 s.
        assert_eq!(verdicts[3].retry_after_ms, 20_000);
        assert_eq!(verdicts[2].reset_ms, 60_000);
        assert!(!buckets.charge(&[charge(3, 1)], now + 19_999_000.0)[0].allowed);
        assert!(buckets.charge(&[charge(3, 1)], now + 20_000_000.0)[0].allowed);
    }

    #[test]
    fn a_cost_larger_than_what_is_left_is_refused_and_takes_nothing() {
        let buckets = LocalBuckets::default();
        let now = 5_000_000.0;
        assert!(buckets.charge(&[charge(100, 70)], now)[0].allowed);
        let refused = buckets.charge(&[charge(100, 40)], now)[0];
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 30);
        assert!(buckets.charge(&[charge(100, 30)], now)[0].allowed);
    }

    #[test]
    fn buckets_decided_together_are_charged_only_when_all_allow() {
        let buckets = LocalBuckets::default();
        let now = 5_000_000.0;
        let tenant = Charge { key: "tenant:a".into(), per_minute: 1, cost: 1 };
        let credential = Charge { key: "credential:a:x".into(), per_minute: 5, cost: 1 };
        assert!(buckets.charge(&[tenant.clone(), credential.clone()], now).iter().all(|v| v.allowed));
        let refused = buckets.charge(&[tenant, credential.clone()], now);
        assert_eq!(refused.iter().map(|v| v.allowed).collect::<Vec<_>>(), [false, true]);
        // The credential's unit was not taken by the refused request, and says so.
        assert_eq!((refused[1].remaining, refused[1].reset_ms), (4, 12_000));
        assert_eq!(buckets.charge(&[credential], now)[0].remaining, 3);
    }

    #[test]
    fn a_full_map_forgets_buckets_that_filled_up_and_otherwise_shares_an_overflow_bucket() {
        let mut tats: HashMap<String, f64> = (0..LOCAL_BUCKETS).map(|i| (format!("address:{i}"), 10.0)).collect();
        assert_eq!(bounded_key(&mut tats, "address:new", 5.0), "address:overflow");
        assert_eq!(bounded_key(&mut tats, "address:7", 5.0), "address:7");
        assert_eq!(bounded_key(&mut tats, "address:new", 11.0), "address:new");
        assert!(tats.is_empty());
    }
}
