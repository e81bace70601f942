//! `tessera-bench`: how fast the hot paths are, next to what the database alone
//! needs for the same work, measured in the same run on the same data.
//!
//! Run by hand (not in CI): `cargo run --release -p tessera-bench`. It uses a fresh
//! SQLite file, or `DATABASE_URL` (an empty PostgreSQL database) when set. The data
//! set is a salon chain: 50 providers working Monday–Saturday, 6 services, 200
//! customers and about 3,900 bookings over 30 days.
//!
//! | measurement | baseline |
//! |---|---|
//! | availability of one service across all providers for 30 days | the three reads it needs (hours, exceptions, bookings), as raw SQL |
//! | a page of 100 bookings with provider, service, customer, add-ons, through GraphQL | one raw SQL join returning the same rows |
//! | creating bookings one by one through the service | raw single-row INSERTs, one transaction each |

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait, Value};
use tessera_api::config::{Config, ConfigArgs};
use tessera_api::graphql::Loaders;
use tessera_api::{App, AppOptions};
use tessera_identity::{NewUser, PasswordHasher};
use tessera_kernel::{Actor, CustomerId, Db, ManualClock, RequestContext, RequestMeta, ServiceId, TenantId};
use tessera_scheduling::{
    AvailabilityQuery, BookingCustomer, CustomerInput, NewBooking, OfferingTerms, ProviderInput, ServiceInput,
    WeeklyHours,
};
use tessera_tenant::{NewTenant, TenantRef};

const PROVIDERS: usize = 50;
const DAYS: i64 = 30;
const CUSTOMERS: usize = 200;
const START: &str = "2026-03-02T05:00:00Z";

type Failure = Box<dyn std::error::Error>;

fn fail(message: impl Into<String>) -> Failure {
    message.into().into()
}

fn domain(err: tessera_kernel::DomainError) -> Failure {
    fail(err.to_string())
}

struct World {
    app: App,
    ctx: RequestContext,
    tenant: TenantId,
    services: Vec<ServiceId>,
    customers: Vec<CustomerId>,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let world = load().await?;
    println!("Tessera benchmark on {}\n", world.app.state.db.backend_name());
    println!("{:<44} {:>14} {:>14} {:>8}", "measurement", "tessera", "baseline", "t / b");
    let (ours, base, statements) = availability(&world).await?;
    row("availability: 50 providers × 30 days (ms)", ours, base);
    println!("{:<44} {statements:>14}", "  statements per search");
    let (ours, base, statements) = nested_reads(&world).await?;
    row("nested page of 100 bookings (req/s)", ours, base);
    println!("{:<44} {statements:>14}", "  statements per request");
    let (ours, base) = create_bookings(&world).await?;
    row("create booking (bookings/s)", ours, base);
    world.app.stop().await;
    Ok(())
}

fn row(name: &str, ours: f64, baseline: f64) {
    println!("{name:<44} {ours:>14.2} {baseline:>14.2} {:>8.2}", ours / baseline);
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

trait BackendName {
    fn backend_name(&self) -> &'static str;
}

impl BackendName for Db {
    fn backend_name(&self) -> &'static str {
        match self.backend() {
            tessera_kernel::Backend::Sqlite => "SQLite",
            tessera_kernel::Backend::Postgres => "PostgreSQL",
        }
    }
}

async fn load() -> Result<World, Failure> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        let path = std::env::temp_dir().join(format!("tessera-bench-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        format!("sqlite://{}?mode=rwc", path.display())
    });
    let args = ConfigArgs {
        database_url: Some(url),
        seed_demo: Some(false),
        log: Some("error".into()),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args).map_err(|e| fail(e.to_string()))?;
    let start: DateTime<Utc> = START.parse()?;
    let clock = ManualClock::new(start);
    let options = AppOptions { clock: Arc::new(clock), hasher: PasswordHasher::new(2, 256), ..AppOptions::default() };
    let app = App::build(config, options).await.map_err(|e| fail(e.to_string()))?;
    let services = app.state.services.clone();
    let meta = RequestMeta { request_id: "bench".into(), ..RequestMeta::default() };
    let anonymous = RequestContext::anonymous(meta, services.clock.clone());
    let owner = NewUser {
        email: "bench@example.com".into(),
        password: "benchmark owner password".into(),
        display_name: "Bench".into(),
        locale: None,
    };
    let (user, session) = services.identity.create_account(&anonymous, owner).await.map_err(domain)?;
    let ctx = anonymous.with_actor(Actor { user_id: user.id, session_id: session.session_id });
    let chain = NewTenant {
        name: "Bench Salons".into(),
        slug: "bench-salons".into(),
        timezone: "Europe/Madrid".into(),
        locale: None,
    };
    let tenant = services.tenants.create_tenant(&ctx, chain).await.map_err(domain)?;
    let (_, scope) =
        services.rbac.resolve_scope(user.id, &TenantRef::Id(tenant.id), services.clock.now()).await.map_err(domain)?;
    let ctx = ctx.with_tenant(scope);
    let scheduling = &services.scheduling;

    eprintln!(
        "loading {PROVIDERS} providers, {CUSTOMERS} customers and ~{} bookings…",
        PROVIDERS as i64 * DAYS * 3 * 6 / 7
    );
    let mut services_ids = Vec::new();
    for (name, minutes) in
        [("Cut", 30), ("Colour", 90), ("Highlights", 120), ("Blowout", 45), ("Beard", 15), ("Treatment", 60)]
    {
        let input = ServiceInput {
            name: name.into(),
            price_minor: 5000,
            duration_minutes: minutes,
            buffer_after_minutes: 10,
            ..Default::default()
        };
        services_ids.push(scheduling.create_service(&ctx, input).await.map_err(domain)?.id);
    }
    let mut providers = Vec::new();
    for i in 0..PROVIDERS {
        let provider = scheduling
            .create_provider(&ctx, ProviderInput { name: format!("Provider {i}"), ..Default::default() })
            .await
            .map_err(domain)?;
        let hours = (0..6).map(|day| WeeklyHours::new(day, 9 * 60, 18 * 60)).collect();
        scheduling.set_working_hours(&ctx, provider.id, hours).await.map_err(domain)?;
        for service in &services_ids {
            scheduling.assign_service(&ctx, provider.id, *service, OfferingTerms::default()).await.map_err(domain)?;
        }
        providers.push(provider.id);
    }
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        customers.push(
            scheduling
                .create_customer(&ctx, CustomerInput { name: format!("Customer {i}"), ..Default::default() })
                .await
                .map_err(domain)?
                .id,
        );
    }
    let first_day = start.date_naive() + chrono::Duration::days(1);
    let mut made = 0usize;
    for day in 0..DAYS {
        let date = first_day + chrono::Duration::days(day);
        for (p, provider) in providers.iter().enumerate() {
            for (slot, hour) in [10, 13, 15].into_iter().enumerate() {
                let starts_at = local(date, hour)?;
                let booking = NewBooking {
                    service_id: services_ids[(p + slot) % 2 * 3],
                    provider_id: *provider,
                    customer: BookingCustomer::Existing(customers[(made * 7) % customers.len()]),
                    starts_at,
                    addon_ids: Vec::new(),
                    notes: None,
                    idempotency_key: None,
                };
                // Sundays are closed: those are refused, as they should be.
                if scheduling.create_booking(&ctx, booking).await.is_ok() {
                    made += 1;
                }
            }
        }
    }
    eprintln!("loaded {made} bookings");
    Ok(World { app, ctx, tenant: tenant.id, services: services_ids, customers })
}

