use sea_orm::entity::prelude::*;
use tessera_kernel::{CustomerId, ProviderId, TenantId, UserId};

/// A calendar feed's secret URL, for one provider or one customer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) provider_id: Option<ProviderId>,
    pub(crate) customer_id: Option<CustomerId>,
    pub(crate) token_hash: String,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
