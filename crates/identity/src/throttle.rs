//! The login throttle: counters of failed attempts, each with exponential
//! backoff, that every password (and second-factor) attempt is charged to.
//!
//! An attempt is charged to one *principal* counter and, when it comes from an
//! unknown device, to its client address and network too:
//! - the account (its normalised email, known or not): a few free failures;
//! - instead, a trusted device the account signed in from before
//!   (`crate::devices`): its own counter, so others' guesses that hold the
//!   account's backoff do not lock its owner out of a device they used;
//! - the client address (IPv4 or IPv6) and its network (the /24 of an IPv4
//!   address, the /64 of an IPv6 one): many more free failures, so one office
//!   behind one address is not locked out by a typo, while a guesser spraying
//!   one password over many accounts from one place is.
//!
//! Counting happens before the password is checked, under row locks, so
//! parallel guesses cannot slip past. A success clears the principal and gives
//! the address counters their attempt back (it did not fail) instead of
//! clearing them: signing in to one's own account must not reset a spraying
//! address.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use tessera_kernel::{DomainError, Result};
use uuid::Uuid;

use crate::entity::login_throttle;
use crate::model::SessionPolicy;
use crate::token::hash_token;

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// An account, by email.
    Account,
    /// A trusted device of an account.
    Device,
    /// One client address.
    Address,
    /// The /24 or /64 around a client address.
    Network,
}

impl Counter {
    /// The name recorded in security events.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Device => "device",
            Self::Address => "address",
            Self::Network => "network",
        }
    }

    fn free_failures(self, policy: &SessionPolicy) -> i32 {
        match self {
            Self::Account | Self::Device => policy.free_login_attempts,
            Self::Address => policy.free_address_failures,
            Self::Network => policy.free_network_failures,
        }
    }
}

/// One counter an attempt is charged to: its kind and its stored key (a hash,
/// so neither emails nor addresses are kept in the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Charge {
    pub(crate) counter: Counter,
    key: String,
}

impl Charge {
    /// The account with this (normalised) email.
    pub(crate) fn account(email: &str) -> Self {
        Self { counter: Counter::Account, key: hash_token(email) }
    }

    /// A trusted device.
    pub(crate) fn device(id: Uuid) -> Self {
        Self { counter: Counter::Device, key: hash_token(&format!("device:{id}")) }
    }

    /// The client address and its network, when the request has an address.
    pub(crate) fn client(ip: Option<&str>) -> Vec<Self> {
        let Some(ip) = ip.and_then(|ip| ip.parse::<IpAddr>().ok()) else {
            return Vec::new();
        };
        let (address, network) = address_and_network(ip);
        vec![
            Self { counter: Counter::Address, key: hash_token(&format!("address:{address}")) },
            Self { counter: Counter::Network, key: hash_token(&format!("network:{network}")) },
        ]
    }
}

/// What a client is known by for limits that are not about failures (sign-ups):
/// its IPv4 address, or its IPv6 /64 (one host usually has a whole /64).
pub fn client_key(ip: Option<&str>) -> Option<String> {
    let ip = ip?.parse::<IpAddr>().ok()?;
    let (address, network) = address_and_network(ip);
    Some(if ip.to_canonical().is_ipv4() { address } else { network })
}

/// The canonical address and the network it is counted with: the /24 of an
/// IPv4 address (IPv4-mapped IPv6 included), the /64 of an IPv6 one.
fn address_and_network(ip: IpAddr) -> (String, String) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            (v4.to_string(), format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let prefix = std::net::Ipv6Addr::new(segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0);
            (v6.to_string(), format!("{prefix}/64"))
        }
    }
}

/// The outcome of asking to try a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reservation {
    /// Go ahead; the attempt is already counted as a failure until it succeeds.
    /// With `locks_until`, this attempt is the one that locks the principal
    /// (the first charge) if it fails.
    Allowed {
        /// The end of the lockout a failure would start.
        locks_until: Option<DateTime<Utc>>,
        /// The principal's failures counted so far, this attempt included.
        failures: i32,
    },
    /// Refused until the longest backoff among the charges ends; nothing was
    /// counted.
    Locked {
        /// How long until the attempt may be made.
        retry_after: Duration,
        /// The counter whose backoff refused it.
        by: Counter,
    },
}

/// Counts an attempt against every charge (the principal first), before the
/// password is checked. All or nothing: if any counter is in its backoff the
/// attempt is refused and none is counted.
///
/// Each row is locked before it is read (`FOR UPDATE` on PostgreSQL, the
/// `BEGIN IMMEDIATE` write lock on SQLite), in key order so that two attempts
/// sharing counters cannot deadlock; twenty simultaneous guesses therefore see
/// twenty distinct counts.
pub(crate) async fn reserve<C: ConnectionTrait>(
    conn: &C,
    charges: &[Charge],
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<Reservation> {
    let mut order: Vec<&Charge> = charges.iter().collect();
    order.sort_by(|a, b| a.key.cmp(&b.key));
    let mut rows = Vec::with_capacity(order.len());
    for charge in order {
        rows.push((charge, locked_row(conn, &charge.key, now).await?));
    }
    let refusal = rows
        .iter()
        .filter_map(|(charge, row)| row.locked_until.filter(|until| *until > now).map(|until| (until - now, charge)))
        .max_by_key(|(wait, _)| *wait);
    if let Some((retry_after, charge)) = refusal {
        return Ok(Reservation::Locked { retry_after, by: charge.counter });
    }
    let mut principal = Reservation::Allowed { locks_until: None, failures: 0 };
    for (charge, row) in rows {
        let previous = if now - row.last_failed_at > policy.failure_window { 0 } else { row.failed_count };
        let count = previous.saturating_add(1);
        let locked_until = backoff_end(count, charge.counter.free_failures(policy), now, policy);
        let mut active: login_throttle::ActiveModel = row.into();
        active.failed_count = Set(count);
        active.last_failed_at = Set(now);
        active.locked_until = Set(locked_until);
        active.update(conn).await?;
        if charges.first() == Some(charge) {
            principal = Reservation::Allowed { locks_until: locked_until, failures: count };
        }
    }
    Ok(principal)
}

/// The row of `key`, created if missing and locked for this transaction.
async fn locked_row<C: ConnectionTrait>(conn: &C, key: &str, now: DateTime<Utc>) -> Result<login_throttle::Model> {
    let insert = Query::insert()
        .into_table(login_throttle::Entity)
        .columns([
            login_throttle::Column::AccountKey,
            login_throttle::Column::FailedCount,
            login_throttle::Column::LastFailedAt,
        ])
        .values_panic([key.into(), 0.into(), now.into()])
        .on_conflict(OnConflict::column(login_throttle::Column::AccountKey).do_nothing().to_owned())
        .to_owned();
    conn.execute(&insert).await?;
    login_throttle::Entity::find_by_id(key.to_owned())
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::Internal("login throttle row vanished".into()))
}

