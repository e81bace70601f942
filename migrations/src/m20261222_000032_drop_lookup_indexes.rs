//! The indexes on a tenant table's old key alone go.
//!
//! Migrations 26 and 29 led every tenant table's primary key with `tenant_id`
//! and kept a plain index on the old key (`<table>_lookup_idx`), because some
//! reads still named only an id, and the policies' `OR tessera_maintenance()`
//! keeps the tenant out of the index condition. Every read and write of a
//! tenant table by its key now names the tenant (found by logging every
//! statement of the PostgreSQL test run and by reading each query), so the
//! primary key serves them and the second index is only a cost on every write.
//! What still reads across tenants (a user's memberships and security events,
//! the outbox relay, the delivery worker's claim) has indexes of its own.
//!
//! PostgreSQL only: SQLite never had them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Each table with such an index, and the columns it covered.
const LOOKUPS: [(&str, &str); 24] = [
    ("audit_records", "id"),
    ("booking_addons", "id"),
    ("bookings", "id"),
    ("customers", "id"),
    ("invitations", "id"),
    ("memberships", "id"),
    ("mfa_grace_uses", "id"),
    ("notification_preferences", "id"),
    ("notification_templates", "id"),
    ("oauth_clients", "id"),
    ("outbox", "id"),
    ("provider_services", "provider_id, service_id"),
    ("providers", "id"),
    ("reviews", "id"),
    ("role_assignments", "id"),
    ("role_permissions", "role_id, permission"),
    ("roles", "id"),
    ("schedule_exceptions", "id"),
    ("service_addons", "id"),
    ("services", "id"),
    ("user_group_members", "id"),
    ("user_groups", "id"),
    ("webhook_endpoints", "id"),
    ("working_hours", "id"),
];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for (table, _) in LOOKUPS {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("DROP INDEX IF EXISTS {table}_lookup_idx"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for (table, columns) in LOOKUPS {
                let sql = format!("CREATE INDEX {table}_lookup_idx ON {table} ({columns})");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}
