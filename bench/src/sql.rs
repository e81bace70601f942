//! The baselines' SQL: what the database alone needs for the same work, run
//! through the gateway's own pool.

use sea_orm::{DbBackend, Statement, Value};
use tessera_kernel::{Backend, Db, TenantId};

/// `sql` with `?` placeholders, written for `db`'s engine.
pub(crate) fn statement(db: &Db, sql: &str, values: Vec<Value>) -> Statement {
    let backend = match db.backend() {
        Backend::Postgres => DbBackend::Postgres,
        Backend::Sqlite => DbBackend::Sqlite,
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

/// The page of 100 bookings (and one more, to know a next page exists) with
/// their provider, service, customer and add-ons: the rows the nested GraphQL
/// page returns, in one join.
pub(crate) fn page_of_bookings(db: &Db, tenant: TenantId) -> Statement {
    statement(
        db,
        "SELECT b.id, b.starts_at, b.status, b.price_minor, p.name, s.name, s.duration_minutes, c.name, a.name \
         FROM bookings b JOIN providers p ON p.id = b.provider_id JOIN services s ON s.id = b.service_id \
         JOIN customers c ON c.id = b.customer_id LEFT JOIN booking_addons a ON a.booking_id = b.id \
         WHERE b.tenant_id = ? ORDER BY b.starts_at, b.id LIMIT 101",
        vec![tenant.as_uuid().into()],
    )
}

/// The engine's name, for the report.
pub(crate) fn backend_name(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}
