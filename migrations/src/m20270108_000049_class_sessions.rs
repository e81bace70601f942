//! Classes and group sessions: a session of a service with a capacity,
//! booked seat by seat, and the weekly schedules that generate sessions.
//!
//! - `class_schedules`: a recurring class (an RFC 5545 rule from a first
//!   local date and time), and how far its sessions are generated.
//! - `class_sessions`: one session, with its instructor (a provider), its
//!   time, `capacity` and `seats_taken`. The count is kept by a trigger on
//!   `bookings`, whatever path changes a seat's status, and a named check
//!   (`class_sessions_capacity`) refuses a count above the capacity: under
//!   parallel requests the session's row serialises the writers and the
//!   check refuses the seat too many.
//! - `bookings.class_session_id` and `seats`: a seat booking is a booking of
//!   the session (with its notices, payments, audit); one booking per
//!   customer and session among the active ones (`bookings_one_seat_key`),
//!   which may take several seats when the session allows it.
//! - `services.class_capacity`: a service taught as a class, booked in its
//!   sessions only (the default capacity of a new session).
//!
//! A session holds its instructor's time; its seats do not (they share it).
//! The bookings' no-overlap rule now leaves seats out, and a guard refuses a
//! session overlapping another session or an appointment of its provider
//! and an appointment overlapping a session: on PostgreSQL an exclusion
//! constraint between sessions and a trigger across the two tables that
//! first takes a transaction lock on the provider (so two writers cannot
//! both pass it), on SQLite triggers under `BEGIN IMMEDIATE`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261223_000033_usage::tenant_fk;
use crate::{index_on, postgres};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

pub(crate) const TABLES: &[&str] = &["class_schedules", "class_sessions"];

/// The statuses whose bookings hold time (as `bookings_no_overlap` counts).
const ACTIVE: &str = "'scheduled', 'confirmed', 'in_progress', 'completed'";

/// Whether two rows' blocked windows overlap, on SQLite (`a` and `b` name
/// the rows).
fn overlaps_sqlite(a: &str, b: &str) -> String {
    format!(
        "julianday({a}.blocked_from) < julianday({b}.blocked_until) \
         AND julianday({b}.blocked_from) < julianday({a}.blocked_until)"
    )
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
                    .table(c("class_schedules"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("service_id")))
                    .col(uuid(c("provider_id")))
                    .col(string_len(c("rule"), 200))
                    .col(date(c("first_date")))
                    .col(integer(c("start_minute")))
                    .col(integer(c("capacity")))
                    .col(integer(c("seats_per_customer")))
                    .col(timestamp_with_time_zone_null(c("generated_until")))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone_null(c("ended_at")))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("class_schedules"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(c("class_sessions"))
                    .col(uuid(c("tenant_id")))
                    .col(uuid(c("id")))
                    .col(uuid(c("service_id")))
                    .col(uuid(c("provider_id")))
                    .col(uuid_null(c("schedule_id")))
                    .col(string_len(c("status"), 20))
                    .col(timestamp_with_time_zone(c("starts_at")))
                    .col(timestamp_with_time_zone(c("ends_at")))
                    .col(timestamp_with_time_zone(c("blocked_from")))
                    .col(timestamp_with_time_zone(c("blocked_until")))
                    .col(integer(c("capacity")))
                    .col(integer(c("seats_taken")).default(0))
                    .col(integer(c("seats_per_customer")))
                    .col(uuid_null(c("created_by")))
                    .col(timestamp_with_time_zone(c("created_at")))
                    .col(timestamp_with_time_zone(c("updated_at")))
                    .col(timestamp_with_time_zone_null(c("cancelled_at")))
                    .col(string_len_null(c("cancellation_reason"), 500))
                    .check(Check::named(
                        "class_sessions_capacity",
                        Expr::cust("seats_taken >= 0 AND seats_taken <= capacity"),
                    ))
                    .primary_key(Index::create().col(c("tenant_id")).col(c("id")))
                    .foreign_key(&mut tenant_fk("class_sessions"))
                    .to_owned(),
            )
            .await?;
        let by_start = ["tenant_id", "starts_at"];
        manager.create_index(index_on("class_sessions_starts_idx", "class_sessions", &by_start, false)).await?;
        // A schedule generates each of its occurrences once, whoever asks.
        let occurrence = ["tenant_id", "schedule_id", "starts_at"];
        manager.create_index(index_on("class_sessions_occurrence_key", "class_sessions", &occurrence, true)).await?;
        let mut session = uuid_null(c("class_session_id"));
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut session).to_owned()).await?;
        let mut seats = integer(c("seats")).default(1).to_owned();
        manager.alter_table(Table::alter().table(c("bookings")).add_column(&mut seats).to_owned()).await?;
        let mut capacity = integer_null(c("class_capacity"));
        manager.alter_table(Table::alter().table(c("services")).add_column(&mut capacity).to_owned()).await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX bookings_one_seat_key ON bookings (tenant_id, class_session_id, customer_id) \
             WHERE class_session_id IS NOT NULL AND status IN ({ACTIVE})"
        ))
        .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for sql in postgres_guards() {
                    conn.execute_unprepared(&sql).await?;
                }
                let grants =
                    [("class_schedules", "SELECT, INSERT, UPDATE"), ("class_sessions", "SELECT, INSERT, UPDATE")];
                postgres::tenant_tables(manager, &grants).await?;
            }
            _ => {
                for sql in sqlite_guards() {
                    conn.execute_unprepared(&sql).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Alias::new;
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                postgres::drop_policies(manager, TABLES).await?;
                conn.execute_unprepared(
                    "DROP TRIGGER bookings_provider_time ON bookings; \
                     DROP TRIGGER bookings_class_seats ON bookings; \
                     DROP TRIGGER bookings_seat_moved ON bookings; \
                     DROP TRIGGER class_sessions_provider_time ON class_sessions; \
                     DROP FUNCTION tessera_provider_time_guard(); \
                     DROP FUNCTION tessera_class_seat_count(); \
                     DROP FUNCTION tessera_seat_moved();",
                )
                .await?;
                conn.execute_unprepared(&postgres_no_overlap("")).await?;
            }
            _ => {
                for name in SQLITE_TRIGGERS {
                    conn.execute_unprepared(&format!("DROP TRIGGER {name}")).await?;
                }
                for sql in sqlite_no_overlap("", NEW_TRIGGERS, OLD_TRIGGERS) {
                    conn.execute_unprepared(&sql).await?;
                }
            }
        }
        conn.execute_unprepared("DROP INDEX bookings_one_seat_key").await?;
        for (table, column) in [("services", "class_capacity"), ("bookings", "seats"), ("bookings", "class_session_id")]
        {
            manager.alter_table(Table::alter().table(c(table)).drop_column(c(column)).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(c("class_sessions")).to_owned()).await?;
        manager.drop_table(Table::drop().table(c("class_schedules")).to_owned()).await?;
        Ok(())
    }
}

