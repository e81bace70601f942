use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, ProviderId, TenantId};

/// A resource a booking holds, and when; `active` follows the booking's
/// status (a trigger), and the database refuses two active holds of one
/// resource that overlap.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_resources")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) booking_id: BookingId,
    /// The resource: a provider with a resource type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) resource_id: ProviderId,
    pub(crate) held_from: DateTimeUtc,
    pub(crate) held_until: DateTimeUtc,
    pub(crate) active: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
