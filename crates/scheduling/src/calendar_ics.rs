//! A calendar feed's text, and the file a booking's email carries: bookings
//! as iCalendar (RFC 5545) events, in UTC (`…Z`: calendar apps show them in
//! the reader's own zone) with the business's zone named as the calendar's
//! (`X-WR-TIMEZONE`). Written by the `icalendar` crate, which escapes text
//! and folds long lines.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use tessera_kernel::{CustomerId, ProviderId, Result, TenantId};
use tessera_tenant::Tenant;

use crate::calendar_feeds::FeedSubject;
use crate::entity::{booking, customer, provider};
use crate::model::BookingStatus;

/// The names a feed's events show, read once for all its bookings.
pub(crate) struct Names {
    customers: HashMap<CustomerId, String>,
    providers: HashMap<ProviderId, String>,
}

impl Names {
    pub(crate) async fn read(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        bookings: &[booking::Model],
    ) -> Result<Self> {
        let customer_ids: Vec<CustomerId> = bookings.iter().map(|b| b.customer_id).collect();
        let provider_ids: Vec<ProviderId> = bookings.iter().map(|b| b.provider_id).collect();
        let customers = customer::Entity::find()
            .filter(customer::Column::TenantId.eq(tenant_id))
            .filter(customer::Column::Id.is_in(customer_ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let providers = provider::Entity::find()
            .filter(provider::Column::TenantId.eq(tenant_id))
            .filter(provider::Column::Id.is_in(provider_ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        Ok(Self { customers, providers })
    }
}

/// `at` as iCalendar's UTC date-time.
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// An empty calendar named `title`, in `tenant`'s zone: our own product id
/// (the crate's default names the crate) and `METHOD:PUBLISH` (a feed or a
/// booking's file is published, not an invitation to answer).
fn calendar_of(tenant: &Tenant, title: &str) -> Calendar {
    let mut calendar = Calendar::empty();
    for (name, value) in [
        ("VERSION", "2.0"),
        ("PRODID", "-//Tessera//Calendar feeds//EN"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
    ] {
        calendar.append_property(Property::new(name, value));
    }
    let zone: chrono_tz::Tz = tenant.timezone.parse().unwrap_or(chrono_tz::UTC);
    calendar.name(title).timezone(zone);
    calendar
}

/// One booking as an event: the same `UID` in every feed and file, so a
/// calendar app updates it; `SEQUENCE` grows with each change.
fn event_of(row: &booking::Model, (summary, description): (&str, &str), now: DateTime<Utc>) -> Event {
    let status = match row.status {
        BookingStatus::Scheduled => EventStatus::Tentative,
        BookingStatus::Cancelled => EventStatus::Cancelled,
        _ => EventStatus::Confirmed,
    };
    Event::new()
        .uid(&format!("{}@tessera", row.id))
        .add_property("DTSTAMP", stamp(now))
        .add_property("LAST-MODIFIED", stamp(row.updated_at))
        .add_property("SEQUENCE", row.updated_at.timestamp().to_string())
        .starts(row.starts_at)
        .ends(row.ends_at)
        .summary(summary)
        .description(description)
        .status(status)
        .done()
}

/// What a customer's calendar shows of a booking: the service and the
/// business, and who performs it.
fn for_customer(tenant: &Tenant, row: &booking::Model, provider: &str) -> (String, String) {
    (format!("{} at {}", row.service_name, tenant.name), format!("With {provider}"))
}

/// The feed of `subject`'s `bookings` at `tenant`, as of `now`.
pub(crate) fn render(
    tenant: &Tenant,
    subject: FeedSubject,
    bookings: &[booking::Model],
    names: &Names,
    now: DateTime<Utc>,
) -> String {
    let provider_name = |id: &ProviderId| names.providers.get(id).cloned().unwrap_or_default();
    let title = match subject {
        FeedSubject::Provider(id) => format!("{} at {}", provider_name(&id), tenant.name),
        FeedSubject::Customer(_) => format!("Appointments at {}", tenant.name),
    };
    let mut calendar = calendar_of(tenant, &title);
    for row in bookings {
        // What the other side of the booking is: the customer, in a
        // provider's calendar; the business and provider, in a customer's.
        let (summary, description) = match subject {
            FeedSubject::Provider(_) => {
                let customer = names.customers.get(&row.customer_id).cloned().unwrap_or_default();
                (format!("{} — {customer}", row.service_name), row.notes.clone().unwrap_or_default())
            }
            FeedSubject::Customer(_) => for_customer(tenant, row, &provider_name(&row.provider_id)),
        };
        calendar.push(event_of(row, (&summary, &description), now));
    }
    calendar.done().to_string()
}

/// The file a booking's email carries (`booking.ics`): its one event as the
/// customer's calendar shows it, cancelled once the booking is.
pub(crate) fn booking_file(tenant: &Tenant, row: &booking::Model, provider: &str, now: DateTime<Utc>) -> String {
    let (summary, description) = for_customer(tenant, row, provider);
    let mut calendar = calendar_of(tenant, &tenant.name);
    calendar.push(event_of(row, (&summary, &description), now));
    calendar.done().to_string()
}
