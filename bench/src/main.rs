//! `tessera-bench`: how fast the hot paths are, next to what the database alone
//! needs for the same work, measured in the same run on the same data.
//!
//! Run by hand (not in CI): `cargo run --release -p tessera-bench`. It uses a fresh
//! SQLite file, or `DATABASE_URL` (an empty PostgreSQL database) when set. It
//! loads a salon chain (`world.rs`), measures the services in process, then
//! serves the gateway on a random port and drives it over HTTP with
//! `TESSERA_BENCH_CLIENTS` concurrent clients (default 8) for
//! `TESSERA_BENCH_SECONDS` per row (default 3):
//!
//! | measurement | baseline |
//! |---|---|
//! | availability of one service across all providers for 30 days | the three reads it needs (hours, exceptions, bookings), as raw SQL |
//! | creating bookings one by one through the service | raw single-row INSERTs, one transaction each |
//! | authenticated `{ __typename }` with `X-Tenant`, over HTTP | anonymous `{ __typename }` |
//! | a page of 100 bookings with provider, service, customer, add-ons, over HTTP | one raw SQL join returning the same rows, through the same pool at the same concurrency; and the database's ceiling, the join inside the row-level-security framing |
//! | idle memory, memory per idle subscription, a cold start | the targets alone |
//!
//! It ends with each target of issue 17 and whether this run met it.

// The schema's resolvers nest deeply enough for the release build's layout queries.
#![recursion_limit = "256"]

mod http_load;
mod in_process;
mod resources;
mod sql;
mod world;

use std::time::Duration;

use sea_orm::ConnectionTrait;
use tessera_kernel::db::{Access, Backend, Db, Scope};
use tokio::net::TcpListener;

use crate::http_load::{As, Gateway, Run, drive, quantile_ms};
use crate::sql::{backend_name, page_of_bookings};
use crate::world::{SLUG, World};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

pub(crate) fn fail(message: impl Into<String>) -> Failure {
    message.into().into()
}

pub(crate) fn domain(err: tessera_kernel::DomainError) -> Failure {
    fail(err.to_string())
}

/// The nested page every read row asks for.
pub(crate) const PAGE_QUERY: &str = "{ bookings(first: 100) { edges { node { id startsAt status price { amountMinor } addons { name } provider { name } service { name durationMinutes } customer { name } } } } }";

/// A number the issue set, and this run's value for it.
struct Target {
    what: &'static str,
    value: f64,
    bound: Bound,
}

enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(&self) -> bool {
        match self.bound {
            Bound::AtLeast(floor) => self.value >= floor,
            Bound::AtMost(ceiling) => self.value <= ceiling,
        }
    }

    fn print(&self) {
        let (sign, bound) = match self.bound {
            Bound::AtLeast(floor) => ("≥", floor),
            Bound::AtMost(ceiling) => ("≤", ceiling),
        };
        let verdict = if self.met() { "met" } else { "NOT MET" };
        println!("{:<58} {:>10.2} {sign} {bound:<8} {verdict}", self.what, self.value);
    }
}

