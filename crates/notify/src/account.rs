//! Account messages: the platform's own ("confirm your sign-up", "reset your
//! password"), about accounts no tenant owns. Like a tenant's notifications
//! they are queued in the transaction of the change that causes them, but in
//! their own outbox (`account_messages`: a message and its one email delivery;
//! `account_message_attempts`: its delivery log), so every row of the
//! notification tables belongs to a tenant and a distributed database can keep
//! it with that tenant. They use the built-in templates, with no preferences
//! in the way (every one of them is urgent); the delivery worker sends them
//! (`worker_account.rs`).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tessera_kernel::{DomainError, NotificationId, Result};

use crate::entity::account_message;
use crate::model::{DeliveryStatus, NewNotification, Topic};
use crate::template;

/// Queues an account message (`password.reset`, `account.sign_up`) by email,
/// in `conn`, the causing transaction, outside any tenant. Returns `None`
/// when the recipient has no address.
pub async fn queue_account_message<C: ConnectionTrait>(
    conn: &C,
    locale: &str,
    at: DateTime<Utc>,
    new: NewNotification,
) -> Result<Option<NotificationId>> {
    if !new.topic.is_account_message() {
        return Err(DomainError::Internal(format!("{} is not an account message", new.topic.as_str())));
    }
    if new.dedupe_key.is_some() {
        return Err(DomainError::Internal("account messages are not de-duplicated by key".into()));
    }
    let Some(email) = new.recipient.email.clone().filter(|email| !email.is_empty()) else { return Ok(None) };
    // Microseconds, as both databases keep them (see `queue`).
    let at = at.trunc_subsecs(6);
    let rendered = template::render(new.topic, locale, &new.variables)?;
    let id = NotificationId::generate(at);
    account_message::Entity::insert(account_message::ActiveModel {
        id: Set(id),
        topic: Set(new.topic.as_str().to_owned()),
        priority: Set(new.priority.unwrap_or_else(|| new.topic.default_priority())),
        recipient_user_id: Set(new.recipient.user_id),
        recipient_name: Set(new.recipient.name.clone()),
        recipient_email: Set(email),
        locale: Set(locale.to_owned()),
        variables: Set(new.variables.to_string()),
        subject_type: Set(new.subject.as_ref().map(|(kind, _)| (*kind).to_owned())),
        subject_id: Set(new.subject.as_ref().map(|(_, id)| id.clone())),
        title: Set(Some(rendered.title)),
        body: Set(Some(rendered.text)),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(new.not_before.unwrap_or(at).max(at)),
        lease_until: Set(None),
        last_error: Set(None),
        provider_message_id: Set(None),
        sent_at: Set(None),
        cancelled_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(Some(id))
}

/// Withdraws the account messages of `topic` about `subject` (sign-up links
/// made useless by the account they created): each is marked withdrawn, and
/// one not sent yet is not sent, and forgets its link. Returns how many were
/// still to send.
pub async fn withdraw_account_messages<C: ConnectionTrait>(
    conn: &C,
    subject: (&str, &str),
    topic: Topic,
    at: DateTime<Utc>,
) -> Result<u64> {
    let about = || {
        account_message::Entity::update_many()
            .col_expr(account_message::Column::CancelledAt, Expr::value(at))
            .col_expr(account_message::Column::UpdatedAt, Expr::value(at))
            .filter(account_message::Column::SubjectType.eq(subject.0))
            .filter(account_message::Column::SubjectId.eq(subject.1))
            .filter(account_message::Column::Topic.eq(topic.as_str()))
            .filter(account_message::Column::CancelledAt.is_null())
    };
    let mut unsent = about()
        .col_expr(account_message::Column::Status, Expr::value(DeliveryStatus::Cancelled))
        .filter(account_message::Column::Status.eq(DeliveryStatus::Pending));
    if topic.carries_secret() {
        // Never to be sent: the outbox must not keep the link either.
        unsent = unsent
            .col_expr(account_message::Column::Variables, Expr::value("{}"))
            .col_expr(account_message::Column::Body, Expr::value(Option::<String>::None));
    }
    let unsent = unsent.exec(conn).await?;
    about().exec(conn).await?;
    Ok(unsent.rows_affected)
}
