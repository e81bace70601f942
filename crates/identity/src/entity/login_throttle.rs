use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub(crate) struct Model {
    /// SHA-256 of the normalised email, so unknown emails are throttled alike.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) account_key: String,
    pub(crate) failed_count: i32,
    pub(crate) last_failed_at: DateTimeUtc,
    pub(crate) locked_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
