use sea_orm::entity::prelude::*;

/// A fixed-window counter; see `crate::rate_window`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_windows")]
pub(crate) struct Model {
    /// SHA-256 of what is counted (`sign-up-address:ana@example.com`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) key: String,
    pub(crate) started_at: DateTimeUtc,
    pub(crate) used: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
