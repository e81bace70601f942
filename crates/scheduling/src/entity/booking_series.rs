use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingSeriesId, CustomerId, ProviderId, ServiceId, TenantId, UserId};

/// A series of recurring appointments: an RFC 5545 rule from a first local
/// date and time; its occurrences are bookings naming it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_series")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: BookingSeriesId,
    pub(crate) service_id: ServiceId,
    pub(crate) provider_id: ProviderId,
    pub(crate) customer_id: CustomerId,
    /// `FREQ=WEEKLY;…`, from `first_date` at `start_minute` (local).
    pub(crate) rule: String,
    pub(crate) first_date: Date,
    pub(crate) start_minute: i32,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    /// The key the request was made with, and a digest of the request.
    pub(crate) idempotency_key: Option<String>,
    pub(crate) request_fingerprint: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
