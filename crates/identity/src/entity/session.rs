use sea_orm::entity::prelude::*;
use tessera_kernel::{SessionId, UserId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: SessionId,
    pub(crate) user_id: UserId,
    pub(crate) token_hash: String,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) last_used_at: DateTimeUtc,
    pub(crate) idle_expires_at: DateTimeUtc,
    pub(crate) absolute_expires_at: DateTimeUtc,
    pub(crate) revoked_at: Option<DateTimeUtc>,
    pub(crate) revoked_reason: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
    /// Whether it was started with a second factor.
    pub(crate) second_factor: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
