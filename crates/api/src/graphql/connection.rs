//! Relay connections over kernel pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use tessera_kernel::paging::{DEFAULT_PAGE_SIZE, encode_cursor};
use tessera_kernel::{Page, PageRequest};
use uuid::Uuid;

/// The paging arguments of a connection field.
pub(crate) fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageRequest {
    PageRequest { first, after, last, before }
}

/// The complexity of a connection field: its page size times the cost of one node,
/// so `first: 100` of something expensive costs 100 times as much.
pub(crate) fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).map_or(DEFAULT_PAGE_SIZE as usize, |n| usize::try_from(n).unwrap_or(0));
    size.max(1).saturating_mul(child_complexity).saturating_add(1)
}

/// A Relay connection of `page`, each item turned into a node with its cursor.
pub(crate) fn connection<T, N: OutputType>(
    page: Page<T>,
    cursor_of: impl Fn(&T) -> Uuid,
    node_of: impl Fn(T) -> N,
) -> Connection<String, N> {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(page.items.into_iter().map(|item| {
        let cursor = encode_cursor(cursor_of(&item));
        Edge::new(cursor, node_of(item))
    }));
    connection
}
