use sea_orm::entity::prelude::*;
use tessera_kernel::NotificationId;

use crate::model::AttemptOutcome;

/// One try at sending an account message: its delivery log.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_message_attempts")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) message_id: NotificationId,
    pub(crate) number: i32,
    pub(crate) started_at: DateTimeUtc,
    pub(crate) finished_at: DateTimeUtc,
    pub(crate) outcome: AttemptOutcome,
    pub(crate) response: Option<String>,
    pub(crate) error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
