//! Fixed-window limits on things that are not failures: so many of them per
//! key per window (sign-up emails to one address an hour, sign-ups from one
//! client an hour). Unlike the login throttle (`crate::throttle`), nothing here
//! backs off: a window simply fills, and empties when it ends.
//!
//! Each use locks the key's row before counting (`FOR UPDATE` on PostgreSQL,
//! the write lock on SQLite), so parallel requests cannot overfill a window.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use tessera_kernel::{DomainError, Result};

use crate::entity::rate_window;
use crate::token::hash_token;

/// Uses one place in the window of `key` (any text; only its hash is kept),
/// which holds `limit` uses per `window`. `Err` says how long until the window
/// ends when it is full; nothing is counted then.
pub(crate) async fn take<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), Duration>> {
    let key = hash_token(key);
    let insert = Query::insert()
        .into_table(rate_window::Entity)
        .columns([rate_window::Column::Key, rate_window::Column::StartedAt, rate_window::Column::Used])
        .values_panic([key.clone().into(), now.into(), 0.into()])
        .on_conflict(OnConflict::column(rate_window::Column::Key).do_nothing().to_owned())
        .to_owned();
    conn.execute(&insert).await?;
    let row = rate_window::Entity::find_by_id(key)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::Internal("rate window row vanished".into()))?;
    let (started_at, used) = if now - row.started_at >= window { (now, 0) } else { (row.started_at, row.used) };
    if i64::from(used) >= i64::from(limit) {
        return Ok(Err(started_at + window - now));
    }
    let mut active: rate_window::ActiveModel = row.into();
    active.started_at = Set(started_at);
    active.used = Set(used.saturating_add(1));
    active.update(conn).await?;
    Ok(Ok(()))
}

/// Deletes windows that started before `before` (a background job).
pub(crate) async fn forget_before<C: ConnectionTrait>(conn: &C, before: DateTime<Utc>) -> Result<u64> {
    let deleted =
        rate_window::Entity::delete_many().filter(rate_window::Column::StartedAt.lt(before)).exec(conn).await?;
    Ok(deleted.rows_affected)
}
