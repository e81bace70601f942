use sea_orm::entity::prelude::*;
use tessera_kernel::{NotificationId, TenantId, UserId};

use crate::model::Priority;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: NotificationId,
    /// A person's topic (`booking.confirmed`) or a webhook event type.
    pub(crate) topic: String,
    pub(crate) priority: Priority,
    pub(crate) recipient_user_id: Option<UserId>,
    pub(crate) recipient_name: Option<String>,
    pub(crate) recipient_email: Option<String>,
    pub(crate) recipient_phone: Option<String>,
    pub(crate) locale: String,
    /// JSON: the template's variables, or the webhook event's data.
    pub(crate) variables: String,
    pub(crate) subject_type: Option<String>,
    pub(crate) subject_id: Option<String>,
    pub(crate) dedupe_key: Option<String>,
    pub(crate) not_before: DateTimeUtc,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) read_at: Option<DateTimeUtc>,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    /// The message as rendered when queued (a person's notification).
    pub(crate) title: Option<String>,
    pub(crate) body: Option<String>,
    /// Who had it sent, when a person did (see `NewNotification::sent_by`).
    pub(crate) sent_by: Option<UserId>,
    /// The iCalendar file its email carries (a booking's event), if any.
    pub(crate) calendar: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
