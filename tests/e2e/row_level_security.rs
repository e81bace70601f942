//! Row-level security on PostgreSQL: the database itself keeps tenants apart.
//!
//! On SQLite there is no row-level security; there, isolation rests on the services'
//! explicit tenant filters, which the tenant tests cover. These tests report that
//! they were not applicable and return.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use tessera_e2e::TestApp;
use tessera_kernel::TenantId;
use tessera_kernel::db::{APP_ROLE, Access, DbOptions, Scope};
use tessera_migrations::postgres::isolated_tables;

async fn scalar_i64(txn: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = txn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn two_tenants() -> Option<(TestApp, TenantId, TenantId)> {
    let app = TestApp::spawn().await;
    if !app.database.is_postgres() {
        eprintln!("row-level security applies to PostgreSQL only; set TESSERA_TEST_DATABASE_URL");
        return None;
    }
    let (_, a) = app.owner_of("rls-a").await;
    let (_, b) = app.owner_of("rls-b").await;
    Some((app, a.parse().unwrap(), b.parse().unwrap()))
}

#[tokio::test]
async fn every_tenant_table_forces_a_policy_on_a_role_that_owns_nothing() {
    let Some((app, _, _)) = two_tenants().await else { return };
    let conn = app.state.db.connection();
    for table in isolated_tables() {
        let sql = format!(
            "SELECT (relrowsecurity AND relforcerowsecurity)::int::int8 FROM pg_class WHERE relname = '{table}' AND relkind = 'r'"
        );
        assert_eq!(scalar_i64(conn, &sql).await, 1, "{table} must enable and force row-level security");
        let policies = scalar_i64(conn, &format!("SELECT count(*) FROM pg_policies WHERE tablename = '{table}'")).await;
        assert!(policies >= 1, "{table} has a policy");
    }
    // And no table with a tenant's rows escapes the list.
    let unguarded = scalar_i64(
        conn,
        "SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
         WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace \
         AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .await;
    assert_eq!(unguarded, 0, "every table with a tenant_id forces row-level security");
    let owns = scalar_i64(conn, &format!("SELECT count(*) FROM pg_tables WHERE tableowner = '{APP_ROLE}'")).await;
    assert_eq!(owns, 0);
    let privileged = scalar_i64(
        conn,
        &format!("SELECT (rolsuper OR rolbypassrls)::int::int8 FROM pg_roles WHERE rolname = '{APP_ROLE}'"),
    )
    .await;
    assert_eq!(privileged, 0);
}

#[tokio::test]
async fn a_statement_without_the_tenant_setting_sees_no_rows() {
    let Some((app, a, _)) = two_tenants().await else { return };
    let db = &app.state.db;
    let txn = db.begin(Scope::Global, Access::Read).await.unwrap();
    assert_eq!(scalar_i64(&txn, "SELECT count(*) FROM tenants").await, 0);
    assert_eq!(scalar_i64(&txn, "SELECT count(*) FROM memberships").await, 0);
    txn.commit().await.unwrap();
    // The raw connection switched to the request role, with nothing set, sees nothing either.
    let txn = db.connection().begin().await.unwrap();
    txn.execute_unprepared(&format!("SET LOCAL ROLE {APP_ROLE}")).await.unwrap();
    assert_eq!(scalar_i64(&txn, "SELECT count(*) FROM tenants").await, 0);
    txn.commit().await.unwrap();
    let txn = db.begin(Scope::Tenant { tenant_id: a, user_id: None }, Access::Read).await.unwrap();
    assert_eq!(scalar_i64(&txn, "SELECT count(*) FROM tenants").await, 1);
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn a_tenant_cannot_write_another_tenants_rows_even_by_raw_sql() {
    let Some((app, a, b)) = two_tenants().await else { return };
    let txn = app.state.db.begin(Scope::Tenant { tenant_id: a, user_id: None }, Access::Write).await.unwrap();
    let updated = txn
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE tenants SET name = 'hijacked' WHERE id = '{b}'"),
        ))
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let moved = txn
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE memberships SET tenant_id = '{b}' WHERE tenant_id = '{a}'"),
        ))
        .await;
    assert!(moved.is_err(), "rows cannot be moved into another tenant");
}

#[tokio::test]
async fn a_pooled_connection_never_carries_a_tenant_into_the_next_request() {
    let Some((app, a, b)) = two_tenants().await else { return };
    let mut options = DbOptions::new(app.database.url.clone());
    options.max_connections = 2;
    let pool = Arc::new(tessera_kernel::Db::connect(&options).await.unwrap());
    let tasks = (0..1000).map(|i| {
        let pool = pool.clone();
        let tenant = if i % 2 == 0 { a } else { b };
        tokio::spawn(async move {
            if i % 5 == 4 {
                let txn = pool.begin(Scope::Global, Access::Read).await.unwrap();
                let seen = scalar_i64(&txn, "SELECT count(*) FROM tenants").await;
                txn.commit().await.unwrap();
                return (seen == 0, i);
            }
            let txn = pool.begin(Scope::Tenant { tenant_id: tenant, user_id: None }, Access::Read).await.unwrap();
            let rows =
                txn.query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT id FROM tenants")).await.unwrap();
            txn.commit().await.unwrap();
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
            (ids == vec![tenant.as_uuid()], i)
        })
    });
    for result in futures_util::future::join_all(tasks).await {
        let (isolated, i) = result.unwrap();
        assert!(isolated, "request {i} saw another tenant's rows");
    }
}
