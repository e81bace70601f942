//! What booking changes tell people: the customer's confirmation, change and
//! cancellation messages, the reminder before the start, and the tenant's
//! webhook events. Queued in the booking's own transaction (see `tessera_notify`).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{DatabaseTransaction, EntityTrait};
use serde_json::json;
use tessera_kernel::{EventKind, Result};
use tessera_notify::{NewNotification, Recipient, Topic};
use tessera_tenant::Tenant;

use crate::entity::{booking, customer, provider};
use crate::model::BookingStatus;

/// The booking's customer and provider when the change already read them in
/// its transaction (creating a booking does), so they are not read again.
#[derive(Default, Clone, Copy)]
pub(crate) struct Parties<'a> {
    pub(crate) customer: Option<&'a customer::Model>,
    pub(crate) provider: Option<&'a provider::Model>,
}

/// Queues the messages `kind` (a change from `before` to `row`) causes; webhook
/// endpoints get `event_data`, the payload live subscribers get too.
pub(crate) async fn queue_booking_notices(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    at: DateTime<Utc>,
    (kind, before, row): (EventKind, Option<&booking::Model>, &booking::Model),
    known: Parties<'_>,
    event_data: &serde_json::Value,
) -> Result<()> {
    let tenant_id = tenant.id;
    let customer = match known.customer.filter(|c| c.id == row.customer_id) {
        Some(known) => Some(known.clone()),
        None => customer::Entity::find_by_id((row.tenant_id, row.customer_id)).one(txn).await?,
    };
    let provider_name = match known.provider.filter(|p| p.id == row.provider_id) {
        Some(known) => Some(known.name.clone()),
        None => provider::Entity::find_by_id((row.tenant_id, row.provider_id)).one(txn).await?.map(|p| p.name),
    };
    let mut variables = variables_of(tenant, row, customer.as_ref(), provider_name);
    let tz: Tz = tenant.timezone.parse().unwrap_or(chrono_tz::UTC);
    let local = |instant: DateTime<Utc>| instant.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let booking_id = row.id.to_string();
    let subject = ("booking", booking_id.as_str());

    let subject_of_event = ("booking", booking_id.clone());
    tessera_notify::queue_event(txn, tenant_id, at, kind.as_str(), subject_of_event, event_data.clone()).await?;

    // The words follow the state: a booking waiting for the business is
    // "received", and "confirmed" is said once it is.
    let was_offer = before.is_some_and(|b| b.offer_expires_at.is_some());
    let topic = match kind {
        // A time offered from the waitlist: theirs if they accept it in time.
        EventKind::BookingCreated if row.offer_expires_at.is_some() => {
            variables["offerExpiresAt"] = json!(row.offer_expires_at.map(local));
            Some(Topic::WaitlistOffered)
        }
        // A booking waiting for its payment is not made yet for its customer:
        // the payment confirming it says so.
        EventKind::BookingCreated if row.payment_due_by.is_some() => None,
        // An offer accepted is a booking made now.
        EventKind::BookingStatusChanged if was_offer && row.offer_expires_at.is_none() => {
            match (row.payment_due_by, row.status) {
                (Some(_), _) => None,
                (None, BookingStatus::Confirmed) => Some(Topic::BookingConfirmed),
                (None, _) => Some(Topic::BookingReceived),
            }
        }
        // An offer declined or run out: the offer said until when it held.
        EventKind::BookingCancelled if was_offer => None,
        EventKind::BookingCreated if row.status == BookingStatus::Confirmed => Some(Topic::BookingConfirmed),
        EventKind::BookingCreated => Some(Topic::BookingReceived),
        EventKind::BookingStatusChanged
            if row.status == BookingStatus::Confirmed
                && before.is_some_and(|b| b.status != BookingStatus::Confirmed) =>
        {
            Some(Topic::BookingConfirmed)
        }
        EventKind::BookingRescheduled => {
            if let Some(previous) = before {
                variables["previousStartsAt"] = json!(local(previous.starts_at));
            }
            Some(Topic::BookingChanged)
        }
        EventKind::BookingCancelled => {
            variables["reason"] = json!(row.cancellation_reason);
            variables["refund"] = json!(row.refund_minor.filter(|r| *r > 0).map(|r| money(r, &row.currency)));
            Some(Topic::BookingCancelled)
        }
        _ => None,
    };
    let Some(customer) = customer else { return Ok(()) };
    let recipient = recipient(&customer);
    // A reminder follows the booking: withdrawn when it moves, ends or is
    // cancelled, and queued again for the new start.
    if kind != EventKind::BookingCreated {
        tessera_notify::withdraw(txn, tenant_id, subject, Topic::BookingReminder.as_str(), at).await?;
    }
    let mut notices = Vec::new();
    if let Some(topic) = topic {
        // The event itself, for the customer's calendar app.
        let provider = variables["providerName"].as_str().unwrap_or_default();
        // Not for an offer: it is not in their calendar until accepted.
        let calendar =
            (topic != Topic::WaitlistOffered).then(|| crate::calendar_ics::booking_file(tenant, row, provider, at));
        notices.push(NewNotification {
            topic,
            priority: None,
            recipient: recipient.clone(),
            variables: variables.clone(),
            subject: Some(("booking", booking_id.clone())),
            not_before: None,
            dedupe_key: None,
            sent_by: None,
            calendar,
        });
    }
    if row.status.is_upcoming() && row.payment_due_by.is_none() && row.offer_expires_at.is_none() {
        notices.extend(reminder(tenant, at, row, recipient, variables));
    }
    if !notices.is_empty() {
        tessera_notify::queue_all(txn, tenant_id, language_of(tenant, &customer), at, notices).await?;
    }
    Ok(())
}

