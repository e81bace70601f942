//! Invitations: an email address asked to join a tenant with roles, by a
//! single-use link (only its SHA-256 hash is stored) that expires.
//!
//! Tenant-owned under row-level security. Whoever follows the link is not yet a
//! member, so on PostgreSQL the only way in from outside the tenant is
//! `tessera_invitation_tenant(hash)`, a `SECURITY DEFINER` function that answers
//! which tenant a pending invitation with that token hash belongs to, and nothing
//! else; the rest happens in that tenant's scope.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, APP_ROLE, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    TenantId,
    Email,
    RoleIds,
    TokenHash,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    LastSentAt,
    AcceptedAt,
    AcceptedBy,
    CancelledAt,
    CancelledBy,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

pub(crate) const TABLES: &[&str] = &["invitations"];

pub(crate) fn lookup_function() -> String {
    format!(
        r#"
CREATE OR REPLACE FUNCTION tessera_invitation_tenant(p_token_hash text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    found uuid;
    caller_maintenance text := coalesce(current_setting('app.maintenance', true), '');
BEGIN
    PERFORM set_config('app.maintenance', 'on', true);
    SELECT tenant_id INTO found FROM invitations
     WHERE token_hash = p_token_hash AND accepted_at IS NULL AND cancelled_at IS NULL;
    PERFORM set_config('app.maintenance', caller_maintenance, true);
    RETURN found;
END
$$;
REVOKE ALL ON FUNCTION tessera_invitation_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_invitation_tenant(text) TO {APP_ROLE};
"#
    )
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(uuid(Invitations::Id).primary_key())
                    .col(uuid(Invitations::TenantId))
                    .col(string_len(Invitations::Email, 320))
                    .col(text(Invitations::RoleIds))
                    .col(string_len(Invitations::TokenHash, 64))
                    .col(uuid_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone(Invitations::LastSentAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(uuid_null(Invitations::AcceptedBy))
                    .col(timestamp_with_time_zone_null(Invitations::CancelledAt))
                    .col(uuid_null(Invitations::CancelledBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "invitations_token_key", Invitations::Table, [Invitations::TokenHash], true).await?;
        create_index(
            manager,
            "invitations_tenant_email_idx",
            Invitations::Table,
            [Invitations::TenantId, Invitations::Email],
            false,
        )
        .await?;
        // One open invitation per address and tenant, even when two admins invite
        // at the same moment (the same statement on SQLite and PostgreSQL).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX invitations_open_email_key ON invitations (tenant_id, email) \
                 WHERE accepted_at IS NULL AND cancelled_at IS NULL",
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "invitations", "SELECT, INSERT, UPDATE").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            postgres::isolate(manager, "invitations", &own, &own).await?;
            manager.get_connection().execute_unprepared(&lookup_function()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS tessera_invitation_tenant(text)")
                .await?;
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}
