//! Scheduling: providers and their hours, services and add-ons, customers, bookings
//! (with the database-level guarantee that a provider's active bookings never
//! overlap), and reviews.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::postgres::{self, TENANT_FN};
use crate::{create_index, one_of};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
    TenantId,
    UserId,
    Name,
    Title,
    ProviderType,
    Email,
    Phone,
    Active,
    RatingSum,
    ReviewCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WorkingHours {
    Table,
    Id,
    TenantId,
    ProviderId,
    Weekday,
    StartMinute,
    EndMinute,
}

#[derive(DeriveIden)]
enum ScheduleExceptions {
    Table,
    Id,
    TenantId,
    ProviderId,
    Date,
    Kind,
    StartMinute,
    EndMinute,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    PriceMinor,
    Currency,
    DurationMinutes,
    BufferBeforeMinutes,
    BufferAfterMinutes,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ServiceAddons {
    Table,
    Id,
    TenantId,
    ServiceId,
    Name,
    PriceMinor,
    DurationMinutes,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProviderServices {
    Table,
    TenantId,
    ProviderId,
    ServiceId,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    TenantId,
    Name,
    Email,
    Phone,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    Id,
    TenantId,
    ProviderId,
    ServiceId,
    CustomerId,
    Status,
    StartsAt,
    EndsAt,
    BlockedFrom,
    BlockedUntil,
    ServiceName,
    PriceMinor,
    Currency,
    DurationMinutes,
    Notes,
    IdempotencyKey,
    RequestFingerprint,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ConfirmedAt,
    StartedAt,
    CompletedAt,
    NoShowAt,
    CancelledAt,
    CancelledBy,
    CancellationReason,
    RefundMinor,
}

#[derive(DeriveIden)]
enum BookingAddons {
    Table,
    Id,
    TenantId,
    BookingId,
    AddonId,
    Name,
    PriceMinor,
    DurationMinutes,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    TenantId,
    BookingId,
    ProviderId,
    CustomerId,
    Rating,
    Comment,
    CreatedAt,
}

fn tenant_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Statuses whose bookings hold their time.
const ACTIVE_STATUSES: &str = "'scheduled', 'confirmed', 'in_progress', 'completed'";

/// The tables of this migration under row-level security.
pub(crate) const TABLES: &[&str] = &[
    "providers",
    "working_hours",
    "schedule_exceptions",
    "services",
    "service_addons",
    "provider_services",
    "customers",
    "bookings",
    "booking_addons",
    "reviews",
];

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Providers::Table)
                    .col(uuid(Providers::Id).primary_key())
                    .col(uuid(Providers::TenantId))
                    .col(uuid_null(Providers::UserId))
                    .col(string_len(Providers::Name, 200))
                    .col(string_len_null(Providers::Title, 200))
                    .col(
                        string_len(Providers::ProviderType, 20)
                            .check(one_of(Providers::ProviderType, &["employee", "contractor", "consultant"])),
                    )
                    .col(string_len_null(Providers::Email, 254))
                    .col(string_len_null(Providers::Phone, 16))
                    .col(boolean(Providers::Active))
                    .col(big_integer(Providers::RatingSum))
                    .col(integer(Providers::ReviewCount))
                    .col(timestamp_with_time_zone(Providers::CreatedAt))
                    .col(timestamp_with_time_zone(Providers::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Providers::Table, Providers::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Providers::Table, Providers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "providers_tenant_idx", Providers::Table, [Providers::TenantId, Providers::Id], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkingHours::Table)
                    .col(uuid(WorkingHours::Id).primary_key())
                    .col(uuid(WorkingHours::TenantId))
                    .col(uuid(WorkingHours::ProviderId))
                    .col(small_integer(WorkingHours::Weekday).check(Expr::col(WorkingHours::Weekday).between(0, 6)))
                    .col(small_integer(WorkingHours::StartMinute))
                    .col(small_integer(WorkingHours::EndMinute))
                    .check(
                        Expr::col(WorkingHours::StartMinute)
                            .gte(0)
                            .and(Expr::col(WorkingHours::StartMinute).lt(Expr::col(WorkingHours::EndMinute)))
                            .and(Expr::col(WorkingHours::EndMinute).lte(1440)),
                    )
                    .foreign_key(&mut tenant_fk(WorkingHours::Table, WorkingHours::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkingHours::Table, WorkingHours::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "working_hours_provider_idx", WorkingHours::Table, [WorkingHours::ProviderId], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScheduleExceptions::Table)
                    .col(uuid(ScheduleExceptions::Id).primary_key())
                    .col(uuid(ScheduleExceptions::TenantId))
                    .col(uuid_null(ScheduleExceptions::ProviderId))
                    .col(date(ScheduleExceptions::Date))
                    .col(
                        string_len(ScheduleExceptions::Kind, 20)
                            .check(one_of(ScheduleExceptions::Kind, &["closed", "open"])),
                    )
                    .col(small_integer_null(ScheduleExceptions::StartMinute))
                    .col(small_integer_null(ScheduleExceptions::EndMinute))
                    .col(string_len_null(ScheduleExceptions::Reason, 500))
                    .col(timestamp_with_time_zone(ScheduleExceptions::CreatedAt))
                    .foreign_key(&mut tenant_fk(ScheduleExceptions::Table, ScheduleExceptions::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScheduleExceptions::Table, ScheduleExceptions::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "schedule_exceptions_tenant_date_idx",
            ScheduleExceptions::Table,
            [ScheduleExceptions::TenantId, ScheduleExceptions::Date],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(uuid(Services::Id).primary_key())
                    .col(uuid(Services::TenantId))
                    .col(string_len(Services::Name, 200))
                    .col(text_null(Services::Description))
                    .col(big_integer(Services::PriceMinor).check(Expr::col(Services::PriceMinor).gte(0)))
                    .col(string_len(Services::Currency, 3))
                    .col(integer(Services::DurationMinutes).check(Expr::col(Services::DurationMinutes).gt(0)))
                    .col(integer(Services::BufferBeforeMinutes).check(Expr::col(Services::BufferBeforeMinutes).gte(0)))
                    .col(integer(Services::BufferAfterMinutes).check(Expr::col(Services::BufferAfterMinutes).gte(0)))
                    .col(boolean(Services::Active))
                    .col(timestamp_with_time_zone(Services::CreatedAt))
                    .col(timestamp_with_time_zone(Services::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Services::DeletedAt))
                    .foreign_key(&mut tenant_fk(Services::Table, Services::TenantId))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "services_tenant_idx", Services::Table, [Services::TenantId, Services::Id], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceAddons::Table)
                    .col(uuid(ServiceAddons::Id).primary_key())
                    .col(uuid(ServiceAddons::TenantId))
                    .col(uuid(ServiceAddons::ServiceId))
                    .col(string_len(ServiceAddons::Name, 200))
                    .col(big_integer(ServiceAddons::PriceMinor).check(Expr::col(ServiceAddons::PriceMinor).gte(0)))
                    .col(
                        integer(ServiceAddons::DurationMinutes).check(Expr::col(ServiceAddons::DurationMinutes).gte(0)),
                    )
                    .col(boolean(ServiceAddons::Active))
                    .col(timestamp_with_time_zone(ServiceAddons::CreatedAt))
                    .foreign_key(&mut tenant_fk(ServiceAddons::Table, ServiceAddons::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAddons::Table, ServiceAddons::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "service_addons_service_idx", ServiceAddons::Table, [ServiceAddons::ServiceId], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProviderServices::Table)
                    .col(uuid(ProviderServices::TenantId))
                    .col(uuid(ProviderServices::ProviderId))
                    .col(uuid(ProviderServices::ServiceId))
                    .primary_key(Index::create().col(ProviderServices::ProviderId).col(ProviderServices::ServiceId))
                    .foreign_key(&mut tenant_fk(ProviderServices::Table, ProviderServices::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProviderServices::Table, ProviderServices::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProviderServices::Table, ProviderServices::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "provider_services_service_idx",
            ProviderServices::Table,
            [ProviderServices::ServiceId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(uuid(Customers::Id).primary_key())
                    .col(uuid(Customers::TenantId))
                    .col(string_len(Customers::Name, 200))
                    .col(string_len_null(Customers::Email, 254))
                    .col(string_len_null(Customers::Phone, 16))
                    .col(text_null(Customers::Notes))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Customers::Table, Customers::TenantId))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "customers_tenant_idx", Customers::Table, [Customers::TenantId, Customers::Id], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bookings::Table)
                    .col(uuid(Bookings::Id).primary_key())
                    .col(uuid(Bookings::TenantId))
                    .col(uuid(Bookings::ProviderId))
                    .col(uuid(Bookings::ServiceId))
                    .col(uuid(Bookings::CustomerId))
                    .col(string_len(Bookings::Status, 20).check(one_of(
                        Bookings::Status,
                        &["scheduled", "confirmed", "in_progress", "completed", "cancelled", "no_show"],
                    )))
                    .col(timestamp_with_time_zone(Bookings::StartsAt))
                    .col(timestamp_with_time_zone(Bookings::EndsAt))
                    .col(timestamp_with_time_zone(Bookings::BlockedFrom))
                    .col(timestamp_with_time_zone(Bookings::BlockedUntil))
                    .col(string_len(Bookings::ServiceName, 200))
                    .col(big_integer(Bookings::PriceMinor))
                    .col(string_len(Bookings::Currency, 3))
                    .col(integer(Bookings::DurationMinutes))
                    .col(text_null(Bookings::Notes))
                    .col(string_len_null(Bookings::IdempotencyKey, 100))
                    .col(string_len_null(Bookings::RequestFingerprint, 64))
                    .col(uuid_null(Bookings::CreatedBy))
                    .col(timestamp_with_time_zone(Bookings::CreatedAt))
                    .col(timestamp_with_time_zone(Bookings::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Bookings::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(Bookings::StartedAt))
                    .col(timestamp_with_time_zone_null(Bookings::CompletedAt))
                    .col(timestamp_with_time_zone_null(Bookings::NoShowAt))
                    .col(timestamp_with_time_zone_null(Bookings::CancelledAt))
                    .col(uuid_null(Bookings::CancelledBy))
                    .col(text_null(Bookings::CancellationReason))
                    .col(big_integer_null(Bookings::RefundMinor))
                    .check(Expr::col(Bookings::StartsAt).lt(Expr::col(Bookings::EndsAt)))
                    .check(Expr::col(Bookings::BlockedFrom).lt(Expr::col(Bookings::BlockedUntil)))
                    .foreign_key(&mut tenant_fk(Bookings::Table, Bookings::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bookings::Table, Bookings::ProviderId)
                            .to(Providers::Table, Providers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bookings::Table, Bookings::ServiceId)
                            .to(Services::Table, Services::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bookings::Table, Bookings::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "bookings_tenant_starts_idx",
            Bookings::Table,
            [Bookings::TenantId, Bookings::StartsAt],
            false,
        )
        .await?;
        create_index(
            manager,
            "bookings_provider_blocked_idx",
            Bookings::Table,
            [Bookings::ProviderId, Bookings::BlockedFrom],
            false,
        )
        .await?;
        create_index(manager, "bookings_customer_idx", Bookings::Table, [Bookings::CustomerId], false).await?;
        create_index(
            manager,
            "bookings_idempotency_key",
            Bookings::Table,
            [Bookings::TenantId, Bookings::IdempotencyKey],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(BookingAddons::Table)
                    .col(uuid(BookingAddons::Id).primary_key())
                    .col(uuid(BookingAddons::TenantId))
                    .col(uuid(BookingAddons::BookingId))
                    .col(uuid(BookingAddons::AddonId))
                    .col(string_len(BookingAddons::Name, 200))
                    .col(big_integer(BookingAddons::PriceMinor))
                    .col(integer(BookingAddons::DurationMinutes))
                    .foreign_key(&mut tenant_fk(BookingAddons::Table, BookingAddons::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BookingAddons::Table, BookingAddons::BookingId)
                            .to(Bookings::Table, Bookings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "booking_addons_booking_idx", BookingAddons::Table, [BookingAddons::BookingId], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(uuid(Reviews::Id).primary_key())
                    .col(uuid(Reviews::TenantId))
                    .col(uuid(Reviews::BookingId))
                    .col(uuid(Reviews::ProviderId))
                    .col(uuid(Reviews::CustomerId))
                    .col(small_integer(Reviews::Rating).check(Expr::col(Reviews::Rating).between(1, 5)))
                    .col(text_null(Reviews::Comment))
                    .col(timestamp_with_time_zone(Reviews::CreatedAt))
                    .foreign_key(&mut tenant_fk(Reviews::Table, Reviews::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reviews::Table, Reviews::BookingId)
                            .to(Bookings::Table, Bookings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "reviews_booking_key", Reviews::Table, [Reviews::BookingId], true).await?;
        create_index(manager, "reviews_provider_idx", Reviews::Table, [Reviews::ProviderId], false).await?;

        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                // The database itself refuses overlapping active bookings of one
                // provider, whatever the application checked before.
                conn.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist").await?;
                conn.execute_unprepared(&format!(
                    "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist \
                     (provider_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&) \
                     WHERE (status IN ({ACTIVE_STATUSES}))"
                ))
                .await?;
                for table in TABLES {
                    postgres::grant(manager, table, "SELECT, INSERT, UPDATE, DELETE").await?;
                    let own = format!("tenant_id = {TENANT_FN}");
                    postgres::isolate(manager, table, &own, &own).await?;
                }
            }
            _ => {
                // SQLite has no exclusion constraints: a trigger refuses the overlap
                // instead. Writes run in BEGIN IMMEDIATE transactions, so the check
                // and the insert cannot interleave with another writer.
                for (name, event) in
                    [("bookings_no_overlap_insert", "INSERT"), ("bookings_no_overlap_update", "UPDATE")]
                {
                    conn.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON bookings \
                         WHEN NEW.status IN ({ACTIVE_STATUSES}) \
                         BEGIN \
                           SELECT RAISE(ABORT, 'bookings_no_overlap') WHERE EXISTS ( \
                             SELECT 1 FROM bookings b \
                             WHERE b.provider_id = NEW.provider_id AND b.id <> NEW.id \
                               AND b.status IN ({ACTIVE_STATUSES}) \
                               AND julianday(b.blocked_from) < julianday(NEW.blocked_until) \
                               AND julianday(NEW.blocked_from) < julianday(b.blocked_until)); \
                         END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in [
            Reviews::Table.into_iden(),
            BookingAddons::Table.into_iden(),
            Bookings::Table.into_iden(),
            Customers::Table.into_iden(),
            ProviderServices::Table.into_iden(),
            ServiceAddons::Table.into_iden(),
            Services::Table.into_iden(),
            ScheduleExceptions::Table.into_iden(),
            WorkingHours::Table.into_iden(),
            Providers::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
