//! The `update…` inputs: every field is optional, an omitted field keeps its
//! value, and an explicit `null` clears a field that may be empty (and is refused,
//! naming the field, for one that may not). A client that sends only what it
//! changed never resets the rest.
//!
//! Each input sits in its area's file and converts into its domain's patch type
//! (`ProviderPatch`, `TenantSettingsPatch`…), where `None` means "unchanged" and
//! `Some(None)` "cleared"; the services write only the columns a patch names.
//! This module holds the three-way rules they share.

use async_graphql::{ID, MaybeUndefined};
use tessera_kernel::{DomainError, UserId};

use super::parse_id;
use crate::error::{ApiError, ApiResult};

/// A field that cannot be empty: omitted keeps it, a value sets it, `null` is
/// refused.
pub(crate) fn kept_or_set<T>(field: &str, value: MaybeUndefined<T>) -> ApiResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(DomainError::invalid(field, "cannot be cleared; omit it to keep it").into()),
        MaybeUndefined::Value(value) => Ok(Some(value)),
    }
}

/// A field that may be empty: omitted keeps it, `null` clears it.
pub(crate) fn kept_cleared_or_set<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A count that cannot be negative, as a domain `u32`; omitted keeps it.
pub(crate) fn kept_or_set_count(field: &str, value: MaybeUndefined<i32>) -> ApiResult<Option<u32>> {
    kept_or_set(field, value)?.map(|n| count(field, n)).transpose()
}

/// A count that cannot be negative.
pub(crate) fn count(field: &str, n: i32) -> ApiResult<u32> {
    u32::try_from(n).map_err(|_| ApiError::from(DomainError::invalid(field, "must not be negative")))
}

/// An account link as given: absent (keep), null (remove) or an id.
pub(crate) fn parse_link(link: MaybeUndefined<ID>) -> ApiResult<Option<Option<UserId>>> {
    kept_cleared_or_set(link).map(|link| link.map(|id| parse_id("userId", &id)).transpose()).transpose()
}