/// `hour`:00 in Madrid on `date`, as an instant.
fn local(date: NaiveDate, hour: u32) -> Result<DateTime<Utc>, Failure> {
    use chrono::TimeZone;
    let naive = date.and_hms_opt(hour, 0, 0).ok_or_else(|| fail("bad hour"))?;
    let at =
        chrono_tz::Europe::Madrid.from_local_datetime(&naive).single().ok_or_else(|| fail("no such local time"))?;
    Ok(at.with_timezone(&Utc))
}

fn statement(db: &Db, sql: &str, values: Vec<Value>) -> Statement {
    let backend = match db.backend() {
        tessera_kernel::Backend::Postgres => DbBackend::Postgres,
        tessera_kernel::Backend::Sqlite => DbBackend::Sqlite,
    };
    let sql = match backend {
        DbBackend::Postgres => {
            let mut n = 0;
            sql.chars()
                .map(|c| {
                    if c == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn availability(world: &World) -> Result<(f64, f64, u64), Failure> {
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
    let mut statements = 0;
    let mut slots = 0;
    for _ in 0..15 {
        let before = db.statements_executed();
        let started = Instant::now();
        slots = services.scheduling.availability(&world.ctx, query.clone()).await.map_err(domain)?.len();
        ours.push(started.elapsed());
        statements = db.statements_executed() - before;
    }
    let (first, last) = (
        from.and_hms_opt(0, 0, 0).ok_or_else(|| fail("date"))?.and_utc(),
        to.and_hms_opt(23, 59, 0).ok_or_else(|| fail("date"))?.and_utc(),
    );
    let tenant = world.tenant.as_uuid();
    let mut base = Vec::new();
    for _ in 0..15 {
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
    Ok((median(ours), median(base), statements))
}

async fn nested_reads(world: &World) -> Result<(f64, f64, u64), Failure> {
    let state = &world.app.state;
    let query = "{ bookings(first: 100) { edges { node { id startsAt status price { amountMinor } addons { name } provider { name } service { name durationMinutes } customer { name } } } } }";
    let run = || async {
        let request = async_graphql::Request::new(query)
            .data(world.ctx.clone())
            .data(Loaders::new(state.services.clone(), world.ctx.clone()))
            .data(state.services.clone());
        let response = state.schema.execute(request).await;
        if response.errors.is_empty() { Ok(()) } else { Err(fail(format!("{:?}", response.errors))) }
    };
    let before = state.db.statements_executed();
    run().await?;
    let statements = state.db.statements_executed() - before;
    let ours = throughput(Duration::from_secs(3), run).await?;
    let tenant = world.tenant.as_uuid();
    let sql = "SELECT b.id, b.starts_at, b.status, b.price_minor, p.name, s.name, s.duration_minutes, c.name \
               FROM bookings b JOIN providers p ON p.id = b.provider_id JOIN services s ON s.id = b.service_id \
               JOIN customers c ON c.id = b.customer_id WHERE b.tenant_id = ? ORDER BY b.starts_at, b.id LIMIT 101";
    let db = &state.db;
    let base = throughput(Duration::from_secs(3), || async {
        db.connection().query_all_raw(statement(db, sql, vec![tenant.into()])).await.map(drop).map_err(Failure::from)
    })
    .await?;
    Ok((ours, base, statements))
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

async fn create_bookings(world: &World) -> Result<(f64, f64), Failure> {
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
