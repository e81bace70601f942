//! Who pays, at which provider, with what.
//!
//! - `payment_customers`: a business's customer at a payment provider (the
//!   seeds' `stripe_customer_id`, `conekta_customer_id`, `fungies_customer_id`),
//!   one per business and provider, and never two rows for one provider
//!   customer.
//! - `payment_methods`: the cards a business keeps at a provider for its
//!   subscription: only the provider's id, the brand and the last four
//!   digits; the card itself never reaches Tessera. At most one default per
//!   business among those not removed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["payment_customers", "payment_methods"];

const PROVIDERS: [&str; 3] = ["stripe", "conekta", "fungies"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("payment_customers"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("provider_customer_id"), 255))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .check(one_of(c("provider"), &PROVIDERS))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("payment_customers"))
                    .to_owned(),
            )
            .await?;
        let one = ["tenant_id", "provider"];
        manager.create_index(index_on("payment_customers_provider_idx", "payment_customers", &one, true)).await?;
        let theirs = ["tenant_id", "provider", "provider_customer_id"];
        manager.create_index(index_on("payment_customers_theirs_idx", "payment_customers", &theirs, true)).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("payment_methods"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("payment_customer_id")))
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("provider_method_id"), 255))
                    .col(string_len(c("brand"), 30))
                    .col(string_len(c("last4"), 4))
                    .col(boolean(c("is_default")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone_null(c("removed_at")))
                    .check(one_of(c("provider"), &PROVIDERS))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("payment_methods"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("payment_methods"), (c("tenant_id"), c("payment_customer_id")))
                            .to(c("payment_customers"), (c("tenant_id"), c("id")))
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let theirs = ["tenant_id", "provider", "provider_method_id"];
        manager.create_index(index_on("payment_methods_theirs_idx", "payment_methods", &theirs, true)).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX payment_methods_default_idx ON payment_methods (tenant_id) \
                 WHERE is_default AND removed_at IS NULL",
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            let grants = [("payment_customers", "SELECT, INSERT"), ("payment_methods", "SELECT, INSERT, UPDATE")];
            postgres::tenant_tables(manager, &grants).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in ["payment_methods", "payment_customers"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
