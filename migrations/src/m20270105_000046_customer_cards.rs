//! Cards customers keep at a business's payment account, for the fees of a
//! no-show or a late cancellation.
//!
//! - `customer_cards`: one per customer and business account. Written
//!   `pending` in the transaction of the first booking that asks for a card;
//!   `kept` once the provider says the customer's setup succeeded, with the
//!   provider's payment method and only its brand and last four digits (the
//!   card itself never reaches Tessera). The provider's customer and setup
//!   ids are kept as they are made, so asking again makes nothing twice; the
//!   provider's events find a card by its setup.
//! - `bookings.card_fees`: the fees (JSON) a booking made with a kept card
//!   agreed to; a later change of the business's terms does not change them.
//! - `booking_payments.kind` widened to 30 characters on PostgreSQL:
//!   `late_cancellation_fee` did not fit the 20 it had (SQLite does not
//!   enforce lengths).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["customer_cards"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("customer_cards"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("customer_id")))
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("account_id"), 255))
                    .col(string_len(c("status"), 20))
                    .col(string_len_null(c("provider_customer_id"), 255))
                    .col(string_len_null(c("setup_id"), 255))
                    .col(string_len_null(c("payment_method_id"), 255))
                    .col(string_len_null(c("brand"), 40))
                    .col(string_len_null(c("last4"), 4))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .col(timestamp_with_time_zone_null(c("kept_at")))
                    .check(one_of(c("provider"), &["stripe", "conekta", "fungies"]))
                    .check(one_of(c("status"), &["pending", "kept"]))
                    .check(Expr::cust(
                        "status <> 'kept' OR (payment_method_id IS NOT NULL AND brand IS NOT NULL \
                         AND last4 IS NOT NULL AND kept_at IS NOT NULL)",
                    ))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("customer_cards"))
                    .to_owned(),
            )
            .await?;
        let one = ["tenant_id", "customer_id", "provider", "account_id"];
        manager.create_index(index_on("customer_cards_one_idx", "customer_cards", &one, true)).await?;
        // The provider's events about a setup name it alone.
        let by_setup = ["provider", "account_id", "setup_id"];
        manager.create_index(index_on("customer_cards_setup_idx", "customer_cards", &by_setup, false)).await?;
        let mut fees = text_null(c("card_fees"));
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut fees).to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::tenant_tables(manager, &[("customer_cards", "SELECT, INSERT, UPDATE")]).await?;
            let conn = manager.get_connection();
            conn.execute_unprepared("ALTER TABLE booking_payments ALTER COLUMN kind TYPE varchar(30)").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        // `kind` stays 30 wide: a fee written since would not fit back.
        let drop = Table::alter().table(c("bookings")).drop_column(c("card_fees")).to_owned();
        manager.alter_table(drop).await?;
        manager.drop_table(Table::drop().table(c("customer_cards")).to_owned()).await?;
        Ok(())
    }
}
