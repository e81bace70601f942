use sea_orm::entity::prelude::*;
use tessera_kernel::{ApiKeyId, UserId};

/// A personal API key; only its visible prefix and its hash are kept.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ApiKeyId,
    pub(crate) user_id: UserId,
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) key_hash: String,
    /// Whether it was made from a session that began with a second factor.
    pub(crate) second_factor: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) expires_at: Option<DateTimeUtc>,
    pub(crate) last_used_at: Option<DateTimeUtc>,
    pub(crate) revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
