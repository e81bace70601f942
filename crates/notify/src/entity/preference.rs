use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preferences")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    /// A user id, or `tenant` for the tenant's defaults.
    pub(crate) owner: String,
    pub(crate) email: Option<bool>,
    pub(crate) sms: Option<bool>,
    pub(crate) push: Option<bool>,
    pub(crate) in_app: Option<bool>,
    /// `HH:MM`, local to `timezone`.
    pub(crate) quiet_start: Option<String>,
    pub(crate) quiet_end: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) updated_at: DateTimeUtc,
    /// `HH:MM`, local to `digest_timezone`: when the daily digest goes.
    pub(crate) digest_at: Option<String>,
    pub(crate) digest_timezone: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