/// The bookings' no-overlap constraint on PostgreSQL, with `only` added to
/// its condition.
fn postgres_no_overlap(only: &str) -> String {
    format!(
        "ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap; \
         ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist \
         (tenant_id WITH =, provider_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&) \
         WHERE (status IN ({ACTIVE}){only})"
    )
}

/// PostgreSQL: seats leave the bookings' rule, sessions get theirs, the
/// guard across the two tables, and the seat count.
fn postgres_guards() -> Vec<String> {
    vec![
        postgres_no_overlap(" AND class_session_id IS NULL"),
        "ALTER TABLE class_sessions ADD CONSTRAINT class_sessions_no_overlap EXCLUDE USING gist \
         (tenant_id WITH =, provider_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&) \
         WHERE (status = 'scheduled')"
            .to_owned(),
        // Checks the other table under a lock on the provider's time: a
        // second writer for the provider waits for the first to commit,
        // then its check (a new snapshot per statement) sees the first's row.
        format!(
            "CREATE FUNCTION tessera_provider_time_guard() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               PERFORM pg_advisory_xact_lock(hashtextextended( \
                 'provider-time:' || NEW.tenant_id::text || ':' || NEW.provider_id::text, 0)); \
               IF TG_TABLE_NAME = 'bookings' THEN \
                 IF EXISTS (SELECT 1 FROM class_sessions s WHERE s.tenant_id = NEW.tenant_id \
                     AND s.provider_id = NEW.provider_id AND s.status = 'scheduled' \
                     AND s.blocked_from < NEW.blocked_until AND NEW.blocked_from < s.blocked_until) THEN \
                   RAISE EXCEPTION 'bookings_no_overlap: a class session holds the provider''s time' \
                     USING ERRCODE = 'exclusion_violation'; \
                 END IF; \
               ELSIF EXISTS (SELECT 1 FROM bookings b WHERE b.tenant_id = NEW.tenant_id \
                   AND b.provider_id = NEW.provider_id AND b.class_session_id IS NULL \
                   AND b.status IN ({ACTIVE}) \
                   AND b.blocked_from < NEW.blocked_until AND NEW.blocked_from < b.blocked_until) THEN \
                 RAISE EXCEPTION 'class_sessions_no_overlap: a booking holds the provider''s time' \
                   USING ERRCODE = 'exclusion_violation'; \
               END IF; \
               RETURN NEW; \
             END $$"
        ),
        format!(
            "CREATE TRIGGER bookings_provider_time BEFORE INSERT OR UPDATE OF provider_id, blocked_from, \
             blocked_until, status ON bookings FOR EACH ROW \
             WHEN (NEW.class_session_id IS NULL AND NEW.status IN ({ACTIVE})) \
             EXECUTE FUNCTION tessera_provider_time_guard()"
        ),
        "CREATE TRIGGER class_sessions_provider_time BEFORE INSERT OR UPDATE OF provider_id, blocked_from, \
         blocked_until, status ON class_sessions FOR EACH ROW WHEN (NEW.status = 'scheduled') \
         EXECUTE FUNCTION tessera_provider_time_guard()"
            .to_owned(),
        // The session's row is updated (and locked) by every seat taken or
        // given back; its check refuses one too many.
        format!(
            "CREATE FUNCTION tessera_class_seat_count() RETURNS trigger LANGUAGE plpgsql AS $$ \
             DECLARE delta integer := 0; \
             BEGIN \
               IF TG_OP = 'UPDATE' AND OLD.status IN ({ACTIVE}) THEN delta := delta - OLD.seats; END IF; \
               IF NEW.status IN ({ACTIVE}) THEN delta := delta + NEW.seats; END IF; \
               IF delta <> 0 THEN \
                 UPDATE class_sessions SET seats_taken = seats_taken + delta \
                   WHERE tenant_id = NEW.tenant_id AND id = NEW.class_session_id; \
                 IF NOT FOUND THEN \
                   RAISE EXCEPTION 'class_sessions_missing' USING ERRCODE = 'foreign_key_violation'; \
                 END IF; \
               END IF; \
               RETURN NULL; \
             END $$"
        ),
        "CREATE TRIGGER bookings_class_seats AFTER INSERT OR UPDATE OF status, seats ON bookings \
         FOR EACH ROW WHEN (NEW.class_session_id IS NOT NULL) EXECUTE FUNCTION tessera_class_seat_count()"
            .to_owned(),
        // A seat stays in its session: the count follows one session.
        "CREATE FUNCTION tessera_seat_moved() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'class_sessions_missing' USING ERRCODE = 'foreign_key_violation'; END $$"
            .to_owned(),
        "CREATE TRIGGER bookings_seat_moved BEFORE UPDATE OF class_session_id ON bookings FOR EACH ROW \
         WHEN (OLD.class_session_id IS DISTINCT FROM NEW.class_session_id) EXECUTE FUNCTION tessera_seat_moved()"
            .to_owned(),
    ]
}

