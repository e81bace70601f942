//! Invoices and their payments.
//!
//! - `invoice_numbers` (global): the platform's invoice counter, one row,
//!   advanced by the statement that reads it, so numbers never repeat.
//! - `invoices`: per business, subscription, reason and period at most one
//!   (a job that runs twice cannot bill twice), with totals the database
//!   keeps consistent (`total = subtotal − discount ≥ 0`, paid in full when
//!   `paid`).
//! - `invoice_lines`: what an invoice is made of.
//! - `invoice_payments`: each attempt to collect an invoice, written before
//!   the provider is called (its id is the idempotency key); at most one in
//!   flight (`pending` or `unknown`) per invoice.
//! - `subscriptions.anchor_at` and `period_number`: periods count from a fixed
//!   anchor (set when the first paid period starts), never from the last end.
//! - `tenant_billing.retry_days` and `when_retries_fail`: the business's
//!   dunning schedule (days after the first failure) and what ends it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["invoices", "invoice_lines", "invoice_payments"];

fn invoice_fk(table: &str) -> ForeignKeyCreateStatement {
    let c = Alias::new;
    ForeignKey::create()
        .from(c(table), (c("tenant_id"), c("invoice_id")))
        .to(c("invoices"), (c("tenant_id"), c("id")))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("invoice_numbers"))
                    .col(string_len(c("name"), 20).primary_key())
                    .col(big_integer(c("next_value")))
                    .to_owned(),
            )
            .await?;
        let seed = Query::insert()
            .into_table(c("invoice_numbers"))
            .columns([c("name"), c("next_value")])
            .values_panic(["invoices".into(), 1.into()])
            .to_owned();
        manager.get_connection().execute(&seed).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("invoices"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(string_len(c("number"), 20))
                    .col(uuid(c("subscription_id")))
                    .col(string_len(c("reason"), 20))
                    .col(timestamp_with_time_zone(c("period_start")))
                    .col(timestamp_with_time_zone(c("period_end")))
                    .col(string_len(c("status"), 15))
                    .col(string_len(c("currency"), 3))
                    .col(big_integer(c("subtotal_minor")))
                    .col(big_integer(c("discount_minor")))
                    .col(big_integer(c("total_minor")))
                    .col(big_integer(c("amount_paid_minor")))
                    .col(integer(c("attempts")))
                    .col(timestamp_with_time_zone_null(c("next_attempt_at")))
                    .col(timestamp_with_time_zone(c("due_at")))
                    .col(timestamp_with_time_zone_null(c("paid_at")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("reason"), &["subscription_start", "renewal", "change", "manual"]))
                    .check(one_of(c("status"), &["draft", "open", "paid", "void", "uncollectible"]))
                    .check(Expr::cust("discount_minor >= 0 AND total_minor = subtotal_minor - discount_minor"))
                    .check(Expr::cust("total_minor >= 0"))
                    .check(Expr::cust("amount_paid_minor >= 0 AND amount_paid_minor <= total_minor"))
                    .check(Expr::cust("(status = 'paid') = (paid_at IS NOT NULL AND amount_paid_minor = total_minor)"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("invoices"))
                    .to_owned(),
            )
            .await?;
        let once = ["tenant_id", "subscription_id", "reason", "period_start"];
        manager.create_index(index_on("invoices_once_idx", "invoices", &once, true)).await?;
        manager.create_index(index_on("invoices_number_idx", "invoices", &["tenant_id", "number"], true)).await?;
        let due = ["status", "next_attempt_at"];
        manager.create_index(index_on("invoices_due_idx", "invoices", &due, false)).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("invoice_lines"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("invoice_id")))
                    .col(integer(c("position")))
                    .col(string_len(c("kind"), 20))
                    .col(string_len(c("description"), 200))
                    .col(integer(c("quantity")))
                    .col(big_integer(c("unit_minor")))
                    .col(big_integer(c("amount_minor")))
                    .col(timestamp_with_time_zone_null(c("period_start")))
                    .col(timestamp_with_time_zone_null(c("period_end")))
                    .check(one_of(c("kind"), &["plan", "proration_credit", "proration_charge", "overage", "discount"]))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut invoice_fk("invoice_lines"))
                    .to_owned(),
            )
            .await?;
        let lines = ["tenant_id", "invoice_id", "position"];
        manager.create_index(index_on("invoice_lines_position_idx", "invoice_lines", &lines, true)).await?;

        manager
            .create_table(
                Table::create()
                    .table(c("invoice_payments"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("invoice_id")))
                    .col(uuid(c("payment_method_id")))
                    .col(string_len(c("provider"), 20))
                    .col(string_len_null(c("provider_payment_id"), 255))
                    .col(big_integer(c("amount_minor")))
                    .col(string_len(c("currency"), 3))
                    .col(string_len(c("status"), 15))
                    .col(string_len_null(c("failure_code"), 60))
                    .col(boolean(c("automatic")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .check(one_of(c("status"), &["pending", "succeeded", "failed", "unknown"]))
                    .check(Expr::col(c("amount_minor")).gt(0))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut invoice_fk("invoice_payments"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX invoice_payments_in_flight_idx ON invoice_payments (tenant_id, invoice_id) \
             WHERE status IN ('pending', 'unknown')",
        )
        .await?;
        let theirs = ["tenant_id", "provider", "provider_payment_id"];
        manager.create_index(index_on("invoice_payments_theirs_idx", "invoice_payments", &theirs, true)).await?;

        let columns: [(&str, ColumnDef); 4] = [
            ("subscriptions", timestamp_with_time_zone_null(c("anchor_at"))),
            ("subscriptions", integer(c("period_number")).default(0).to_owned()),
            ("tenant_billing", string_len(c("retry_days"), 60).default("1,3,5,7").to_owned()),
            ("tenant_billing", string_len(c("when_retries_fail"), 10).default("unpaid").to_owned()),
        ];
        for (table, mut column) in columns {
            manager.alter_table(Table::alter().table(c(table)).add_column(&mut column).to_owned()).await?;
        }

        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::grant(manager, "invoice_numbers", "SELECT, UPDATE").await?;
            let grants = [
                ("invoices", "SELECT, INSERT, UPDATE"),
                ("invoice_lines", "SELECT, INSERT"),
                ("invoice_payments", "SELECT, INSERT, UPDATE"),
            ];
            postgres::tenant_tables(manager, &grants).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for (table, column) in [
            ("tenant_billing", "when_retries_fail"),
            ("tenant_billing", "retry_days"),
            ("subscriptions", "period_number"),
            ("subscriptions", "anchor_at"),
        ] {
            manager.alter_table(Table::alter().table(c(table)).drop_column(c(column)).to_owned()).await?;
        }
        for table in ["invoice_payments", "invoice_lines", "invoices", "invoice_numbers"] {
            manager.drop_table(Table::drop().table(c(table)).to_owned()).await?;
        }
        Ok(())
    }
}
