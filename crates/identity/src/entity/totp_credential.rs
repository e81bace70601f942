use sea_orm::entity::prelude::*;
use tessera_kernel::UserId;

/// A user's TOTP authenticator; unconfirmed until a first code proves it works.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_credentials")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) user_id: UserId,
    /// Base32, as the authenticator app has it.
    pub(crate) secret: String,
    pub(crate) confirmed_at: Option<DateTimeUtc>,
    /// The last time step whose code was accepted: later codes only.
    pub(crate) last_used_step: Option<i64>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
