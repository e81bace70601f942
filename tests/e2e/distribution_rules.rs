//! The schema a distributed PostgreSQL (Citus) can shard by tenant: every
//! table with a `tenant_id` keeps a tenant's rows together by the rules below,
//! read from the catalog of the migrated database, so a table added later
//! (billing, payments, resources) complies from its first migration.
//!
//! The test fails on any break, naming the table, the rule and what breaks it
//! (migrations 26 to 31 fixed the 61 the first run found). PostgreSQL only: on
//! SQLite it says so and returns.

use tessera_e2e::TestApp;
use tessera_migrations::postgres::GLOBAL_TABLES;

/// The rules, as Citus states them for tables distributed by `tenant_id`.
const RULES: &[(&str, &str)] = &[
    ("R1", "the primary key includes tenant_id"),
    ("R2", "every unique constraint or index includes tenant_id"),
    ("R3", "an exclusion constraint includes tenant_id WITH ="),
    ("R4", "a foreign key to another tenant table is (tenant_id, …) REFERENCES t (tenant_id, …)"),
    ("R5", "no foreign key from a global table to a tenant table"),
    ("R6", "no subquery in a row-level-security policy"),
    ("R7", "no `function() IS NULL` in a row-level-security policy"),
    ("R8", "tenant_id is NOT NULL"),
];

/// Every break of the rules, as `rule table object`, from the catalog.
const BREAKS: &str = r#"
WITH tenant_tables AS (
  SELECT c.oid, c.relname, a.attnum AS tenant_att, a.attnotnull
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
),
breaks AS (
  SELECT t.relname::text AS tbl, 'R1' AS rule, coalesce(con.conname::text, 'no primary key') AS what
  FROM tenant_tables t LEFT JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'p'
  WHERE con.oid IS NULL OR NOT (t.tenant_att = ANY (con.conkey))
  UNION ALL
  SELECT t.relname, 'R2', i.indexrelid::regclass::text
  FROM tenant_tables t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique AND NOT i.indisprimary
  WHERE NOT (t.tenant_att = ANY (i.indkey::int2[]))
  UNION ALL
  SELECT t.relname, 'R3', con.conname
  FROM tenant_tables t JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'x'
  WHERE NOT EXISTS (
    SELECT 1 FROM unnest(con.conkey, con.conexclop) AS k(att, op)
    JOIN pg_operator o ON o.oid = k.op
    WHERE k.att = t.tenant_att AND o.oprname = '=')
  UNION ALL
  SELECT t.relname, 'R4', con.conname
  FROM tenant_tables t JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
  JOIN tenant_tables r ON r.oid = con.confrelid
  WHERE NOT EXISTS (
    SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(src, dst) WHERE k.src = t.tenant_att AND k.dst = r.tenant_att)
  UNION ALL
  SELECT c.relname, 'R5', con.conname
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
  JOIN tenant_tables r ON r.oid = con.confrelid
  WHERE con.contype = 'f' AND con.conrelid NOT IN (SELECT oid FROM tenant_tables)
  UNION ALL
  SELECT p.tablename, 'R6', p.policyname
  FROM pg_policies p WHERE p.schemaname = current_schema()
    AND (coalesce(p.qual, '') ~* '\mselect\M' OR coalesce(p.with_check, '') ~* '\mselect\M')
  UNION ALL
  SELECT p.tablename, 'R7', p.policyname
  FROM pg_policies p WHERE p.schemaname = current_schema()
    AND (coalesce(p.qual, '') ~* '\w\(\)\s+IS\s+(NOT\s+)?NULL' OR coalesce(p.with_check, '') ~* '\w\(\)\s+IS\s+(NOT\s+)?NULL')
  UNION ALL
  SELECT t.relname, 'R8', 'tenant_id' FROM tenant_tables t WHERE NOT t.attnotnull
)
SELECT tbl, rule, what FROM breaks ORDER BY rule, tbl, what
"#;

async fn texts(app: &TestApp, sql: &str) -> Vec<Vec<String>> {
    app.rows(sql)
        .await
        .iter()
        .map(|row| (0..row.column_names().len()).map(|i| row.try_get_by_index::<String>(i).unwrap()).collect())
        .collect()
}

#[tokio::test]
async fn every_tenant_table_can_be_distributed_by_tenant() {
    let app = TestApp::spawn().await;
    if !app.database.is_postgres() {
        eprintln!("the distribution rules read PostgreSQL's catalog; set TESSERA_TEST_DATABASE_URL");
        return;
    }
    // Each table is a tenant's or global by design, never neither.
    let tables = texts(
        &app,
        "SELECT c.relname::text, (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
         AND a.attname = 'tenant_id' AND NOT a.attisdropped))::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    )
    .await;
    for row in &tables {
        let (table, tenant_owned) = (&row[0], row[1] == "true");
        let listed = GLOBAL_TABLES.contains(&table.as_str());
        assert!(
            tenant_owned != listed,
            "{table}: {} (tessera_migrations::postgres::GLOBAL_TABLES)",
            if listed {
                "has a tenant_id but is listed as global"
            } else {
                "has no tenant_id and is not listed as global"
            }
        );
    }
    for global in GLOBAL_TABLES {
        assert!(tables.iter().any(|row| row[0] == *global), "{global} is listed as global but does not exist");
    }

    let rule = |code: &str| RULES.iter().find(|(c, _)| *c == code).map_or("", |(_, text)| *text);
    let breaks: Vec<String> = texts(&app, BREAKS)
        .await
        .into_iter()
        .map(|row| format!("{} {} {}: {}", row[1], row[0], row[2], rule(&row[1])))
        .collect();
    assert!(breaks.is_empty(), "tables that a tenant-distributed database could not hold:\n{}", breaks.join("\n"));
}
