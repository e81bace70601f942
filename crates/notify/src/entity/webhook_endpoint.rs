use sea_orm::entity::prelude::*;
use tessera_kernel::{TenantId, WebhookEndpointId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: WebhookEndpointId,
    pub(crate) url: String,
    pub(crate) description: Option<String>,
    /// JSON array of event types; empty for all.
    pub(crate) topics: String,
    /// Kept in the clear: signing needs it (as with every webhook sender).
    pub(crate) secret: String,
    pub(crate) previous_secret: Option<String>,
    pub(crate) previous_secret_expires_at: Option<DateTimeUtc>,
    pub(crate) active: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
