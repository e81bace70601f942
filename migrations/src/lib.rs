//! Tessera's schema history, for SQLite and PostgreSQL.
//!
//! Migrations are frozen once released: a change to the schema is a new migration,
//! never an edit of an old one. They never import entity types, so refactoring a
//! domain crate cannot silently change history.
//!
//! On PostgreSQL the migrations also set up tenant isolation in the database: the
//! non-owner role `tessera_app` that request statements run as, its grants, and a
//! row-level-security policy, `FORCE`d, on every tenant-owned table (see
//! [`postgres`]).

pub use sea_orm_migration::prelude::*;

pub mod citus;
mod m20261121_000001_foundation;
mod m20261122_000002_scheduling;
mod m20261123_000003_access_control;
mod m20261124_000004_account_links;
mod m20261125_000005_parent_management;
mod m20261126_000006_audit;
mod m20261127_000007_security_and_retention;
mod m20261128_000008_notifications;
mod m20261129_000009_notification_preferences;
mod m20261130_000010_notification_templates;
mod m20261201_000011_notification_digests;
mod m20261202_000012_password_history;
mod m20261203_000013_account_messages;
mod m20261204_000014_invitations;
mod m20261205_000015_mfa;
mod m20261206_000016_account_status;
mod m20261207_000017_security_policy;
mod m20261208_000018_api_keys;
mod m20261209_000019_passkeys;
mod m20261210_000020_oauth_clients;
mod m20261211_000021_trusted_devices;
mod m20261212_000022_invitation_senders;
mod m20261213_000023_pending_sign_ups;
mod m20261214_000024_refresh_successor_key;
mod m20261215_000025_provider_terms;
mod m20261216_000026_tenant_keys;
mod m20261217_000027_member_tenants;
mod m20261218_000028_account_security_events;
mod m20261219_000029_token_directory;
mod m20261220_000030_oauth_client_isolation;
mod m20261221_000031_account_message_outbox;
mod m20261222_000032_drop_lookup_indexes;
mod m20261223_000033_usage;
mod m20261224_000034_usage_alerts;
mod m20261225_000035_count_endpoints_and_clients;
mod m20261226_000036_count_staff_seats;
mod m20261227_000037_billing;
mod m20261228_000038_payment_methods;
mod m20261229_000039_invoices;
mod m20261230_000040_subscription_changes;
mod m20261231_000041_coupons;
mod m20270101_000042_provider_events;
mod m20270102_000043_overage;
mod m20270103_000044_booking_payments;
mod m20270104_000045_booking_refunds;
mod m20270105_000046_customer_cards;
mod m20270106_000047_calendar_feeds;
mod m20270107_000048_notification_calendars;
mod m20270108_000049_class_sessions;
mod m20270109_000050_booking_series;
mod m20270110_000051_customer_language;
mod m20270111_000052_series_keys;
mod m20270112_000053_waitlist;
mod m20270113_000054_resources;
pub mod postgres;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_foundation::Migration),
            Box::new(m20261122_000002_scheduling::Migration),
            Box::new(m20261123_000003_access_control::Migration),
            Box::new(m20261124_000004_account_links::Migration),
            Box::new(m20261125_000005_parent_management::Migration),
            Box::new(m20261126_000006_audit::Migration),
            Box::new(m20261127_000007_security_and_retention::Migration),
            Box::new(m20261128_000008_notifications::Migration),
            Box::new(m20261129_000009_notification_preferences::Migration),
            Box::new(m20261130_000010_notification_templates::Migration),
            Box::new(m20261201_000011_notification_digests::Migration),
            Box::new(m20261202_000012_password_history::Migration),
            Box::new(m20261203_000013_account_messages::Migration),
            Box::new(m20261204_000014_invitations::Migration),
            Box::new(m20261205_000015_mfa::Migration),
            Box::new(m20261206_000016_account_status::Migration),
            Box::new(m20261207_000017_security_policy::Migration),
            Box::new(m20261208_000018_api_keys::Migration),
            Box::new(m20261209_000019_passkeys::Migration),
            Box::new(m20261210_000020_oauth_clients::Migration),
            Box::new(m20261211_000021_trusted_devices::Migration),
            Box::new(m20261212_000022_invitation_senders::Migration),
            Box::new(m20261213_000023_pending_sign_ups::Migration),
            Box::new(m20261214_000024_refresh_successor_key::Migration),
            Box::new(m20261215_000025_provider_terms::Migration),
            Box::new(m20261216_000026_tenant_keys::Migration),
            Box::new(m20261217_000027_member_tenants::Migration),
            Box::new(m20261218_000028_account_security_events::Migration),
            Box::new(m20261219_000029_token_directory::Migration),
            Box::new(m20261220_000030_oauth_client_isolation::Migration),
            Box::new(m20261221_000031_account_message_outbox::Migration),
            Box::new(m20261222_000032_drop_lookup_indexes::Migration),
            Box::new(m20261223_000033_usage::Migration),
            Box::new(m20261224_000034_usage_alerts::Migration),
            Box::new(m20261225_000035_count_endpoints_and_clients::Migration),
            Box::new(m20261226_000036_count_staff_seats::Migration),
            Box::new(m20261227_000037_billing::Migration),
            Box::new(m20261228_000038_payment_methods::Migration),
            Box::new(m20261229_000039_invoices::Migration),
            Box::new(m20261230_000040_subscription_changes::Migration),
            Box::new(m20261231_000041_coupons::Migration),
            Box::new(m20270101_000042_provider_events::Migration),
            Box::new(m20270102_000043_overage::Migration),
            Box::new(m20270103_000044_booking_payments::Migration),
            Box::new(m20270104_000045_booking_refunds::Migration),
            Box::new(m20270105_000046_customer_cards::Migration),
            Box::new(m20270106_000047_calendar_feeds::Migration),
            Box::new(m20270107_000048_notification_calendars::Migration),
            Box::new(m20270108_000049_class_sessions::Migration),
            Box::new(m20270109_000050_booking_series::Migration),
            Box::new(m20270110_000051_customer_language::Migration),
            Box::new(m20270111_000052_series_keys::Migration),
            Box::new(m20270112_000053_waitlist::Migration),
            Box::new(m20270113_000054_resources::Migration),
        ]
    }
}

/// Creates an index named `name` on `columns` of `table`.
pub(crate) async fn create_index<const N: usize>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: [impl IntoIden; N],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

/// The statement creating an index named `name` on `columns` of `table`, for
/// migrations that run it inside their own transaction.
pub(crate) fn index_on(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

pub(crate) fn one_of(column: impl IntoIden, values: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(values.iter().copied())
}
