//! Calendar feeds: a provider's or a customer's bookings as an iCalendar
//! (RFC 5545) feed at a secret URL calendar apps subscribe to.
//!
//! - `calendar_feeds`: one row per URL handed out, for exactly one provider
//!   or one customer. Only the SHA-256 of its secret token is kept (the URL
//!   is shown once); the feed endpoint finds a feed by that hash, across
//!   businesses, hence its own index. Revoking stamps `revoked_at`; the row
//!   stays for the audit trail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["calendar_feeds"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("calendar_feeds"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid_null(c("provider_id")))
                    .col(uuid_null(c("customer_id")))
                    .col(string_len(c("token_hash"), 64))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone_null(c("revoked_at")))
                    .check(Expr::cust("(provider_id IS NULL) <> (customer_id IS NULL)"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("calendar_feeds"))
                    .to_owned(),
            )
            .await?;
        let by_token = ["token_hash"];
        manager.create_index(index_on("calendar_feeds_token_idx", "calendar_feeds", &by_token, false)).await?;
        let by_provider = ["tenant_id", "provider_id"];
        manager.create_index(index_on("calendar_feeds_provider_idx", "calendar_feeds", &by_provider, false)).await?;
        let by_customer = ["tenant_id", "customer_id"];
        manager.create_index(index_on("calendar_feeds_customer_idx", "calendar_feeds", &by_customer, false)).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::tenant_tables(manager, &[("calendar_feeds", "SELECT, INSERT, UPDATE")]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        manager.drop_table(Table::drop().table(Alias::new("calendar_feeds")).to_owned()).await?;
        Ok(())
    }
}
