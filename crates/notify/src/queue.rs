//! Queuing notifications inside the transaction of the change that causes them:
//! the change and its messages commit together or not at all, and the worker
//! finds them afterwards (the outbox pattern).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::{DeliveryId, NotificationId, Result, TenantId, UserId};

use crate::entity::{delivery, notification, webhook_endpoint};
use crate::model::{Channel, DeliveryStatus, NewNotification, Priority, Topic};
use crate::preference;
use crate::template;
use crate::webhook::endpoint_topics;

/// Queues `new` for its recipient in `conn`, the causing transaction, on the
/// topic's channels the recipient can be reached on (email with an address, SMS
/// with a phone, push and in-app with an account). A message due now appears in
/// the recipient's inbox at once; the rest waits for the worker. Returns `None`
/// when a message with the same dedupe key was queued before, or when the
/// recipient cannot be reached at all.
pub async fn queue<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    locale: &str,
    at: DateTime<Utc>,
    new: NewNotification,
) -> Result<Option<NotificationId>> {
    Ok(queue_all(conn, tenant_id, locale, at, vec![new]).await?.pop().flatten())
}

/// How many `topic` messages `tenant_id` queued since `since`, and when the
/// oldest of them was queued: for limits per period. Withdrawn ones count too
/// (withdrawing does not tell whether a message had gone out already).
pub async fn queued_since<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    topic: Topic,
    since: DateTime<Utc>,
) -> Result<(u64, Option<DateTime<Utc>>)> {
    let counted: Option<(i64, Option<DateTime<Utc>>)> = notification::Entity::find()
        .select_only()
        .column_as(notification::Column::Id.count(), "sent")
        .column_as(notification::Column::CreatedAt.min(), "oldest")
        .filter(notification::Column::TenantId.eq(tenant_id))
        .filter(notification::Column::Topic.eq(topic.as_str()))
        .filter(notification::Column::CreatedAt.gte(since))
        .into_tuple()
        .one(conn)
        .await?;
    let (sent, oldest) = counted.unwrap_or((0, None));
    Ok((u64::try_from(sent).unwrap_or(0), oldest))
}

/// A message (its place in the call) that can reach its recipient somewhere.
type Reachable = (usize, NewNotification, Vec<(Channel, String)>);

/// A message about to be queued, with where it goes.
struct Planned {
    index: usize,
    id: NotificationId,
    recipient_user_id: Option<UserId>,
    priority: Priority,
    not_before: DateTime<Utc>,
    destinations: Vec<(Channel, String)>,
}

