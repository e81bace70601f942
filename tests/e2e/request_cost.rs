//! What one request costs the database: statements (each transaction's
//! `BEGIN` and `COMMIT` included) and transactions, counted for an
//! authenticated `{ __typename }` and for a nested page of bookings. The
//! budgets below are issue 17's targets (one transaction and at most 5
//! statements for the page on PostgreSQL, nothing for a trivial request of a
//! caller already seen), so a change that adds a statement to every request
//! fails here.

use std::time::Duration;

use serde_json::json;
use tessera_e2e::TestApp;

use crate::scheduling::{BOOK, booking_input, cost_of, salon, utc};

/// The page the benchmark reads: bookings with their provider, service,
/// customer and add-ons.
const PAGE: &str = "{ bookings(first: 100) { edges { node { id startsAt status price { amountMinor } addons { name } provider { name } service { name durationMinutes } customer { name } } } } }";

#[tokio::test]
async fn an_authenticated_trivial_request_and_a_nested_page_stay_within_budget() {
    // The relay runs only when a write wakes it: nothing in the background
    // adds statements to the ones counted.
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app =
        TestApp::spawn_with_options(database, |_| {}, |o| o.relay_poll_interval = Duration::from_secs(3600)).await;
    app.clock.set(utc("2026-03-02T08:00:00Z"));
    let salon = salon(&app, "request-cost", 0).await;
    for hour in [9, 10, 11] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, &format!("2026-03-04T{hour:02}:00:00Z"))).await;
    }

    let trivial = cost_of(&app, &salon.owner, "{ __typename }", json!({})).await;
    let page = cost_of(&app, &salon.owner, PAGE, json!({})).await;
    let budget = Budget::for_backend(app.database.is_postgres());
    assert!(
        trivial.0 <= budget.trivial.0 && trivial.1 <= budget.trivial.1,
        "an authenticated {{ __typename }} costs {trivial:?} (statements, transactions); the budget is {:?}",
        budget.trivial
    );
    assert!(
        page.0 <= budget.page.0 && page.1 <= budget.page.1,
        "the nested page costs {page:?} (statements, transactions); the budget is {:?}",
        budget.page
    );
}

/// (statements, transactions) allowed per request.
struct Budget {
    trivial: (u64, u64),
    page: (u64, u64),
}

impl Budget {
    fn for_backend(postgres: bool) -> Self {
        // The caller's session and rights are recalled from the last request
        // (nothing they depend on changed), so a trivial request reads nothing;
        // the page is one transaction: the bookings joined with their
        // providers, services and customers, then their add-ons (and, on
        // PostgreSQL, the statement that frames it for row-level security).
        if postgres { Self { trivial: (0, 0), page: (5, 1) } } else { Self { trivial: (0, 0), page: (4, 1) } }
    }
}
