//! Security events, and retention of activity.
//!
//! `security_events` holds what a security reviewer looks for: failed logins,
//! lockouts, reused refresh tokens, revoked sessions, permission changes. An event
//! about an account (a login) belongs to no tenant; one about a tenant's access
//! (a role granted) names it. Like the audit log, requests may only add and read.
//!
//! Retention: the audit chain's head also remembers where retention cut the chain
//! (`expired_through_seq` and that record's hash), so what remains still verifies.
//! On PostgreSQL the request role cannot delete activity; expiry goes through
//! `SECURITY DEFINER` functions that delete only what is past the cut and older
//! than [`RETENTION_FLOOR`] by the database's own clock, so even a compromised
//! application cannot erase recent history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, APP_ROLE, TENANT_FN, USER_FN};

/// The youngest activity expiry may ever delete. Keep in sync with the smallest
/// retention a tenant may choose (`tessera_tenant::MIN_ACTIVITY_RETENTION_DAYS`).
pub(crate) const RETENTION_FLOOR: &str = "30 days";

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    TenantId,
    UserId,
    ActorUserId,
    Kind,
    Severity,
    Details,
    RequestId,
    Ip,
    UserAgent,
    OccurredAt,
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    ExpiredThroughSeq,
    ExpiredThroughHash,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

/// The tables under row-level security.
pub(crate) const TABLES: &[&str] = &["security_events"];

/// The hash before the first record (as `tessera_audit::chain::GENESIS`).
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn expiry_functions() -> String {
    // Each function acts as its owner, who is a member of the request role and so
    // under the same policies; it switches maintenance on for its own statements
    // and restores the caller's setting before returning.
    format!(
        r#"
CREATE OR REPLACE FUNCTION tessera_expire_audit(p_tenant uuid) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    removed bigint;
    caller_maintenance text := coalesce(current_setting('app.maintenance', true), '');
BEGIN
    PERFORM set_config('app.maintenance', 'on', true);
    DELETE FROM audit_records r
     USING audit_heads h
     WHERE h.tenant_id = p_tenant
       AND r.tenant_id = p_tenant
       AND r.seq <= h.expired_through_seq
       AND r.occurred_at < now() - interval '{RETENTION_FLOOR}';
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('app.maintenance', caller_maintenance, true);
    RETURN removed;
END
$$;
CREATE OR REPLACE FUNCTION tessera_expire_security_events(p_tenant uuid, p_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    removed bigint;
    caller_maintenance text := coalesce(current_setting('app.maintenance', true), '');
BEGIN
    PERFORM set_config('app.maintenance', 'on', true);
    DELETE FROM security_events
     WHERE tenant_id IS NOT DISTINCT FROM p_tenant
       AND occurred_at < least(p_before, now() - interval '{RETENTION_FLOOR}');
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('app.maintenance', caller_maintenance, true);
    RETURN removed;
END
$$;
CREATE OR REPLACE FUNCTION tessera_expire_login_history(p_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    removed bigint;
BEGIN
    DELETE FROM login_history
     WHERE created_at < least(p_before, now() - interval '{RETENTION_FLOOR}');
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION tessera_expire_audit(uuid), tessera_expire_security_events(uuid, timestamptz),
    tessera_expire_login_history(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_expire_audit(uuid), tessera_expire_security_events(uuid, timestamptz),
    tessera_expire_login_history(timestamptz) TO {APP_ROLE};
"#
    )
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys to users: events outlive the accounts they name.
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(uuid(SecurityEvents::Id).primary_key())
                    .col(uuid_null(SecurityEvents::TenantId))
                    .col(uuid_null(SecurityEvents::UserId))
                    .col(uuid_null(SecurityEvents::ActorUserId))
                    .col(string_len(SecurityEvents::Kind, 50))
                    .col(string_len(SecurityEvents::Severity, 10))
                    .col(text(SecurityEvents::Details))
                    .col(string_len_null(SecurityEvents::RequestId, 100))
                    .col(string_len_null(SecurityEvents::Ip, 64))
                    .col(string_len_null(SecurityEvents::UserAgent, 500))
                    .col(timestamp_with_time_zone(SecurityEvents::OccurredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SecurityEvents::Table, SecurityEvents::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "security_events_tenant_idx",
            SecurityEvents::Table,
            [SecurityEvents::TenantId, SecurityEvents::OccurredAt],
            false,
        )
        .await?;
        create_index(
            manager,
            "security_events_user_idx",
            SecurityEvents::Table,
            [SecurityEvents::UserId, SecurityEvents::OccurredAt],
            false,
        )
        .await?;
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditHeads::Table)
                    .add_column(big_integer(AuditHeads::ExpiredThroughSeq).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditHeads::Table)
                    .add_column(string_len(AuditHeads::ExpiredThroughHash, 64).default(GENESIS))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "security_events", "SELECT, INSERT").await?;
            // Account events (no tenant) are written and read outside any tenant,
            // found by user; a user also reads the tenant events about themselves.
            let own = format!("tenant_id IS NULL OR tenant_id = {TENANT_FN} OR user_id = {USER_FN}");
            postgres::isolate(manager, "security_events", &own, &own).await?;
            manager.get_connection().execute_unprepared(&expiry_functions()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP FUNCTION IF EXISTS tessera_expire_audit(uuid), \
                     tessera_expire_security_events(uuid, timestamptz), tessera_expire_login_history(timestamptz)",
                )
                .await?;
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager
            .alter_table(Table::alter().table(AuditHeads::Table).drop_column(AuditHeads::ExpiredThroughHash).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(AuditHeads::Table).drop_column(AuditHeads::ExpiredThroughSeq).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(SecurityEvents::Table).to_owned()).await
    }
}