/// [`queue`] for several messages one change causes (a booking's confirmation
/// and its reminder): the tenant's templates and the recipients' preferences
/// are read once, and the messages and their deliveries written in one insert
/// each (a keyed message, which may be a duplicate, in its own). Returns each
/// message's id, or `None`, in order.
pub async fn queue_all<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    locale: &str,
    at: DateTime<Utc>,
    notices: Vec<NewNotification>,
) -> Result<Vec<Option<NotificationId>>> {
    // Microseconds, as both databases keep them: a message due "now" must compare
    // as due against the worker's (equally truncated) clock, also on SQLite,
    // which compares the stored text.
    let at = at.trunc_subsecs(6);
    let mut queued = vec![None; notices.len()];
    let reachable: Vec<Reachable> = notices
        .into_iter()
        .enumerate()
        .filter_map(|(index, new)| {
            let destinations = destinations(&new);
            (!destinations.is_empty()).then_some((index, new, destinations))
        })
        .collect();
    if reachable.is_empty() {
        return Ok(queued);
    }
    // Rendered now, with the tenant's templates as they are: the message is the
    // one the change called for, whenever it is sent.
    let topics: Vec<Topic> = reachable.iter().map(|(_, new, _)| new.topic).collect();
    let customs = template::customs_for(conn, tenant_id, &topics, locale).await?;
    let mut planned = Vec::with_capacity(reachable.len());
    let mut unkeyed = Vec::new();
    for (index, new, destinations) in reachable {
        let priority = new.priority.unwrap_or_else(|| new.topic.default_priority());
        let not_before = new.not_before.unwrap_or(at).max(at);
        let rendered = template::render_with(&customs, tenant_id, new.topic, locale, &new.variables)?;
        let id = NotificationId::generate(at);
        let row = notification_row(tenant_id, id, &new, (priority, not_before, at), locale, rendered);
        if new.dedupe_key.is_some() {
            // Only a keyed message can be a duplicate.
            let keyed = OnConflict::columns([notification::Column::TenantId, notification::Column::DedupeKey])
                .do_nothing()
                .to_owned();
            if notification::Entity::insert(row).on_conflict(keyed).exec_without_returning(conn).await? == 0 {
                continue;
            }
        } else {
            unkeyed.push(row);
        }
        let recipient_user_id = new.recipient.user_id;
        planned.push(Planned { index, id, recipient_user_id, priority, not_before, destinations });
    }
    if !unkeyed.is_empty() {
        notification::Entity::insert_many(unkeyed).exec_without_returning(conn).await?;
    }
    let users: Vec<Option<UserId>> = planned.iter().map(|p| p.recipient_user_id).collect();
    let preferences = preference::effective_for_each(conn, tenant_id, &users).await?;
    let mut deliveries = Vec::new();
    let mut delivered_in_app = Vec::new();
    for (message, preferences) in planned.into_iter().zip(preferences) {
        let due_now = message.not_before <= at;
        for (offset, (channel, destination)) in message.destinations.into_iter().enumerate() {
            // An in-app message due now is delivered by being stored, unless the
            // recipient turned in-app messages off.
            let in_app_now = channel == Channel::InApp && due_now;
            let state = match preferences.refuses(channel, message.priority) {
                Some(_) if in_app_now => DeliveryStatus::Skipped,
                _ if in_app_now => DeliveryStatus::Sent,
                _ => DeliveryStatus::Pending,
            };
            if state == DeliveryStatus::Sent {
                delivered_in_app.push((message.id, message.recipient_user_id));
            }
            let when = (message.not_before, at, offset);
            deliveries.push(delivery_row(tenant_id, message.id, channel, destination, message.priority, when, state));
        }
        queued[message.index] = Some(message.id);
    }
    insert_deliveries(conn, deliveries).await?;
    for (id, user_id) in delivered_in_app {
        if let Some(user_id) = user_id {
            announce_in_app(conn, tenant_id, id, user_id, at).await?;
        }
    }
    Ok(queued)
}

/// The topic's channels `new`'s recipient can be reached on, with the address.
fn destinations(new: &NewNotification) -> Vec<(Channel, String)> {
    let recipient = &new.recipient;
    new.topic
        .default_channels()
        .iter()
        .filter_map(|channel| {
            let destination = match channel {
                Channel::Email => recipient.email.clone(),
                Channel::Sms => recipient.phone.clone(),
                Channel::Push | Channel::InApp => recipient.user_id.map(|u| u.to_string()),
                Channel::Webhook => None,
            };
            destination.filter(|d| !d.is_empty()).map(|d| (*channel, d))
        })
        .collect()
}

/// `new`'s row; `when` is (priority, not before, now).
fn notification_row(
    tenant_id: TenantId,
    id: NotificationId,
    new: &NewNotification,
    (priority, not_before, at): (Priority, DateTime<Utc>, DateTime<Utc>),
    locale: &str,
    rendered: template::Rendered,
) -> notification::ActiveModel {
    let recipient = &new.recipient;
    notification::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        topic: Set(new.topic.as_str().to_owned()),
        priority: Set(priority),
        recipient_user_id: Set(recipient.user_id),
        recipient_name: Set(recipient.name.clone()),
        recipient_email: Set(recipient.email.clone()),
        recipient_phone: Set(recipient.phone.clone()),
        locale: Set(locale.to_owned()),
        variables: Set(new.variables.to_string()),
        subject_type: Set(new.subject.as_ref().map(|(kind, _)| (*kind).to_owned())),
        subject_id: Set(new.subject.as_ref().map(|(_, id)| id.clone())),
        dedupe_key: Set(new.dedupe_key.clone()),
        not_before: Set(not_before),
        created_at: Set(at),
        read_at: Set(None),
        cancelled_at: Set(None),
        title: Set(Some(rendered.title)),
        body: Set(Some(rendered.text)),
        sent_by: Set(new.sent_by),
        calendar: Set(new.calendar.clone()),
    }
}

