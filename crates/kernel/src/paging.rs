//! Cursor pages for Relay connections.
//!
//! Ids are UUIDv7, so ordering by id is ordering by creation time and a cursor only
//! needs the id. Cursors are opaque to clients (base64 of a versioned string), and
//! page sizes are capped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::{DomainError, Result};

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// The page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

const CURSOR_PREFIX: &str = "c1:";

/// Refuses a `from`..`to` filter whose end is not after its start: such a window
/// can hold nothing, and an empty page would hide the caller's mistake.
pub fn check_time_window(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<()> {
    match (from, to) {
        (Some(from), Some(to)) if to <= from => Err(DomainError::invalid("to", "must be after from")),
        _ => Ok(()),
    }
}

/// Encodes an id as an opaque cursor.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(field: &str, cursor: &str) -> Result<Uuid> {
    let invalid = || DomainError::invalid(field, "not a cursor from this API");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let id = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    Uuid::parse_str(id).map_err(|_| invalid())
}

const TIME_CURSOR_PREFIX: &str = "t1:";

/// Encodes a (time, id) position as an opaque cursor, for lists ordered by time.
pub fn encode_time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TIME_CURSOR_PREFIX}{}|{id}", at.to_rfc3339()))
}

/// Decodes a cursor made by [`encode_time_cursor`].
pub fn decode_time_cursor(field: &str, cursor: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let invalid = || DomainError::invalid(field, "not a cursor from this API");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.strip_prefix(TIME_CURSOR_PREFIX).and_then(|t| t.split_once('|')).ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| invalid())?.with_timezone(&Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// A client's Relay paging arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Items after `after`, at most this many.
    pub first: Option<i32>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Items before `before`, at most this many.
    pub last: Option<i32>,
    /// Cursor to end before.
    pub before: Option<String>,
}

/// A validated [`PageRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    after: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
    backwards: bool,
}

impl PageRequest {
    fn size(&self) -> Result<(u64, bool)> {
        if self.first.is_some() && self.last.is_some() {
            return Err(DomainError::invalid("first", "give either first or last, not both"));
        }
        let size = |field: &str, n: i32| -> Result<u64> {
            match u64::try_from(n) {
                Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
                _ => Err(DomainError::invalid(field, format!("must be between 0 and {MAX_PAGE_SIZE}"))),
            }
        };
        Ok(match (self.first, self.last) {
            (Some(n), _) => (size("first", n)?, false),
            (_, Some(n)) => (size("last", n)?, true),
            _ => (DEFAULT_PAGE_SIZE, false),
        })
    }

    /// Validates sizes and cursors of a list ordered by (time, id).
    pub fn time_keyset(&self) -> Result<TimeKeyset> {
        let (limit, backwards) = self.size()?;
        Ok(TimeKeyset {
            after: self.after.as_deref().map(|c| decode_time_cursor("after", c)).transpose()?,
            before: self.before.as_deref().map(|c| decode_time_cursor("before", c)).transpose()?,
            limit,
            backwards,
        })
    }

    /// Validates sizes and cursors.
    pub fn keyset(&self) -> Result<Keyset> {
        let (limit, backwards) = self.size()?;
        Ok(Keyset {
            after: self.after.as_deref().map(|c| decode_cursor("after", c)).transpose()?,
            before: self.before.as_deref().map(|c| decode_cursor("before", c)).transpose()?,
            limit,
            backwards,
        })
    }
}

impl Keyset {
    /// Restricts `select` to this page (plus one row, to learn whether more follow).
    pub fn apply<E, C>(&self, mut select: Select<E>, id_column: C) -> Select<E>
    where
        E: EntityTrait,
        C: ColumnTrait,
    {
        if let Some(after) = self.after {
            select = select.filter(id_column.gt(after));
        }
        if let Some(before) = self.before {
            select = select.filter(id_column.lt(before));
        }
        let select = if self.backwards { select.order_by_desc(id_column) } else { select.order_by_asc(id_column) };
        select.limit(self.limit + 1)
    }

    /// The rows of several lists fetched with [`Keyset::apply`] (one id space,
    /// such as UUIDv7s), as if fetched from one: in fetch order, the page plus one.
    pub fn merge_fetched<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> Vec<T> {
        if self.backwards {
            rows.sort_by_key(|row| std::cmp::Reverse(id(row)));
        } else {
            rows.sort_by_key(|row| id(row));
        }
        rows.truncate(usize::try_from(self.limit + 1).unwrap_or(usize::MAX));
        rows
    }

    /// Turns the rows fetched with [`Keyset::apply`] into a page in ascending order.
    pub fn finish<T>(&self, rows: Vec<T>) -> Page<T> {
        self.finish_with(rows, self.after.is_some(), self.before.is_some())
    }

    fn finish_with<T>(&self, mut rows: Vec<T>, has_after: bool, has_before: bool) -> Page<T> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        if self.backwards {
            rows.reverse();
            Page { items: rows, has_previous_page: more, has_next_page: has_before }
        } else {
            Page { items: rows, has_next_page: more, has_previous_page: has_after }
        }
    }
}

/// A validated [`PageRequest`] over a list ordered by (time, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeKeyset {
    after: Option<(DateTime<Utc>, Uuid)>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
    backwards: bool,
}

impl TimeKeyset {
    /// Restricts `select` to this page (plus one row), ordered by `time` then `id`.
    pub fn apply<E, T, I>(&self, mut select: Select<E>, time: T, id: I) -> Select<E>
    where
        E: EntityTrait,
        T: ColumnTrait,
        I: ColumnTrait,
    {
        if let Some((at, after_id)) = self.after {
            select = select
                .filter(Condition::any().add(time.gt(at)).add(Condition::all().add(time.eq(at)).add(id.gt(after_id))));
        }
        if let Some((at, before_id)) = self.before {
            select = select
                .filter(Condition::any().add(time.lt(at)).add(Condition::all().add(time.eq(at)).add(id.lt(before_id))));
        }
        let select = if self.backwards {
            select.order_by_desc(time).order_by_desc(id)
        } else {
            select.order_by_asc(time).order_by_asc(id)
        };
        select.limit(self.limit + 1)
    }

    /// Turns the fetched rows into a page in ascending order.
    pub fn finish<T>(&self, rows: Vec<T>) -> Page<T> {
        Keyset { after: None, before: None, limit: self.limit, backwards: self.backwards }.finish_with(
            rows,
            self.after.is_some(),
            self.before.is_some(),
        )
    }
}

/// One page of a list, in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Whether items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Converts each item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }

    /// Converts each item with a conversion that can fail.
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<Vec<U>>>()?,
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn merged_lists_page_as_one_list_would() {
        let all = ids(9);
        let (odd, even): (Vec<_>, Vec<_>) = all.iter().partition(|id| id.as_u128() % 2 == 1);
        for (first, last) in [(Some(4), None), (None, Some(4)), (Some(20), None)] {
            let keyset = PageRequest { first, last, ..PageRequest::default() }.keyset().unwrap();
            // Each list fetched alone: its page plus one, in fetch order.
            let fetch = |list: &[Uuid]| {
                let mut rows = list.to_vec();
                if keyset.backwards {
                    rows.reverse();
                }
                rows.truncate(keyset.limit as usize + 1);
                rows
            };
            let merged = keyset.merge_fetched([fetch(&odd), fetch(&even)].concat(), |id| *id);
            assert_eq!(keyset.finish(merged), keyset.finish(fetch(&all)), "first {first:?} last {last:?}");
        }
    }
}
