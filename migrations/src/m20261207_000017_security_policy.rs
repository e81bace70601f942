//! Tenant security policy: a tenant may require a second factor of all or some
//! of its members (with grace sign-ins and an enforcement date), limit idle
//! sessions and concurrent sessions, and allow or block networks.
//!
//! - `tenants.security_policy`: the policy as JSON (NULL: none).
//! - `sessions.second_factor`: whether the session was started with one.
//! - `mfa_grace_uses`: the sessions a member without a second factor used in a
//!   tenant that requires one, each counting as one grace sign-in.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    SecurityPolicy,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SecondFactor,
}

#[derive(DeriveIden)]
enum MfaGraceUses {
    Table,
    Id,
    TenantId,
    UserId,
    SessionId,
    UsedAt,
}

pub(crate) const TABLES: &[&str] = &["mfa_grace_uses"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Tenants::Table).add_column(json_binary_null(Tenants::SecurityPolicy)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(boolean(Sessions::SecondFactor).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaGraceUses::Table)
                    .col(uuid(MfaGraceUses::Id).primary_key())
                    .col(uuid(MfaGraceUses::TenantId))
                    .col(uuid(MfaGraceUses::UserId))
                    .col(uuid(MfaGraceUses::SessionId))
                    .col(timestamp_with_time_zone(MfaGraceUses::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MfaGraceUses::Table, MfaGraceUses::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "mfa_grace_uses_session_key",
            MfaGraceUses::Table,
            [MfaGraceUses::TenantId, MfaGraceUses::UserId, MfaGraceUses::SessionId],
            true,
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "mfa_grace_uses", "SELECT, INSERT").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            postgres::isolate(manager, "mfa_grace_uses", &own, &own).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(MfaGraceUses::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::SecondFactor).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Tenants::Table).drop_column(Tenants::SecurityPolicy).to_owned()).await
    }
}
