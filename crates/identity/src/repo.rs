//! Queries on the identity tables. Crate-private.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use tessera_kernel::Result;

use crate::entity::login_throttle;
use crate::model::SessionPolicy;

/// The outcome of asking to try a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reservation {
    /// Go ahead; the attempt is already counted as a failure until it succeeds.
    /// With `locks_until`, this attempt is the one that locks the account if it
    /// fails.
    Allowed {
        /// The end of the lockout a failure would start.
        locks_until: Option<DateTime<Utc>>,
        /// Failures counted so far, this attempt included.
        failures: i32,
    },
    /// Refused until the backoff ends.
    Locked { retry_after: Duration },
}

/// Counts a login attempt for `account_key` before the password is checked.
///
/// Counting first is what makes the throttle hold under parallel guesses: each
/// attempt increments the counter under a row lock (`FOR UPDATE` on PostgreSQL, the
/// `BEGIN IMMEDIATE` write lock on SQLite), so twenty simultaneous guesses see twenty
/// distinct counts and all but the first few are refused. A success clears the row.
pub(crate) async fn reserve_login_attempt<C: ConnectionTrait>(
    conn: &C,
    account_key: &str,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<Reservation> {
    // Make sure the row exists, so there is something to lock.
    let insert = Query::insert()
        .into_table(login_throttle::Entity)
        .columns([
            login_throttle::Column::AccountKey,
            login_throttle::Column::FailedCount,
            login_throttle::Column::LastFailedAt,
        ])
        .values_panic([account_key.into(), 0.into(), now.into()])
        .on_conflict(OnConflict::column(login_throttle::Column::AccountKey).do_nothing().to_owned())
        .to_owned();
    conn.execute(&insert).await?;

    let row = login_throttle::Entity::find_by_id(account_key.to_owned())
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| tessera_kernel::DomainError::Internal("login throttle row vanished".into()))?;

    if let Some(until) = row.locked_until.filter(|until| *until > now) {
        return Ok(Reservation::Locked { retry_after: until - now });
    }
    let previous = if now - row.last_failed_at > policy.failure_window { 0 } else { row.failed_count };
    let count = previous.saturating_add(1);
    let locked_until = (count > policy.free_login_attempts).then(|| {
        let doublings = u32::try_from(count - policy.free_login_attempts - 1).unwrap_or(u32::MAX).min(20);
        let backoff = policy.first_backoff * 2_i32.saturating_pow(doublings);
        now + backoff.min(policy.max_backoff)
    });
    let mut active: login_throttle::ActiveModel = row.into();
    active.failed_count = Set(count);
    active.last_failed_at = Set(now);
    active.locked_until = Set(locked_until);
    active.update(conn).await?;
    Ok(Reservation::Allowed { locks_until: locked_until, failures: count })
}

/// Forgets the failures of `account_key` (after a successful login or a reset).
pub(crate) async fn clear_login_failures<C: ConnectionTrait>(conn: &C, account_key: &str) -> Result<()> {
    login_throttle::Entity::delete_by_id(account_key.to_owned()).exec(conn).await?;
    Ok(())
}

/// Lifts the lock that counting a right password may have set, keeping the
/// count: a login waiting for its second factor must let the code through, and
/// the next wrong code locks again.
pub(crate) async fn release_lock<C: ConnectionTrait>(conn: &C, account_key: &str) -> Result<()> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::LockedUntil, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .filter(login_throttle::Column::AccountKey.eq(account_key))
        .exec(conn)
        .await?;
    Ok(())
}

/// The error for an attempt refused by the backoff, saying when to try again.
pub(crate) fn rate_limited(retry_after: Duration) -> tessera_kernel::DomainError {
    let retry_after_secs = u64::try_from(retry_after.num_seconds()).unwrap_or(0).max(1);
    tessera_kernel::DomainError::RateLimited { retry_after_secs }
}
