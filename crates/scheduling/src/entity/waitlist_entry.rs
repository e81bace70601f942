use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, CustomerId, ProviderId, ServiceId, TenantId, UserId, WaitlistEntryId};

use crate::model::WaitlistStatus;

/// A customer waiting for a service, and the offer they hold, if any.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "waitlist_entries")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: WaitlistEntryId,
    pub(crate) customer_id: CustomerId,
    pub(crate) service_id: ServiceId,
    /// One provider, or `None` for whoever offers the service.
    pub(crate) provider_id: Option<ProviderId>,
    /// The local dates the customer can come on (inclusive), if they said.
    pub(crate) earliest_date: Option<Date>,
    pub(crate) latest_date: Option<Date>,
    pub(crate) notes: Option<String>,
    pub(crate) status: WaitlistStatus,
    /// The booking offered (then booked), and until when the offer holds.
    pub(crate) offer_booking_id: Option<BookingId>,
    pub(crate) offered_at: Option<DateTimeUtc>,
    pub(crate) offer_expires_at: Option<DateTimeUtc>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