/// The bookings' no-overlap triggers on SQLite before this migration, and
/// the ones it puts in their place (seats left out).
const OLD_TRIGGERS: &str = "bookings_no_overlap";
const NEW_TRIGGERS: &str = "bookings_appointments_no_overlap";

/// The SQLite triggers this migration adds (the bookings' own are remade).
const SQLITE_TRIGGERS: [&str; 8] = [
    "bookings_session_time_insert",
    "bookings_session_time_update",
    "class_sessions_no_overlap_insert",
    "class_sessions_no_overlap_update",
    "bookings_seat_taken",
    "bookings_seat_changed",
    "bookings_seat_missing",
    "bookings_seat_moved",
];

/// The bookings' no-overlap triggers on SQLite, with `only` added to which
/// rows they compare: the triggers named `{prefix}_insert` and
/// `{prefix}_update` replace those named `{replaced}_…`. (Each migration
/// names its own: SQLite refused to remake a trigger under the name it just
/// dropped in one migration.)
fn sqlite_no_overlap(only: &str, replaced: &str, prefix: &str) -> Vec<String> {
    let mut sql = Vec::new();
    for event in ["INSERT", "UPDATE"] {
        let suffix = event.to_lowercase();
        sql.push(format!("DROP TRIGGER {replaced}_{suffix}"));
        let name = format!("{prefix}_{suffix}");
        let new_only = only.replace("b.", "NEW.");
        sql.push(format!(
            "CREATE TRIGGER {name} BEFORE {event} ON bookings \
             WHEN NEW.status IN ({ACTIVE}){new_only} \
             BEGIN \
               SELECT RAISE(ABORT, 'bookings_no_overlap') WHERE EXISTS ( \
                 SELECT 1 FROM bookings b \
                 WHERE b.provider_id = NEW.provider_id AND b.id <> NEW.id \
                   AND b.status IN ({ACTIVE}){only} AND {}); \
             END",
            overlaps_sqlite("b", "NEW")
        ));
    }
    sql
}

