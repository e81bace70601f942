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

use crate::scheduling::{BOOK, booking_input, cost_of, salon, settle, utc};

/// The page the benchmark reads: bookings with their provider, service,
/// customer and add-ons.
const PAGE: &str = "{ bookings(first: 100) { edges { node { id startsAt status price { amountMinor } addons { name } provider { name } service { name durationMinutes } customer { name } } } } }";

#[tokio::test]
async fn an_authenticated_trivial_request_and_a_nested_page_stay_within_budget() {
    let app = quiet_app().await;
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

#[tokio::test]
async fn creating_a_booking_stays_within_budget() {
    // A booking's one transaction holds its reads (tenant, offer, customer,
    // working time, overlaps), the row, the audit link, the outbox event, the
    // customer's messages and its count against the tier; the response's
    // add-ons are one read more.
    let app = quiet_app().await;
    let salon = salon(&app, "booking-cost", 0).await;
    // The first booking of a tenant starts its audit chain and warms the caches.
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await;
    let db = &app.state.db;
    let mut fewest = (u64::MAX, u64::MAX);
    for hour in [10, 11] {
        settle(&app).await;
        let before = (db.statements_executed(), db.transactions_begun());
        app.ok(&salon.owner, BOOK, booking_input(&salon, &format!("2026-03-04T{hour}:00:00Z"))).await;
        // The relay the booking wakes publishes its event: counted too.
        settle(&app).await;
        fewest = fewest.min((db.statements_executed() - before.0, db.transactions_begun() - before.1));
    }
    let budget = Budget::for_backend(app.database.is_postgres()).booking;
    assert!(
        fewest.0 <= budget.0 && fewest.1 <= budget.1,
        "creating a booking costs {fewest:?} (statements, transactions); the budget is {budget:?}"
    );
}

/// A server whose relay runs only when a write wakes it, so nothing in the
/// background adds statements to the ones counted, at a fixed time.
async fn quiet_app() -> TestApp {
    let database = std::sync::Arc::new(tessera_e2e::TestDatabase::create().await);
    let app =
        TestApp::spawn_with_options(database, |_| {}, |o| o.relay_poll_interval = Duration::from_secs(3600)).await;
    app.clock.set(utc("2026-03-02T08:00:00Z"));
    app
}

/// (statements, transactions) allowed per request.
struct Budget {
    trivial: (u64, u64),
    page: (u64, u64),
    booking: (u64, u64),
}

impl Budget {
    fn for_backend(postgres: bool) -> Self {
        // The caller's session and rights are recalled from the last request
        // (nothing they depend on changed), so a trivial request reads nothing;
        // the page is one transaction: the bookings joined with their
        // providers, services and customers, then their add-ons (and, on
        // PostgreSQL, the statement that frames it for row-level security).
        // Creating a booking: see `creating_a_booking_stays_within_budget`;
        // on PostgreSQL its relay also takes the relay's advisory lock (one
        // replica relays at a time, also on a distributed database: ADR 0003).
        // Counting it against the tier is two statements: its usage record,
        // and the counter's update that finds and checks the limit. Whether
        // the booking waits for a payment is one read of the business's
        // payment account.
        if postgres {
            Self { trivial: (0, 0), page: (5, 1), booking: (31, 2) }
        } else {
            Self { trivial: (0, 0), page: (4, 1), booking: (28, 2) }
        }
    }
}