/// The customer's booking's message variables (`Topic::variables` of the
/// booking topics), with its customer, read in the caller's transaction.
pub(crate) async fn booking_variables(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: &booking::Model,
) -> Result<(Option<customer::Model>, serde_json::Value)> {
    let customer = customer::Entity::find_by_id((row.tenant_id, row.customer_id)).one(txn).await?;
    let provider_name = provider::Entity::find_by_id((row.tenant_id, row.provider_id)).one(txn).await?.map(|p| p.name);
    let variables = variables_of(tenant, row, customer.as_ref(), provider_name);
    Ok((customer, variables))
}

fn variables_of(
    tenant: &Tenant,
    row: &booking::Model,
    customer: Option<&customer::Model>,
    provider_name: Option<String>,
) -> serde_json::Value {
    let tz: Tz = tenant.timezone.parse().unwrap_or(chrono_tz::UTC);
    json!({
        "businessName": tenant.name,
        "customerName": customer.map(|c| c.name.clone()).unwrap_or_default(),
        "serviceName": row.service_name,
        "providerName": provider_name.unwrap_or_default(),
        "startsAt": row.starts_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        "timezone": tenant.timezone,
        "bookingId": row.id,
    })
}

/// The language a customer's messages are written in: theirs, else the
/// business's.
pub(crate) fn language_of<'a>(tenant: &'a Tenant, customer: &'a customer::Model) -> &'a str {
    customer.language.as_deref().unwrap_or(&tenant.locale)
}

/// Where a customer's messages go.
pub(crate) fn recipient(customer: &customer::Model) -> Recipient {
    Recipient {
        user_id: customer.user_id,
        name: Some(customer.name.clone()),
        email: customer.email.clone(),
        phone: customer.phone.clone(),
    }
}

/// The reminder the tenant's settings ask for, unless its time has passed.
fn reminder(
    tenant: &Tenant,
    at: DateTime<Utc>,
    row: &booking::Model,
    recipient: Recipient,
    variables: serde_json::Value,
) -> Option<NewNotification> {
    let minutes = tenant.settings.booking_reminder_minutes;
    if minutes == 0 {
        return None;
    }
    let due = row.starts_at - Duration::minutes(i64::from(minutes));
    if due <= at {
        return None;
    }
    Some(NewNotification {
        topic: Topic::BookingReminder,
        priority: None,
        recipient,
        variables,
        subject: Some(("booking", row.id.to_string())),
        not_before: Some(due),
        dedupe_key: None,
        sent_by: None,
        calendar: None,
    })
}

/// `7500` `EUR` → `75.00 EUR`.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, (minor % 100).abs())
}
