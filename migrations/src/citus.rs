//! Distributing a migrated database over a Citus cluster: the operator's one
//! step after `tessera migrate up` on the coordinator (`tessera migrate
//! distribute`), safe to run again after later migrations.
//!
//! What it does, in one transaction (ARCHITECTURE.md, "Growing past one
//! database", and `docs/adr/0003-distributed-postgresql.md` say why):
//! 1. lets the request role log in, since Citus opens its connections to the
//!    workers as the current role, and makes the database forward `SET LOCAL`
//!    to the workers (`citus.propagate_set_commands = 'local'`), which is how
//!    the request's tenant reaches the policies there;
//! 2. makes `tenants` and `users`, which tenant tables reference, reference
//!    tables (a copy on every node);
//! 3. distributes every tenant table by `tenant_id`, all co-located, so one
//!    tenant's rows and their joins stay on one node. Citus refuses a foreign
//!    key from a local table to a distributed one, so the keys between tenant
//!    tables are set aside while the tables are distributed and put back after.
//!
//! A tenant table that cannot be distributed yet (its `tenant_id` still
//! nullable) stays on the coordinator, and is reported.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait};

use crate::postgres::APP_ROLE;

/// What [`distribute`] left where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    /// Tables with a copy on every node.
    pub reference: Vec<String>,
    /// Tables sharded by `tenant_id`, co-located.
    pub distributed: Vec<String>,
    /// Tenant tables left on the coordinator, which cannot be distributed yet.
    pub left_local: Vec<String>,
}

/// The tables every tenant table may reference, copied to every node.
const REFERENCE_TABLES: [&str; 5] = ["tenants", "users", "plans", "plan_overage_prices", "coupons"];

/// Tenant tables of the current schema, with whether they can be distributed.
const TENANT_TABLES: &str = "\
SELECT c.relname::text, a.attnotnull FROM pg_class c \
JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname";

/// The tables Citus copies to every node.
const REFERENCE: &str =
    "SELECT logicalrelid::regclass::text FROM pg_dist_partition WHERE partmethod = 'n' AND repmodel = 't'";

/// The tables Citus shards by a column (not its local tables, which it also
/// keeps in `pg_dist_partition`).
const DISTRIBUTED: &str = "SELECT logicalrelid::regclass::text FROM pg_dist_partition WHERE partmethod = 'h'";

/// The names `sql` reads.
async fn tables_of(conn: &impl ConnectionTrait, sql: &str) -> Result<Vec<String>, DbErr> {
    let backend = conn.get_database_backend();
    conn.query_all_raw(Statement::from_string(backend, sql)).await?.iter().map(|row| row.try_get_by_index(0)).collect()
}

/// Distributes the database `conn` is connected to (see the module docs).
/// Fails clearly when the database has no Citus extension.
pub async fn distribute(conn: &DatabaseConnection) -> Result<Distribution, DbErr> {
    let backend = conn.get_database_backend();
    let citus = conn
        .query_one_raw(Statement::from_string(backend, "SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
        .await?;
    if citus.is_none() {
        return Err(DbErr::Custom("this database has no Citus extension: CREATE EXTENSION citus first".into()));
    }
    let txn = conn.begin().await?;
    txn.execute_unprepared(&format!(
        "ALTER ROLE {APP_ROLE} LOGIN;
         DO $$ BEGIN
             EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', current_database(), 'local');
         END $$;"
    ))
    .await?;
    let references = tables_of(&txn, REFERENCE).await?;
    let mut report = Distribution::default();
    for table in REFERENCE_TABLES {
        if !references.iter().any(|t| t == table) {
            txn.execute_unprepared(&format!("SELECT create_reference_table('{table}')")).await?;
        }
        report.reference.push(table.to_owned());
    }
    // Read after the reference tables exist: Citus has then taken every table
    // with a foreign key to them into its metadata as a local table, which is
    // not yet distributed.
    let already = tables_of(&txn, DISTRIBUTED).await?;
    let mut to_distribute = Vec::new();
    for row in txn.query_all_raw(Statement::from_string(backend, TENANT_TABLES)).await? {
        let (table, not_null): (String, bool) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        if !not_null {
            report.left_local.push(table);
        } else if already.contains(&table) {
            report.distributed.push(table);
        } else {
            to_distribute.push(table);
        }
    }
    if !to_distribute.is_empty() {
        txn.execute_unprepared(&distribute_sql(&to_distribute, report.distributed.first())).await?;
        report.distributed.extend(to_distribute);
        report.distributed.sort();
    }
    txn.commit().await?;
    Ok(report)
}

/// The statements distributing `tables` (names from the catalog), co-located
/// with `existing` or with the first of them.
fn distribute_sql(tables: &[String], existing: Option<&String>) -> String {
    let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let (first, colocate) = match existing {
        Some(existing) => (String::new(), existing.clone()),
        None => (format!("PERFORM create_distributed_table('{}', 'tenant_id');", tables[0]), tables[0].clone()),
    };
    format!(
        r#"
CREATE TEMP TABLE tessera_set_aside ON COMMIT DROP AS
SELECT con.conrelid::regclass::text AS tbl, con.conname, pg_get_constraintdef(con.oid) AS def
FROM pg_constraint con
WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace
  AND con.conrelid::regclass::text = ANY (ARRAY[{list}]::text[])
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attname = 'tenant_id');
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM tessera_set_aside LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    {first}
    FOR r IN SELECT t FROM unnest(ARRAY[{list}]::text[]) AS t LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = r.t::regclass AND partmethod = 'h') THEN
            PERFORM create_distributed_table(r.t, 'tenant_id', colocate_with => '{colocate}');
        END IF;
    END LOOP;
    FOR r IN SELECT * FROM tessera_set_aside LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def);
    END LOOP;
END
$$;
"#
    )
}
