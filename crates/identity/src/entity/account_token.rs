use sea_orm::entity::prelude::*;
use tessera_kernel::UserId;

use crate::model::TokenPurpose;

/// A single-use link token (email verification, password reset), kept as a hash.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) user_id: UserId,
    pub(crate) purpose: TokenPurpose,
    pub(crate) token_hash: String,
    /// The address the link was sent to: a token for an address the account no
    /// longer has proves nothing.
    pub(crate) email: String,
    pub(crate) expires_at: DateTimeUtc,
    pub(crate) used_at: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