fn env_number(name: &str, default: u64) -> Result<u64, Failure> {
    match std::env::var(name) {
        Ok(text) => text.parse().map_err(|_| fail(format!("{name} must be a whole number"))),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let clients = usize::try_from(env_number("TESSERA_BENCH_CLIENTS", 8)?)?;
    let window = Duration::from_secs(env_number("TESSERA_BENCH_SECONDS", 3)?);
    let world = world::load().await?;
    let db = world.app.state.db.clone();
    println!(
        "Tessera benchmark on {}: {clients} clients over HTTP, {} s per row\n",
        backend_name(&db),
        window.as_secs()
    );
    let mut targets = in_process_rows(&world).await?;

    let World { app, tenant, owner, token, idle_rss_kib, .. } = world;
    let state = app.state.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tessera_api::server::serve(app, listener, async {
        let _ = stopped.await;
    }));
    let gateway = Gateway::new(&format!("http://{address}"), &token, SLUG)?;

    println!("\n{:<58} {:>10} {:>10} {:>10}", "over HTTP", "req/s", "p50 ms", "p99 ms");
    let anonymous = over_http(&gateway, clients, window, "{ __typename }", As::Anonymous).await?;
    http_row("anonymous { __typename }", anonymous);
    let signed = over_http(&gateway, clients, window, "{ __typename }", As::Owner).await?;
    http_row("authenticated { __typename } with X-Tenant", signed);
    let (statements, transactions) = per_request(&db, &gateway, "{ __typename }").await?;
    println!("  {statements} statements in {transactions} transactions per request");
    targets.push(Target {
        what: "authenticated / anonymous { __typename }",
        value: signed.per_second / anonymous.per_second,
        bound: Bound::AtLeast(0.5),
    });

    let page = over_http(&gateway, clients, window, PAGE_QUERY, As::Owner).await?;
    http_row("page of 100 bookings with provider, service, customer", page);
    let (statements, transactions) = per_request(&db, &gateway, PAGE_QUERY).await?;
    println!("  {statements} statements in {transactions} transactions per request");
    let join = page_of_bookings(&db, tenant);
    let pool = db.clone();
    let rows = join.clone();
    let baseline = drive(clients, window, move || {
        let (db, join) = (pool.clone(), rows.clone());
        async move { db.connection().query_all_raw(join).await.map(drop).map_err(Failure::from) }
    })
    .await?;
    http_row("  baseline: the same rows from one join, same pool", baseline);
    let pool = db.clone();
    let scope = Scope::Tenant { tenant_id: tenant, user_id: Some(owner) };
    let ceiling = drive(clients, window, move || {
        let (db, join) = (pool.clone(), join.clone());
        async move {
            let txn = db.begin(scope, Access::Read).await?;
            txn.query_all_raw(join).await?;
            txn.commit().await.map_err(Failure::from)
        }
    })
    .await?;
    http_row("  database ceiling: that join inside the RLS framing", ceiling);
    targets.push(Target {
        what: "page of 100 over HTTP / its one-join baseline",
        value: page.per_second / baseline.per_second,
        bound: Bound::AtLeast(0.7),
    });
    targets.push(Target {
        what: "page of 100: p99 / p50",
        value: page.p99_ms / page.p50_ms,
        bound: Bound::AtMost(2.0),
    });
    if db.backend() == Backend::Postgres {
        targets.push(Target {
            what: "page of 100: statements per request (PostgreSQL)",
            value: statements as f64,
            bound: Bound::AtMost(5.0),
        });
    }
    targets.push(Target {
        what: "page of 100: transactions per request",
        value: transactions as f64,
        bound: Bound::AtMost(1.0),
    });

    println!("\nresources");
    if let Some(kib) = idle_rss_kib {
        println!("{:<58} {:>10.1} MiB", "resident memory right after start", kib as f64 / 1024.0);
        targets.push(Target {
            what: "idle resident memory after start (MiB)",
            value: kib as f64 / 1024.0,
            bound: Bound::AtMost(60.0),
        });
    }
    let ws_url = format!("ws://{address}/graphql");
    if let Some(kib) = resources::per_subscription_kib(&state, owner, &token, &ws_url).await? {
        println!("{:<58} {kib:>10.1} KiB", "per idle subscription (10,000 over 100 sockets)");
        targets.push(Target { what: "KiB per idle subscription", value: kib, bound: Bound::AtMost(20.0) });
    }
    let _ = stop.send(());
    server.await??;
    state.shutdown.cancel();
    let cold = resources::cold_start().await?;
    println!("{:<58} {:>10.0} ms", "cold start on a new SQLite file (migrations + demo)", cold.as_secs_f64() * 1000.0);
    targets.push(Target {
        what: "cold start on a new SQLite file (ms)",
        value: cold.as_secs_f64() * 1000.0,
        bound: Bound::AtMost(1000.0),
    });

    println!("\n{:<58} {:>10}   {:<10} verdict", "target", "this run", "bound");
    for target in &targets {
        target.print();
    }
    Ok(())
}

/// The rows measured by calling the services and the schema directly.
async fn in_process_rows(world: &World) -> Result<Vec<Target>, Failure> {
    println!("{:<58} {:>10} {:>10} {:>10}", "in process", "tessera", "baseline", "t / b");
    let (ours, base, statements) = in_process::availability(world).await?;
    let (median, p95, raw) = (quantile_ms(&ours, 0.5), quantile_ms(&ours, 0.95), quantile_ms(&base, 0.5));
    row("availability: 50 providers × 30 days, median ms", median, raw);
    println!("  p95 {p95:.1} ms; {statements} statements per search");
    let (ours_page, base_page) = in_process::nested_reads(world).await?;
    row("nested page of 100 bookings, one client, req/s", ours_page, base_page);
    let (created, inserted) = in_process::create_bookings(world).await?;
    row("create booking, one client, bookings/s", created, inserted);
    Ok(vec![
        Target { what: "availability median / its raw reads", value: median / raw, bound: Bound::AtMost(2.5) },
        Target { what: "availability p95 (ms)", value: p95, bound: Bound::AtMost(20.0) },
        Target {
            what: "create booking / raw single-row inserts",
            value: created / inserted,
            bound: Bound::AtLeast(0.5),
        },
    ])
}

fn row(name: &str, ours: f64, baseline: f64) {
    println!("{name:<58} {ours:>10.2} {baseline:>10.2} {:>10.2}", ours / baseline);
}

fn http_row(name: &str, run: Run) {
    println!("{name:<58} {:>10.0} {:>10.2} {:>10.2}", run.per_second, run.p50_ms, run.p99_ms);
}

/// `query` sent by `clients` concurrent clients as `who`.
async fn over_http(gateway: &Gateway, clients: usize, window: Duration, query: &str, who: As) -> Result<Run, Failure> {
    let (gateway, body) = (gateway.clone(), Gateway::body(query));
    drive(clients, window, move || {
        let (gateway, body) = (gateway.clone(), body.clone());
        async move { gateway.send(body, who).await }
    })
    .await
}

/// Statements and transactions one request of `query` costs the owner: the
/// fewest of ten sequential requests, since a background job's statements may
/// land in any one of them.
async fn per_request(db: &Db, gateway: &Gateway, query: &str) -> Result<(u64, u64), Failure> {
    let body = Gateway::body(query);
    let mut fewest = (u64::MAX, u64::MAX);
    for _ in 0..10 {
        let before = (db.statements_executed(), db.transactions_begun());
        gateway.send(body.clone(), As::Owner).await?;
        let cost = (db.statements_executed() - before.0, db.transactions_begun() - before.1);
        fewest = fewest.min(cost);
    }
    Ok(fewest)
}
