use sea_orm::entity::prelude::*;

/// An event a payment provider sent (global).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) event_id: String,
    pub(crate) kind: String,
    pub(crate) payload: String,
    pub(crate) received_at: DateTimeUtc,
    pub(crate) processed_at: Option<DateTimeUtc>,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: Option<DateTimeUtc>,
    pub(crate) last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
