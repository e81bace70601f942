use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, CustomerId, ProviderId, TenantId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) booking_id: BookingId,
    pub(crate) provider_id: ProviderId,
    pub(crate) customer_id: CustomerId,
    pub(crate) rating: i16,
    pub(crate) comment: Option<String>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
