//! The tenants a request's user belongs to, as a transaction setting instead of
//! a subquery in the `tenants` policy (rule R6 of ARCHITECTURE.md's "Growing
//! past one database").
//!
//! On a distributed PostgreSQL, `tenants` is a reference table copied to every
//! node and `memberships` is sharded by tenant: a policy on the one that reads
//! the other cannot be evaluated where the rows are. So the gateway reads the
//! user's memberships once, as the request role (the memberships policy shows
//! a user their own), when it opens a transaction for a user outside any
//! tenant, and keeps them in `app.member_tenants`; the policy compares with
//! that. PostgreSQL only: SQLite has no row-level security.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::postgres::{self, APP_ROLE, TENANT_FN, USER_FN};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// SQL function returning the tenants of the request's user, read when its
/// transaction was opened; empty when none were read.
const MEMBER_TENANTS_FN: &str = "tessera_member_tenants()";

async fn tenants_policy(manager: &SchemaManager<'_>, using: &str) -> Result<(), DbErr> {
    postgres::drop_policies(manager, &["tenants"]).await?;
    let check = format!("id = {TENANT_FN} OR parent_tenant_id = {TENANT_FN}");
    postgres::isolate(manager, "tenants", using, &check).await
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION {MEMBER_TENANTS_FN} RETURNS uuid[] LANGUAGE sql STABLE AS \
                 $$ SELECT coalesce(nullif(current_setting('app.member_tenants', true), ''), '{{}}')::uuid[] $$;
                 GRANT EXECUTE ON FUNCTION {MEMBER_TENANTS_FN} TO {APP_ROLE};"
            ))
            .await?;
        // Visible to requests acting in the tenant or in its parent, and to its
        // members and its parent's (who list their tenants and the branches).
        let using = format!(
            "id = {TENANT_FN} OR parent_tenant_id = {TENANT_FN} \
             OR id = ANY ({MEMBER_TENANTS_FN}) OR parent_tenant_id = ANY ({MEMBER_TENANTS_FN})"
        );
        tenants_policy(manager, &using).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let using = format!(
            "id = {TENANT_FN} OR parent_tenant_id = {TENANT_FN} \
             OR id IN (SELECT tenant_id FROM memberships WHERE user_id = {USER_FN}) \
             OR parent_tenant_id IN (SELECT tenant_id FROM memberships WHERE user_id = {USER_FN})"
        );
        tenants_policy(manager, &using).await?;
        manager.get_connection().execute_unprepared(&format!("DROP FUNCTION {MEMBER_TENANTS_FN}")).await?;
        Ok(())
    }
}
