use sea_orm::entity::prelude::*;
use tessera_kernel::{NotificationId, UserId};

use crate::model::{DeliveryStatus, Priority};

/// An account message and its one email delivery (global: no tenant owns it).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_messages")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: NotificationId,
    pub(crate) topic: String,
    pub(crate) priority: Priority,
    pub(crate) recipient_user_id: Option<UserId>,
    pub(crate) recipient_name: Option<String>,
    pub(crate) recipient_email: String,
    pub(crate) locale: String,
    /// JSON: the template's variables; `{}` once a secret in them is forgotten.
    pub(crate) variables: String,
    pub(crate) subject_type: Option<String>,
    pub(crate) subject_id: Option<String>,
    /// The message as rendered when queued; `body` is forgotten with a secret.
    pub(crate) title: Option<String>,
    pub(crate) body: Option<String>,
    pub(crate) status: DeliveryStatus,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: DateTimeUtc,
    /// A worker holds the message until then; a crashed worker's lease runs out.
    pub(crate) lease_until: Option<DateTimeUtc>,
    pub(crate) last_error: Option<String>,
    pub(crate) provider_message_id: Option<String>,
    pub(crate) sent_at: Option<DateTimeUtc>,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
