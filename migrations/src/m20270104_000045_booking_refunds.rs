//! Money given back to customers for their bookings.
//!
//! - `booking_refunds`: one row per refund of a booking payment (by the
//!   cancellation policy, by hand with a reason, or of a payment that came
//!   after its booking stopped waiting for it), written before the provider
//!   is asked; its id is the provider call's idempotency key.
//! - The payment's `refunded_minor` is kept by the database: triggers add a
//!   refund's amount while it is pending, unknown or succeeded, and take it
//!   off when it fails or is cancelled (the amount is refundable again). The
//!   payment's `CHECK (refunded_minor <= captured_minor)` then refuses any
//!   refund, by the application or by hand in SQL, that would give back more
//!   than was taken.
//! - One refund by the cancellation policy per payment (a partial unique
//!   index).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, one_of, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["booking_refunds"];

/// The statuses whose amount counts as given back (or on its way).
const COUNTED: &str = "'pending', 'succeeded', 'unknown'";

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        manager
            .create_table(
                Table::create()
                    .table(c("booking_refunds"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("payment_id")))
                    .col(uuid(c("booking_id")))
                    .col(string_len(c("kind"), 20))
                    .col(big_integer(c("amount_minor")))
                    .col(string_len(c("currency"), 3))
                    .col(string_len(c("status"), 20))
                    .col(string_len_null(c("reason"), 500))
                    .col(string_len_null(c("provider_refund_id"), 255))
                    .col(string_len_null(c("failure_code"), 100))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .col(timestamp_with_time_zone_null(c("settled_at")))
                    .check(one_of(c("kind"), &["policy", "manual", "unwanted_payment"]))
                    .check(one_of(c("status"), &["pending", "succeeded", "failed", "canceled", "unknown"]))
                    .check(Expr::cust("amount_minor > 0"))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("booking_refunds"))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(c("booking_refunds"), (c("tenant_id"), c("payment_id")))
                            .to(c("booking_payments"), (c("tenant_id"), c("id")))
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        let by_payment = ["tenant_id", "payment_id"];
        manager.create_index(index_on("booking_refunds_payment_idx", "booking_refunds", &by_payment, false)).await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX booking_refunds_policy_once_idx ON booking_refunds (tenant_id, payment_id) \
             WHERE kind = 'policy'",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX booking_refunds_unsettled_idx ON booking_refunds (updated_at) WHERE settled_at IS NULL",
        )
        .await?;
        // What a refund row counts towards its payment's refunded total.
        let counted = |row: &str| format!("CASE WHEN {row}.status IN ({COUNTED}) THEN {row}.amount_minor ELSE 0 END");
        let add = |delta: String| {
            format!(
                "UPDATE booking_payments SET refunded_minor = refunded_minor + ({delta}) \
                 WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id"
            )
        };
        let (new, old) = (counted("NEW"), counted("OLD"));
        let subtract_old = format!(
            "UPDATE booking_payments SET refunded_minor = refunded_minor - ({old}) \
             WHERE tenant_id = OLD.tenant_id AND id = OLD.payment_id"
        );
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(&format!(
                    "CREATE FUNCTION booking_refunds_total() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF TG_OP = 'INSERT' THEN {insert}; RETURN NEW; \
                       ELSIF TG_OP = 'UPDATE' THEN {update}; RETURN NEW; \
                       ELSE {subtract_old}; RETURN OLD; \
                       END IF; \
                     END $$",
                    insert = add(new.clone()),
                    update = add(format!("{new} - {old}")),
                ))
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER booking_refunds_total AFTER INSERT OR UPDATE OR DELETE ON booking_refunds \
                     FOR EACH ROW EXECUTE FUNCTION booking_refunds_total()",
                )
                .await?;
                postgres::tenant_tables(manager, &[("booking_refunds", "SELECT, INSERT, UPDATE")]).await?;
            }
            _ => {
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER booking_refunds_total_insert AFTER INSERT ON booking_refunds \
                     BEGIN {}; END",
                    add(new.clone())
                ))
                .await?;
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER booking_refunds_total_update AFTER UPDATE ON booking_refunds \
                     BEGIN {}; END",
                    add(format!("{new} - {old}"))
                ))
                .await?;
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER booking_refunds_total_delete AFTER DELETE ON booking_refunds \
                     BEGIN {subtract_old}; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
            conn.execute_unprepared("DROP TRIGGER booking_refunds_total ON booking_refunds").await?;
            conn.execute_unprepared("DROP FUNCTION booking_refunds_total()").await?;
        }
        manager.drop_table(Table::drop().table(Alias::new("booking_refunds")).to_owned()).await?;
        Ok(())
    }
}
