//! Webhook endpoints and partner clients become stocks the tier limits
//! (`webhook_endpoints`, `api_credentials`): the ones every tenant already has
//! are counted, as migration 33 did for providers, so the counters start from
//! what exists. A partner client counts until it is revoked. (Personal API
//! keys belong to a person, not a business, and keep their own cap.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261223_000033_usage::count_existing;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const METRICS: [&str; 2] = ["webhook_endpoints", "api_credentials"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        count_existing(conn, "webhook_endpoints", "webhook_endpoints", Expr::cust("1 = 1")).await?;
        count_existing(conn, "api_credentials", "oauth_clients", Expr::col(Alias::new("revoked_at")).is_null()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for table in ["usage_alert_firings", "usage_counters", "usage_records"] {
            let delete = Query::delete()
                .from_table(Alias::new(table))
                .and_where(Expr::col(Alias::new("metric")).is_in(METRICS))
                .to_owned();
            conn.execute(&delete).await?;
        }
        Ok(())
    }
}
