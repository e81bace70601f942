//! Staff seats become a stock the tier limits (`staff_seats`): the members
//! every tenant already has holding any role but the built-in customer role,
//! directly or through a group, are counted, as migration 33 did for
//! providers. Expiry is not judged here (a migration reads no clock the same
//! way on both databases); an expired role counted now comes off at the
//! tenant's next access change, which recounts its seats exactly.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::m20261223_000033_usage::record_existing;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Per tenant: the distinct members holding a seat, and when the latest of
/// their grants was made.
const HOLDERS: &str = "\
SELECT tenant_id, COUNT(DISTINCT user_id) AS n, MAX(granted_at) AS latest FROM (
    SELECT a.tenant_id, a.user_id, a.granted_at FROM role_assignments a
      JOIN roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id
     WHERE a.revoked_at IS NULL AND a.user_id IS NOT NULL AND r.deleted_at IS NULL
       AND (r.builtin_key IS NULL OR r.builtin_key <> 'customer')
    UNION ALL
    SELECT a.tenant_id, g.user_id, a.granted_at FROM role_assignments a
      JOIN roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id
      JOIN user_groups ug ON ug.tenant_id = a.tenant_id AND ug.id = a.group_id
      JOIN user_group_members g ON g.tenant_id = a.tenant_id AND g.group_id = a.group_id
     WHERE a.revoked_at IS NULL AND r.deleted_at IS NULL AND ug.deleted_at IS NULL AND g.removed_at IS NULL
       AND (r.builtin_key IS NULL OR r.builtin_key <> 'customer')
) holders GROUP BY tenant_id";

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), HOLDERS)).await?;
        record_existing(conn, "staff_seats", rows).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for table in ["usage_alert_firings", "usage_counters", "usage_records"] {
            let delete = Query::delete()
                .from_table(Alias::new(table))
                .and_where(Expr::col(Alias::new("metric")).eq("staff_seats"))
                .to_owned();
            conn.execute(&delete).await?;
        }
        Ok(())
    }
}