/// SQLite: the same rules as [`postgres_guards`], as triggers. Writes run
/// under `BEGIN IMMEDIATE`, so a check and its write never interleave with
/// another writer's.
fn sqlite_guards() -> Vec<String> {
    let mut sql = sqlite_no_overlap(" AND b.class_session_id IS NULL", OLD_TRIGGERS, NEW_TRIGGERS);
    let session_holds = format!(
        "SELECT RAISE(ABORT, 'bookings_no_overlap') WHERE EXISTS (SELECT 1 FROM class_sessions s \
         WHERE s.tenant_id = NEW.tenant_id AND s.provider_id = NEW.provider_id AND s.status = 'scheduled' \
         AND {})",
        overlaps_sqlite("s", "NEW")
    );
    for (name, event) in [("bookings_session_time_insert", "INSERT"), ("bookings_session_time_update", "UPDATE")] {
        sql.push(format!(
            "CREATE TRIGGER {name} BEFORE {event} ON bookings \
             WHEN NEW.class_session_id IS NULL AND NEW.status IN ({ACTIVE}) \
             BEGIN {session_holds}; END"
        ));
    }
    let session_check = format!(
        "SELECT RAISE(ABORT, 'class_sessions_no_overlap') WHERE EXISTS (SELECT 1 FROM class_sessions s \
         WHERE s.tenant_id = NEW.tenant_id AND s.provider_id = NEW.provider_id AND s.id <> NEW.id \
         AND s.status = 'scheduled' AND {}) OR EXISTS (SELECT 1 FROM bookings b \
         WHERE b.tenant_id = NEW.tenant_id AND b.provider_id = NEW.provider_id AND b.class_session_id IS NULL \
         AND b.status IN ({ACTIVE}) AND {})",
        overlaps_sqlite("s", "NEW"),
        overlaps_sqlite("b", "NEW")
    );
    for (name, event) in [
        ("class_sessions_no_overlap_insert", "INSERT"),
        ("class_sessions_no_overlap_update", "UPDATE OF provider_id, blocked_from, blocked_until, status"),
    ] {
        sql.push(format!(
            "CREATE TRIGGER {name} BEFORE {event} ON class_sessions WHEN NEW.status = 'scheduled' \
             BEGIN {session_check}; END"
        ));
    }
    let count = |delta: &str| {
        format!(
            "UPDATE class_sessions SET seats_taken = seats_taken + ({delta}) \
             WHERE tenant_id = NEW.tenant_id AND id = NEW.class_session_id"
        )
    };
    sql.push(
        "CREATE TRIGGER bookings_seat_missing BEFORE INSERT ON bookings WHEN NEW.class_session_id IS NOT NULL \
         BEGIN SELECT RAISE(ABORT, 'class_sessions_missing') WHERE NOT EXISTS (SELECT 1 FROM class_sessions s \
         WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.class_session_id); END"
            .to_owned(),
    );
    sql.push(format!(
        "CREATE TRIGGER bookings_seat_taken AFTER INSERT ON bookings \
         WHEN NEW.class_session_id IS NOT NULL AND NEW.status IN ({ACTIVE}) \
         BEGIN {}; END",
        count("NEW.seats")
    ));
    sql.push(format!(
        "CREATE TRIGGER bookings_seat_changed AFTER UPDATE OF status, seats ON bookings \
         WHEN NEW.class_session_id IS NOT NULL \
         BEGIN {}; END",
        count(&format!(
            "(CASE WHEN NEW.status IN ({ACTIVE}) THEN NEW.seats ELSE 0 END) \
             - (CASE WHEN OLD.status IN ({ACTIVE}) THEN OLD.seats ELSE 0 END)"
        ))
    ));
    // A seat stays in its session: the count follows one session.
    sql.push(
        "CREATE TRIGGER bookings_seat_moved BEFORE UPDATE OF class_session_id ON bookings \
         WHEN OLD.class_session_id IS NOT NEW.class_session_id \
         BEGIN SELECT RAISE(ABORT, 'class_sessions_missing'); END"
            .to_owned(),
    );
    sql
}