/// When a counter at `count` failures stops refusing, if it refuses at all:
/// the first backoff after `free` failures, doubling with each further one.
fn backoff_end(count: i32, free: i32, now: DateTime<Utc>, policy: &SessionPolicy) -> Option<DateTime<Utc>> {
    (count > free).then(|| {
        let doublings = u32::try_from(count - free - 1).unwrap_or(u32::MAX).min(20);
        let backoff = policy.first_backoff * 2_i32.saturating_pow(doublings);
        now + backoff.min(policy.max_backoff)
    })
}

/// Settles the charges of an attempt whose password was right: the principal
/// is cleared (or, with `keep_principal_count`, only unlocked, for a login still
/// waiting for its second factor) and every other counter gets its attempt back.
pub(crate) async fn settle_success<C: ConnectionTrait>(
    conn: &C,
    charges: &[Charge],
    keep_principal_count: bool,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<()> {
    let Some((principal, others)) = charges.split_first() else {
        return Ok(());
    };
    if keep_principal_count {
        release_lock(conn, principal).await?;
    } else {
        clear(conn, principal).await?;
    }
    refund(conn, others, now, policy).await
}

/// Gives each counter of `charges` back the attempt it was charged: the
/// attempt proved nothing wrong (the password was right, or it was never
/// checked because the server was busy).
pub(crate) async fn refund<C: ConnectionTrait>(
    conn: &C,
    charges: &[Charge],
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<()> {
    for charge in charges {
        let Some(row) = login_throttle::Entity::find_by_id(charge.key.clone()).lock_exclusive().one(conn).await? else {
            continue;
        };
        let count = (row.failed_count - 1).max(0);
        let locked_until = backoff_end(count, charge.counter.free_failures(policy), row.last_failed_at, policy)
            .filter(|until| *until > now);
        let mut active: login_throttle::ActiveModel = row.into();
        active.failed_count = Set(count);
        active.locked_until = Set(locked_until);
        active.update(conn).await?;
    }
    Ok(())
}

/// Forgets the failures of one counter (after a successful login or a reset).
pub(crate) async fn clear<C: ConnectionTrait>(conn: &C, charge: &Charge) -> Result<()> {
    login_throttle::Entity::delete_by_id(charge.key.clone()).exec(conn).await?;
    Ok(())
}

/// Lifts the lock that counting a right password may have set, keeping the
/// count: a login waiting for its second factor must let the code through, and
/// the next wrong code locks again.
async fn release_lock<C: ConnectionTrait>(conn: &C, charge: &Charge) -> Result<()> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(login_throttle::Column::AccountKey.eq(charge.key.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes counters whose failures are all older than the failure window and
/// that refuse nothing any more (a background job), so addresses that tried
/// once do not stay in the table.
pub(crate) async fn forget_stale<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<u64> {
    let deleted = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::LastFailedAt.lt(now - policy.failure_window))
        .filter(
            sea_orm::Condition::any()
                .add(login_throttle::Column::LockedUntil.is_null())
                .add(login_throttle::Column::LockedUntil.lt(now)),
        )
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}

/// The error for an attempt refused by the backoff, saying when to try again.
pub(crate) fn rate_limited(retry_after: Duration) -> DomainError {
    let retry_after_secs = u64::try_from(retry_after.num_seconds()).unwrap_or(0).max(1);
    DomainError::RateLimited { retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_with_their_network() {
        let at = |ip: &str| address_and_network(ip.parse().expect("an address"));
        assert_eq!(at("203.0.113.77"), ("203.0.113.77".into(), "203.0.113.0/24".into()));
        // An IPv4 client reaching a dual-stack listener counts as IPv4.
        assert_eq!(at("::ffff:203.0.113.77"), ("203.0.113.77".into(), "203.0.113.0/24".into()));
        assert_eq!(at("2001:db8:1:2:3:4:5:6"), ("2001:db8:1:2:3:4:5:6".into(), "2001:db8:1:2::/64".into()));
    }

    #[test]
    fn the_backoff_doubles_after_the_free_failures_up_to_its_cap() {
        let policy = SessionPolicy::default();
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a valid instant");
        assert_eq!(backoff_end(5, 5, now, &policy), None);
        assert_eq!(backoff_end(6, 5, now, &policy), Some(now + Duration::seconds(30)));
        assert_eq!(backoff_end(7, 5, now, &policy), Some(now + Duration::seconds(60)));
        assert_eq!(backoff_end(60, 5, now, &policy), Some(now + Duration::minutes(15)));
    }
}
