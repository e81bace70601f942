//! The in-process measurements: the services and the schema called directly,
//! without HTTP, next to raw SQL doing the same work.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};
use tessera_api::graphql::Loaders;
use tessera_scheduling::{AvailabilityQuery, BookingCustomer, NewBooking, OfferingTerms, ProviderInput, WeeklyHours};

use crate::sql::{page_of_bookings, statement};
use crate::world::{DAYS, World};
use crate::{Failure, PAGE_QUERY, domain, fail};

/// Availability of one service across all providers for 30 days, against the
/// three reads it needs (hours, exceptions, bookings) as raw SQL: each run's
/// time, sorted, and the statements one search runs.
pub(crate) async fn availability(world: &World) -> Result<(Vec<Duration>, Vec<Duration>, u64), Failure> {
    let services = &world.app.state.services;
    let db = &world.app.state.db;
    let from = world.ctx.now().date_naive() + chrono::Duration::days(1);
    let to = from + chrono::Duration::days(DAYS - 1);
    let query = AvailabilityQuery {
        service_id: world.services[0],
        provider_id: None,
        addon_ids: Vec::new(),
        from: Some(from),
        to: Some(to),
        after: None,
        limit: tessera_scheduling::MAX_AVAILABILITY_SLOTS,
    };
    let mut ours = Vec::new();
    // The fewest of all searches: a background job may land in any one.
    let mut statements = u64::MAX;
    let mut slots = 0;
    for _ in 0..SEARCHES {
        let before = db.statements_executed();
        let started = Instant::now();
        slots = services.scheduling.availability(&world.ctx, query.clone()).await.map_err(domain)?.len();
        ours.push(started.elapsed());
        statements = statements.min(db.statements_executed() - before);
    }
    let (first, last) = (
        from.and_hms_opt(0, 0, 0).ok_or_else(|| fail("date"))?.and_utc(),
        to.and_hms_opt(23, 59, 0).ok_or_else(|| fail("date"))?.and_utc(),
    );
    let tenant = world.tenant.as_uuid();
    let mut base = Vec::new();
    for _ in 0..SEARCHES {
        let started = Instant::now();
        let conn = db.connection();
        conn.query_all_raw(statement(
            db,
            "SELECT provider_id, weekday, start_minute, end_minute FROM working_hours WHERE tenant_id = ?",
            vec![tenant.into()],
        ))
        .await?;
        conn.query_all_raw(statement(
            db,
            "SELECT * FROM schedule_exceptions WHERE tenant_id = ? AND date BETWEEN ? AND ?",
            vec![tenant.into(), from.into(), to.into()],
        ))
        .await?;
        conn.query_all_raw(statement(db, "SELECT provider_id, blocked_from, blocked_until FROM bookings WHERE tenant_id = ? AND blocked_until > ? AND blocked_from < ? ORDER BY blocked_from", vec![tenant.into(), first.into(), last.into()])).await?;
        base.push(started.elapsed());
    }
    eprintln!("availability found {slots} slots");
    ours.sort();
    base.sort();
    Ok((ours, base, statements))
}

/// How many availability searches are timed (enough for a 95th percentile).
const SEARCHES: usize = 40;

/// The nested page of 100 bookings through the schema, one request after
/// another, against the same rows from one join: requests per second each.
pub(crate) async fn nested_reads(world: &World) -> Result<(f64, f64), Failure> {
    let state = &world.app.state;
    let run = || async {
        let request = async_graphql::Request::new(PAGE_QUERY)
            .data(world.ctx.clone())
            .data(Loaders::new(state.services.clone(), world.ctx.clone()))
            .data(state.services.clone());
        let response = state.schema.execute(request).await;
        if response.errors.is_empty() { Ok(()) } else { Err(fail(format!("{:?}", response.errors))) }
    };
    let ours = throughput(Duration::from_secs(3), run).await?;
    let db = &state.db;
    let join = page_of_bookings(db, world.tenant);
    let base = throughput(Duration::from_secs(3), || async {
        db.connection().query_all_raw(join.clone()).await.map(drop).map_err(Failure::from)
    })
    .await?;
    Ok((ours, base))
}

async fn throughput<F, Fut>(window: Duration, mut run: F) -> Result<f64, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let started = Instant::now();
    let mut count = 0u32;
    while started.elapsed() < window {
        run().await?;
        count += 1;
    }
    Ok(f64::from(count) / started.elapsed().as_secs_f64())
}

/// Bookings created one by one through the service (with their audit record,
/// outbox event and queued messages), against bare single-row INSERTs in their
/// own transactions: bookings per second each.
pub(crate) async fn create_bookings(world: &World) -> Result<(f64, f64), Failure> {
    let services = &world.app.state.services;
    let db = &world.app.state.db;
    // A fresh provider and a day far from the loaded ones, so every booking fits.
    let provider = services
        .scheduling
        .create_provider(&world.ctx, ProviderInput { name: "Timing".into(), ..Default::default() })
        .await
        .map_err(domain)?;
    let hours = (0..7).map(|day| WeeklyHours::new(day, 0, 1440)).collect();
    services.scheduling.set_working_hours(&world.ctx, provider.id, hours).await.map_err(domain)?;
    services
        .scheduling
        .assign_service(&world.ctx, provider.id, world.services[4], OfferingTerms::default())
        .await
        .map_err(domain)?;
    let day = world.ctx.now().date_naive() + chrono::Duration::days(40);
    let count = 300;
    let started = Instant::now();
    for i in 0..count {
        let booking = NewBooking {
            service_id: world.services[4],
            provider_id: provider.id,
            customer: BookingCustomer::Existing(world.customers[i % world.customers.len()]),
            starts_at: day.and_hms_opt(0, 0, 0).ok_or_else(|| fail("date"))?.and_utc()
                + chrono::Duration::minutes(30 * i as i64),
            addon_ids: Vec::new(),
            notes: None,
            idempotency_key: Some(format!("bench-{i}")),
        };
        services.scheduling.create_booking(&world.ctx, booking).await.map_err(domain)?;
    }
    let ours = count as f64 / started.elapsed().as_secs_f64();

    let baseline_provider = services
        .scheduling
        .create_provider(&world.ctx, ProviderInput { name: "Baseline".into(), ..Default::default() })
        .await
        .map_err(domain)?;
    let tenant = world.tenant.as_uuid();
    let started = Instant::now();
    for i in 0..count {
        let at =
            day.and_hms_opt(0, 0, 0).ok_or_else(|| fail("date"))?.and_utc() + chrono::Duration::minutes(30 * i as i64);
        let until = at + chrono::Duration::minutes(15);
        let txn = db.connection().begin().await?;
        txn.execute_raw(statement(
            db,
            "INSERT INTO bookings (id, tenant_id, provider_id, service_id, customer_id, status, starts_at, ends_at, blocked_from, blocked_until, \
             service_name, price_minor, currency, duration_minutes, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, 'Beard', 5000, 'USD', 15, ?, ?)",
            vec![
                uuid::Uuid::new_v4().into(),
                tenant.into(),
                baseline_provider.id.as_uuid().into(),
                world.services[4].as_uuid().into(),
                world.customers[i % world.customers.len()].as_uuid().into(),
                at.into(),
                until.into(),
                at.into(),
                until.into(),
                at.into(),
                at.into(),
            ],
        ))
        .await?;
        txn.commit().await?;
    }
    let base = count as f64 / started.elapsed().as_secs_f64();
    Ok((ours, base))
}
