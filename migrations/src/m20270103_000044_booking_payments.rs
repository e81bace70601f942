//! Customers paying businesses for their bookings.
//!
//! - `payment_accounts`: the business's own account at a payment provider
//!   (a Stripe connected account, `acct_…`), sent on every call made for it,
//!   and the business's payment terms (JSON: deposit or prepayment, how long
//!   a booking waits for its payment), which need the account; one per
//!   business. `payment_account_owners` (global) says which business named
//!   an account, so no other names it.
//! - `booking_payments`: one row per amount asked of a customer for a
//!   booking (a deposit, a prepayment), written in the booking's
//!   transaction before anything is asked of the provider; its id is the
//!   provider call's idempotency key. `captured_minor` is what the provider
//!   took and `refunded_minor` what went back: the database refuses a
//!   refunded total above the captured amount, and a capture above the
//!   amount asked. A partial unique index keeps one open (not failed, not
//!   cancelled) payment of each kind per booking.
//! - `bookings.payment_due_by`: while set on a scheduled booking, the
//!   booking holds its time only until then, waiting for its payment.
//! - `services.payment_policy`: a service's own payment terms (JSON), over
//!   the business's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["payment_accounts", "booking_payments"];

const PROVIDERS: [&str; 3] = ["stripe", "conekta", "fungies"];

/// Refunds do not change a payment's status: `refunded_minor` tells them.
const STATUSES: [&str; 7] = ["pending", "requires_action", "processing", "succeeded", "failed", "canceled", "unknown"];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;
        if sqlite {
            // PostgreSQL's bookings key is (tenant_id, id) already; SQLite's
            // composite foreign key below needs a unique index to point at.
            let index = index_on("bookings_tenant_id_key", "bookings", &["tenant_id", "id"], true);
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(c("payment_accounts"))
                    .col(uuid(c("tenant_id")).primary_key())
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("account_id"), 255))
                    .col(boolean(c("enabled")))
                    .col(text(c("terms")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("provider"), &PROVIDERS))
                    .foreign_key(&mut tenant_fk("payment_accounts"))
                    .to_owned(),
            )
            .await?;
        // Global, like `token_directory`: which business named a provider
        // account, so no other business names it too (a unique index on a
        // tenant table could not say so once tenants are distributed).
        manager
            .create_table(
                Table::create()
                    .table(c("payment_account_owners"))
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("account_id"), 255))
                    .col(uuid(c("owner_tenant_id")))
                    .primary_key(Index::create().col(c("provider")).col(c("account_id")))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("payment_account_owners"), c("owner_tenant_id"))
                            .to(c("tenants"), c("id"))
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let owner = ["owner_tenant_id"];
        manager
            .create_index(index_on("payment_account_owners_tenant_idx", "payment_account_owners", &owner, false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(c("booking_payments"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("booking_id")))
                    .col(uuid(c("customer_id")))
                    .col(string_len(c("kind"), 20))
                    .col(string_len(c("provider"), 20))
                    .col(string_len(c("account_id"), 255))
                    .col(big_integer(c("amount_minor")))
                    .col(string_len(c("currency"), 3))
                    .col(string_len(c("status"), 20))
                    .col(string_len_null(c("provider_payment_id"), 255))
                    .col(string_len_null(c("failure_code"), 100))
                    .col(big_integer(c("captured_minor")))
                    .col(big_integer(c("refunded_minor")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .col(timestamp_with_time_zone_null(c("settled_at")))
                    .check(one_of(c("provider"), &PROVIDERS))
                    .check(one_of(c("status"), &STATUSES))
                    .check(one_of(c("kind"), &["deposit", "prepayment", "no_show_fee", "late_cancellation_fee"]))
                    .check(Expr::cust("amount_minor > 0 AND amount_minor <= 100000000000"))
                    .check(Expr::cust(
                        "captured_minor >= 0 AND captured_minor <= amount_minor \
                         AND refunded_minor >= 0 AND refunded_minor <= captured_minor",
                    ))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("booking_payments"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("booking_payments"), (c("tenant_id"), c("booking_id")))
                            .to(c("bookings"), (c("tenant_id"), c("id")))
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let by_booking = ["tenant_id", "booking_id"];
        manager.create_index(index_on("booking_payments_booking_idx", "booking_payments", &by_booking, false)).await?;
        let by_day = ["tenant_id", "created_at"];
        manager.create_index(index_on("booking_payments_created_idx", "booking_payments", &by_day, false)).await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX booking_payments_one_open_idx ON booking_payments (tenant_id, booking_id, kind) \
             WHERE status NOT IN ('failed', 'canceled')",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX booking_payments_theirs_idx ON booking_payments (tenant_id, provider, \
             provider_payment_id) WHERE provider_payment_id IS NOT NULL",
        )
        .await?;

        let mut due_by = timestamp_with_time_zone_null(c("payment_due_by"));
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut due_by).to_owned()).await?;
        let mut policy = text_null(c("payment_policy"));
        manager.alter_table(Table::alter().table(c("services")).add_column(&mut policy).to_owned()).await?;
        conn.execute_unprepared(
            "CREATE INDEX bookings_payment_due_idx ON bookings (payment_due_by) WHERE payment_due_by IS NOT NULL",
        )
        .await?;

        if !sqlite {
            let grants =
                [("payment_accounts", "SELECT, INSERT, UPDATE"), ("booking_payments", "SELECT, INSERT, UPDATE")];
            postgres::tenant_tables(manager, &grants).await?;
            postgres::grant(manager, "payment_account_owners", "SELECT, INSERT, DELETE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        conn.execute_unprepared("DROP INDEX bookings_payment_due_idx").await?;
        let drop = Table::alter().table(c("services")).drop_column(c("payment_policy")).to_owned();
        manager.alter_table(drop).await?;
        let drop = Table::alter().table(c("bookings")).drop_column(c("payment_due_by")).to_owned();
        manager.alter_table(drop).await?;
        for table in ["booking_payments", "payment_account_owners", "payment_accounts"] {
            manager.drop_table(Table::drop().table(c(table)).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Sqlite {
            conn.execute_unprepared("DROP INDEX bookings_tenant_id_key").await?;
        }
        Ok(())
    }
}
