//! PostgreSQL-only parts of the schema: the request role and row-level security.
//!
//! Facts this relies on (measured on PostgreSQL 15):
//! - table owners bypass RLS unless the table is `FORCE ROW LEVEL SECURITY`, and
//!   superusers always do, so requests run as [`APP_ROLE`] via `SET LOCAL ROLE`;
//! - the tenant is a transaction-local setting that reads `''` (not NULL) once unset,
//!   hence `nullif(…, '')` in [`TENANT_FN`].

use sea_orm_migration::prelude::*;

/// The role request statements run as. Keep in sync with `tessera_kernel::db::APP_ROLE`.
pub const APP_ROLE: &str = "tessera_app";

/// SQL function returning the request's tenant, or NULL when none is set.
pub const TENANT_FN: &str = "tessera_current_tenant()";
/// SQL function returning the request's user, or NULL when none is set.
pub const USER_FN: &str = "tessera_current_user()";

/// Creates the request role (once per cluster; tolerant of parallel creation), lets
/// the migrating user switch to it, and defines the setting-reading functions.
pub(crate) async fn create_app_role(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let sql = format!(
        r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database of this cluster created it at the same moment
END
$$;
DO $$
BEGIN
    IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
CREATE OR REPLACE FUNCTION tessera_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION tessera_current_user() RETURNS uuid
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION tessera_maintenance() RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('app.maintenance', true), '') = 'on' $$;
GRANT EXECUTE ON FUNCTION tessera_current_tenant(), tessera_current_user(), tessera_maintenance()
    TO {APP_ROLE};
"#
    );
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// Grants the request role `privileges` (e.g. `"SELECT, INSERT"`) on `table`.
pub(crate) async fn grant(manager: &SchemaManager<'_>, table: &str, privileges: &str) -> Result<(), DbErr> {
    let sql = format!("GRANT {privileges} ON {table} TO {APP_ROLE}");
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// Enables and forces row-level security on `table` with one policy for the request
/// role: rows are visible where `using` holds and writable where `check` holds, and
/// all rows are reachable in a maintenance transaction (background jobs only).
///
/// One statement per call: on a distributed database Citus forwards each DDL
/// statement to the workers as a prepared statement, which holds only one.
pub(crate) async fn isolate(manager: &SchemaManager<'_>, table: &str, using: &str, check: &str) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    conn.execute_unprepared(&format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")).await?;
    conn.execute_unprepared(&format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY")).await?;
    conn.execute_unprepared(&format!(
        "CREATE POLICY {table}_tenant_isolation ON {table} FOR ALL TO {APP_ROLE} \
         USING (({using}) OR tessera_maintenance()) WITH CHECK (({check}) OR tessera_maintenance())"
    ))
    .await?;
    Ok(())
}

/// What every table of one tenant's data needs: the request role gets each
/// table's privileges, then each table is isolated by its `tenant_id` (rows
/// visible and writable in their own tenant only).
pub(crate) async fn tenant_tables(manager: &SchemaManager<'_>, grants: &[(&str, &str)]) -> Result<(), DbErr> {
    for (table, privileges) in grants {
        grant(manager, table, privileges).await?;
    }
    let own = format!("tenant_id = {TENANT_FN}");
    for (table, _) in grants {
        isolate(manager, table, &own, &own).await?;
    }
    Ok(())
}

/// Drops the isolation policies of `tables` (before the tables they refer to).
pub(crate) async fn drop_policies(manager: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    for table in tables {
        let sql = format!("DROP POLICY IF EXISTS {table}_tenant_isolation ON {table}");
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Drops the setting-reading functions. The role stays: it is shared by every
/// database of the cluster.
pub(crate) async fn drop_functions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let sql = "DROP FUNCTION IF EXISTS tessera_current_tenant(), tessera_current_user(), tessera_maintenance()";
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// The tables that belong to no tenant, by design; every other table has a
/// `tenant_id` and follows the rules a distributed PostgreSQL needs to keep a
/// tenant's rows together (`tests/e2e/distribution_rules.rs`). A new table is
/// one or the other: the test fails until it is listed here or has a tenant.
pub const GLOBAL_TABLES: &[&str] = &[
    // The tenants themselves: the key every tenant table is distributed by.
    "tenants",
    // People and how they sign in: one account may belong to several tenants.
    "users",
    "sessions",
    "refresh_tokens",
    "account_tokens",
    "pending_sign_ups",
    "password_history",
    "login_history",
    "login_throttles",
    "totp_credentials",
    "backup_codes",
    "mfa_challenges",
    "trusted_devices",
    "passkeys",
    "webauthn_ceremonies",
    "api_keys",
    "oauth_tokens",
    "account_security_events",
    // Messages about an account ("reset your password") and their delivery log.
    "account_messages",
    "account_message_attempts",
    // Keys that arrive before their tenant is known, mapped to it.
    "token_directory",
    // The platform's own state.
    "platform_secrets",
    // What each tier may use (a tenant's own limits are in `tenant_limits`).
    "tier_limits",
    "rate_windows",
    // The platform's catalogue of plans and its coupons (a business's
    // subscription and redemptions are its own), and its invoice counter.
    "plans",
    "plan_overage_prices",
    "coupons",
    "invoice_numbers",
    // Events payment providers send; each names its business in its metadata.
    "provider_events",
    // Which business named a provider account (its customers' payments go
    // there), so no other business names it.
    "payment_account_owners",
    "seaql_migrations",
];

/// Every table under row-level security, migration by migration.
pub fn isolated_tables() -> Vec<&'static str> {
    [
        crate::m20261121_000001_foundation::TABLES,
        crate::m20261122_000002_scheduling::TABLES,
        crate::m20261123_000003_access_control::TABLES,
        crate::m20261126_000006_audit::TABLES,
        crate::m20261127_000007_security_and_retention::TABLES,
        crate::m20261128_000008_notifications::TABLES,
        crate::m20261129_000009_notification_preferences::TABLES,
        crate::m20261130_000010_notification_templates::TABLES,
        crate::m20261204_000014_invitations::TABLES,
        crate::m20261207_000017_security_policy::TABLES,
        crate::m20261220_000030_oauth_client_isolation::TABLES,
        crate::m20261223_000033_usage::TABLES,
        crate::m20261224_000034_usage_alerts::TABLES,
        crate::m20261227_000037_billing::TABLES,
        crate::m20261228_000038_payment_methods::TABLES,
        crate::m20261229_000039_invoices::TABLES,
        crate::m20261230_000040_subscription_changes::TABLES,
        crate::m20261231_000041_coupons::TABLES,
        crate::m20270103_000044_booking_payments::TABLES,
        crate::m20270104_000045_booking_refunds::TABLES,
        crate::m20270105_000046_customer_cards::TABLES,
        crate::m20270106_000047_calendar_feeds::TABLES,
        crate::m20270108_000049_class_sessions::TABLES,
        crate::m20270109_000050_booking_series::TABLES,
        crate::m20270112_000053_waitlist::TABLES,
        crate::m20270113_000054_resources::TABLES,
    ]
    .concat()
}
