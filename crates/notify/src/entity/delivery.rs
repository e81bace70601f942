use sea_orm::entity::prelude::*;
use tessera_kernel::{DeliveryId, NotificationId, TenantId};

use crate::model::{Channel, DeliveryStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_deliveries")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: DeliveryId,
    pub(crate) notification_id: NotificationId,
    pub(crate) channel: Channel,
    pub(crate) destination: String,
    pub(crate) status: DeliveryStatus,
    /// `Priority::rank`, so the worker orders without a join.
    pub(crate) priority: i16,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: DateTimeUtc,
    /// A worker holds the delivery until then; a crashed worker's lease runs out.
    pub(crate) lease_until: Option<DateTimeUtc>,
    pub(crate) last_error: Option<String>,
    pub(crate) provider_message_id: Option<String>,
    pub(crate) sent_at: Option<DateTimeUtc>,
    pub(crate) opened_at: Option<DateTimeUtc>,
    /// SHA-256 of the token in the email's tracking pixel.
    pub(crate) open_token_hash: Option<String>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