/// Queues a webhook event (`booking.created` with its data) for every active
/// endpoint of the tenant that subscribed to it, in `conn`, the causing
/// transaction. Returns `None` when no endpoint wants it.
pub async fn queue_event<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    at: DateTime<Utc>,
    event_type: &str,
    subject: (&str, String),
    data: Value,
) -> Result<Option<NotificationId>> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(tenant_id))
        .filter(webhook_endpoint::Column::Active.eq(true))
        .all(conn)
        .await?;
    let wanted: Vec<_> = endpoints
        .into_iter()
        .filter(|e| {
            let topics = endpoint_topics(&e.topics);
            topics.is_empty() || topics.iter().any(|t| t == event_type)
        })
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let id = NotificationId::generate(at);
    notification::Entity::insert(notification::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        topic: Set(event_type.to_owned()),
        priority: Set(Priority::Normal),
        recipient_user_id: Set(None),
        recipient_name: Set(None),
        recipient_email: Set(None),
        recipient_phone: Set(None),
        locale: Set(String::new()),
        variables: Set(data.to_string()),
        subject_type: Set(Some(subject.0.to_owned())),
        subject_id: Set(Some(subject.1)),
        dedupe_key: Set(None),
        not_before: Set(at),
        created_at: Set(at),
        read_at: Set(None),
        cancelled_at: Set(None),
        title: Set(None),
        body: Set(None),
        sent_by: Set(None),
        calendar: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    let deliveries = wanted.into_iter().enumerate().map(|(offset, endpoint)| {
        let destination = endpoint.id.to_string();
        let when = (at, at, offset);
        delivery_row(tenant_id, id, Channel::Webhook, destination, Priority::Normal, when, DeliveryStatus::Pending)
    });
    insert_deliveries(conn, deliveries.collect()).await?;
    Ok(Some(id))
}

/// Withdraws the person notifications about `subject` on `topic` that are not
/// sent yet (a reminder of a booking that moved or was cancelled), in `conn`.
/// Returns how many deliveries were withdrawn.
pub async fn withdraw<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    subject: (&str, &str),
    topic: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let ids: Vec<NotificationId> = notification::Entity::find()
        .filter(notification::Column::TenantId.eq(tenant_id))
        .filter(notification::Column::SubjectType.eq(subject.0))
        .filter(notification::Column::SubjectId.eq(subject.1))
        .filter(notification::Column::Topic.eq(topic))
        .filter(notification::Column::CancelledAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    notification::Entity::update_many()
        .col_expr(notification::Column::CancelledAt, Expr::value(at))
        .filter(notification::Column::TenantId.eq(tenant_id))
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    let withdrawn = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Cancelled))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(at))
        .filter(delivery::Column::TenantId.eq(tenant_id))
        .filter(delivery::Column::NotificationId.is_in(ids))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(conn)
        .await?;
    Ok(withdrawn.rows_affected)
}

/// A delivery of `notification_id` over `channel`; `when` is (not before, now,
/// its place among the notification's deliveries).
fn delivery_row(
    tenant_id: TenantId,
    notification_id: NotificationId,
    channel: Channel,
    destination: String,
    priority: Priority,
    (not_before, at, offset): (DateTime<Utc>, DateTime<Utc>, usize),
    status: DeliveryStatus,
) -> delivery::ActiveModel {
    // Distinct v7 ids for deliveries made in the same instant.
    let id_at = at + chrono::Duration::microseconds(i64::try_from(offset).unwrap_or(0));
    delivery::ActiveModel {
        id: Set(DeliveryId::generate(id_at)),
        tenant_id: Set(tenant_id),
        notification_id: Set(notification_id),
        channel: Set(channel),
        destination: Set(destination),
        status: Set(status),
        priority: Set(priority.rank()),
        attempts: Set(0),
        next_attempt_at: Set(not_before),
        lease_until: Set(None),
        last_error: Set(
            (status == DeliveryStatus::Skipped).then(|| "the recipient turned in-app messages off".to_owned())
        ),
        provider_message_id: Set(None),
        sent_at: Set((status == DeliveryStatus::Sent).then_some(at)),
        opened_at: Set(None),
        open_token_hash: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// Writes a notification's deliveries in one statement.
async fn insert_deliveries<C: ConnectionTrait>(conn: &C, rows: Vec<delivery::ActiveModel>) -> Result<()> {
    if !rows.is_empty() {
        delivery::Entity::insert_many(rows).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// Tells the recipient's live inbox (the `notificationReceived` subscription)
/// once the transaction commits.
pub(crate) async fn announce_in_app<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    id: NotificationId,
    user_id: UserId,
    at: DateTime<Utc>,
) -> Result<()> {
    let payload = json!({ "recipientUserId": user_id });
    event::enqueue(conn, &DomainEvent::new(at, tenant_id, EventKind::NotificationCreated, id.as_uuid(), payload))
        .await?;
    Ok(())
}
