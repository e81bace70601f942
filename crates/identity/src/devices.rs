//! Trusted devices: OWASP's "device cookies" for a token-based API.
//!
//! Every successful sign-in hands the client a device token (`tdv_…`), to keep
//! beside its session and send with its next `login`. A login presenting a
//! device token of the account it names is charged to that device's own
//! throttle counter instead of the account's and its address's (see
//! `crate::throttle`), so a stranger's guesses, which hold the account in
//! backoff, do not lock its owner out of a device they signed in from before.
//! Guesses made with a stolen device token are still throttled, on the device.
//!
//! The token is replaced at every sign-in (the old one stops working), lives
//! [`DEVICE_DAYS`], and an account keeps at most [`MAX_DEVICES`]: the oldest
//! are forgotten. A password reset forgets them all.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Result, UserId};
use uuid::Uuid;

use crate::entity::trusted_device;
use crate::token::{hash_token, new_token};

/// Prefix of device tokens.
pub const DEVICE_TOKEN_PREFIX: &str = "tdv_";
/// How long a device stays trusted without signing in again.
pub const DEVICE_DAYS: i64 = 180;
/// Trusted devices kept per account.
pub const MAX_DEVICES: u64 = 10;

/// The trusted device of `user_id` that `presented` names, if it is one.
pub(crate) async fn recognise<C: ConnectionTrait>(
    conn: &C,
    presented: Option<&str>,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    let Some(token) = presented.filter(|t| t.starts_with(DEVICE_TOKEN_PREFIX) && t.len() <= 128) else {
        return Ok(None);
    };
    let found = trusted_device::Entity::find()
        .filter(trusted_device::Column::TokenHash.eq(hash_token(token)))
        .one(conn)
        .await?;
    Ok(found.filter(|d| d.user_id == user_id && d.expires_at > now).map(|d| d.id))
}

/// Trusts the device a sign-in of `user_id` came from: replaces `previous` (the
/// device it presented, if any) with a new token, forgets the oldest devices
/// beyond [`MAX_DEVICES`], and returns the token for the client to keep.
pub(crate) async fn trust<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    previous: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<String> {
    if let Some(previous) = previous {
        trusted_device::Entity::delete_many()
            .filter(trusted_device::Column::Id.eq(previous))
            .filter(trusted_device::Column::UserId.eq(user_id))
            .exec(conn)
            .await?;
    }
    let token = new_token(DEVICE_TOKEN_PREFIX);
    trusted_device::Entity::insert(trusted_device::ActiveModel {
        id: Set(uuid_v7_at(now)),
        user_id: Set(user_id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(DEVICE_DAYS)),
    })
    .exec_without_returning(conn)
    .await?;
    let beyond: Vec<Uuid> = trusted_device::Entity::find()
        .select_only()
        .column(trusted_device::Column::Id)
        .filter(trusted_device::Column::UserId.eq(user_id))
        .order_by_desc(trusted_device::Column::Id)
        .offset(MAX_DEVICES)
        .limit(MAX_DEVICES)
        .into_tuple()
        .all(conn)
        .await?;
    if !beyond.is_empty() {
        trusted_device::Entity::delete_many().filter(trusted_device::Column::Id.is_in(beyond)).exec(conn).await?;
    }
    Ok(token)
}

/// Forgets every trusted device of `user_id` (after a password reset).
pub(crate) async fn forget_all<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<()> {
    trusted_device::Entity::delete_many().filter(trusted_device::Column::UserId.eq(user_id)).exec(conn).await?;
    Ok(())
}

/// Forgets devices that expired before `before` (a background job).
pub(crate) async fn expire<C: ConnectionTrait>(conn: &C, before: DateTime<Utc>) -> Result<u64> {
    let deleted =
        trusted_device::Entity::delete_many().filter(trusted_device::Column::ExpiresAt.lt(before)).exec(conn).await?;
    Ok(deleted.rows_affected)
}
