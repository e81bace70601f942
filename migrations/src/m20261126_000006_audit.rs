//! The audit log: each tenant's records, hash-chained, and the chain's head (the
//! last sequence number and hash), which appends lock and verification checks.
//! On PostgreSQL the request role may insert and read records but never change or
//! delete them; both tables are under row-level security.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::create_index;
use crate::postgres::{self, TENANT_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AuditRecords {
    Table,
    Id,
    TenantId,
    Seq,
    ActorUserId,
    SessionId,
    Action,
    TargetType,
    TargetId,
    Changes,
    RequestId,
    Ip,
    UserAgent,
    OccurredAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

fn tenant_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    TenantId,
    Seq,
    Hash,
}

/// The tables under row-level security.
pub(crate) const TABLES: &[&str] = &["audit_records", "audit_heads"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign key to users: the log outlives the users it names. It goes
        // with its tenant when the tenant is purged.
        manager
            .create_table(
                Table::create()
                    .table(AuditRecords::Table)
                    .col(uuid(AuditRecords::Id).primary_key())
                    .col(uuid(AuditRecords::TenantId))
                    .col(big_integer(AuditRecords::Seq))
                    .col(uuid_null(AuditRecords::ActorUserId))
                    .col(uuid_null(AuditRecords::SessionId))
                    .col(string_len(AuditRecords::Action, 100))
                    .col(string_len(AuditRecords::TargetType, 50))
                    .col(string_len(AuditRecords::TargetId, 100))
                    .col(text(AuditRecords::Changes))
                    .col(string_len_null(AuditRecords::RequestId, 100))
                    .col(string_len_null(AuditRecords::Ip, 64))
                    .col(string_len_null(AuditRecords::UserAgent, 500))
                    .col(timestamp_with_time_zone(AuditRecords::OccurredAt))
                    .col(string_len(AuditRecords::PrevHash, 64))
                    .col(string_len(AuditRecords::Hash, 64))
                    .foreign_key(&mut tenant_fk(AuditRecords::Table, AuditRecords::TenantId))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "audit_records_seq_key",
            AuditRecords::Table,
            [AuditRecords::TenantId, AuditRecords::Seq],
            true,
        )
        .await?;
        create_index(
            manager,
            "audit_records_target_idx",
            AuditRecords::Table,
            [AuditRecords::TenantId, AuditRecords::TargetType, AuditRecords::TargetId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .col(uuid(AuditHeads::TenantId).primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(string_len(AuditHeads::Hash, 64))
                    .foreign_key(&mut tenant_fk(AuditHeads::Table, AuditHeads::TenantId))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "audit_records", "SELECT, INSERT").await?;
            postgres::grant(manager, "audit_heads", "SELECT, INSERT, UPDATE").await?;
            let own = format!("tenant_id = {TENANT_FN}");
            for table in TABLES {
                postgres::isolate(manager, table, &own, &own).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(AuditHeads::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditRecords::Table).to_owned()).await
    }
}
