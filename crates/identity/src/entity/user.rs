use sea_orm::entity::prelude::*;
use tessera_kernel::UserId;

use crate::model::UserStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: UserId,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) password_hash: String,
    pub(crate) status: UserStatus,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) last_login_at: Option<DateTimeUtc>,
    pub(crate) email_verified_at: Option<DateTimeUtc>,
    pub(crate) status_reason: Option<String>,
    pub(crate) status_changed_at: Option<DateTimeUtc>,
    pub(crate) status_changed_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
