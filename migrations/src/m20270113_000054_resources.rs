//! Resources: rooms, chairs, equipment, vehicles, booked together with a
//! person.
//!
//! - `providers.resource_type`: a provider is what a business books by the
//!   hour, a person or (when set: `room`, `basin`…) a resource, with the
//!   same weekly hours and dated exceptions.
//! - `services.resource_type`, `resource_offset_minutes`,
//!   `resource_minutes`: a service that needs a resource of a type, for
//!   part of its time (a colour needs a basin for its first 30 minutes) or
//!   all of it.
//! - `booking_resources`: the resource a booking holds and when; `active`
//!   follows the booking's status (a trigger on `bookings`), and two active
//!   holds of one resource never overlap: an exclusion constraint on
//!   PostgreSQL, triggers under `BEGIN IMMEDIATE` on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["booking_resources"];

/// The statuses whose bookings hold time (as `bookings_no_overlap` counts).
const ACTIVE: &str = "'scheduled', 'confirmed', 'in_progress', 'completed'";

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let mut kind = string_len_null(c("resource_type"), 60);
        manager.alter_table(Table::alter().table(c("providers")).add_column(&mut kind).to_owned()).await?;
        let mut needs = string_len_null(c("resource_type"), 60);
        manager.alter_table(Table::alter().table(c("services")).add_column(&mut needs).to_owned()).await?;
        let mut offset = integer(c("resource_offset_minutes")).default(0).to_owned();
        manager.alter_table(Table::alter().table(c("services")).add_column(&mut offset).to_owned()).await?;
        let mut minutes = integer_null(c("resource_minutes"));
        manager.alter_table(Table::alter().table(c("services")).add_column(&mut minutes).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(c("booking_resources"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("booking_id")))
                    .col(uuid(c("resource_id")))
                    .col(timestamp_with_time_zone(c("held_from")))
                    .col(timestamp_with_time_zone(c("held_until")))
                    .col(boolean(c("active")))
                    .check(Check::named("booking_resources_window", Expr::cust("held_from < held_until")))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("booking_id")).col(c("resource_id")))
                    .foreign_key(&mut tenant_fk("booking_resources"))
                    .to_owned(),
            )
            .await?;
        let by_resource = ["tenant_id", "resource_id", "held_from"];
        manager
            .create_index(index_on("booking_resources_resource_idx", "booking_resources", &by_resource, false))
            .await?;
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for sql in [
                    "ALTER TABLE booking_resources ADD CONSTRAINT booking_resources_no_overlap EXCLUDE USING gist \
                     (tenant_id WITH =, resource_id WITH =, tstzrange(held_from, held_until, '[)') WITH &&) \
                     WHERE (active)"
                        .to_owned(),
                    format!(
                        "CREATE FUNCTION booking_resources_follow() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN \
                           UPDATE booking_resources SET active = (NEW.status IN ({ACTIVE})) \
                            WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id; \
                           RETURN NEW; \
                         END $$"
                    ),
                    "CREATE TRIGGER bookings_resources_follow AFTER UPDATE OF status ON bookings FOR EACH ROW \
                     WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION booking_resources_follow()"
                        .to_owned(),
                ] {
                    conn.execute_unprepared(&sql).await?;
                }
                postgres::tenant_tables(manager, &[("booking_resources", "SELECT, INSERT, UPDATE, DELETE")]).await?;
            }
            _ => {
                let overlap = "SELECT RAISE(ABORT, 'booking_resources_no_overlap') WHERE EXISTS ( \
                     SELECT 1 FROM booking_resources r WHERE r.tenant_id = NEW.tenant_id \
                     AND r.resource_id = NEW.resource_id AND r.booking_id <> NEW.booking_id AND r.active \
                     AND julianday(r.held_from) < julianday(NEW.held_until) \
                     AND julianday(NEW.held_from) < julianday(r.held_until))";
                for event in ["INSERT", "UPDATE"] {
                    let name = format!("booking_resources_no_overlap_{}", event.to_lowercase());
                    let sql = format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON booking_resources WHEN NEW.active BEGIN {overlap}; END"
                    );
                    conn.execute_unprepared(&sql).await?;
                }
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER bookings_resources_follow AFTER UPDATE OF status ON bookings \
                     WHEN OLD.status <> NEW.status BEGIN \
                       UPDATE booking_resources SET active = (NEW.status IN ({ACTIVE})) \
                        WHERE tenant_id = NEW.tenant_id AND booking_id = NEW.id; \
                     END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
            conn.execute_unprepared("DROP TRIGGER bookings_resources_follow ON bookings").await?;
            conn.execute_unprepared("DROP FUNCTION booking_resources_follow()").await?;
        } else {
            conn.execute_unprepared("DROP TRIGGER bookings_resources_follow").await?;
        }
        manager.drop_table(Table::drop().table(c("booking_resources")).to_owned()).await?;
        for (table, column) in [
            ("services", "resource_minutes"),
            ("services", "resource_offset_minutes"),
            ("services", "resource_type"),
            ("providers", "resource_type"),
        ] {
            manager.alter_table(Table::alter().table(c(table)).drop_column(c(column)).to_owned()).await?;
        }
        Ok(())
    }
}
