use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, BookingSeriesId, ClassSessionId, CustomerId, ProviderId, ServiceId, TenantId, UserId};

use crate::model::BookingStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: BookingId,
    pub(crate) provider_id: ProviderId,
    pub(crate) service_id: ServiceId,
    pub(crate) customer_id: CustomerId,
    pub(crate) status: BookingStatus,
    pub(crate) starts_at: DateTimeUtc,
    pub(crate) ends_at: DateTimeUtc,
    pub(crate) blocked_from: DateTimeUtc,
    pub(crate) blocked_until: DateTimeUtc,
    pub(crate) service_name: String,
    pub(crate) price_minor: i64,
    pub(crate) currency: String,
    pub(crate) duration_minutes: i32,
    pub(crate) notes: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) request_fingerprint: Option<String>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) confirmed_at: Option<DateTimeUtc>,
    pub(crate) started_at: Option<DateTimeUtc>,
    pub(crate) completed_at: Option<DateTimeUtc>,
    pub(crate) no_show_at: Option<DateTimeUtc>,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    pub(crate) cancelled_by: Option<UserId>,
    pub(crate) cancellation_reason: Option<String>,
    pub(crate) refund_minor: Option<i64>,
    pub(crate) payment_due_by: Option<DateTimeUtc>,
    /// The fees agreed to with a kept card ([`tessera_ledger::CardFees`] as
    /// JSON).
    pub(crate) card_fees: Option<String>,
    /// The class session a seat booking is in; `None` for an appointment.
    pub(crate) class_session_id: Option<ClassSessionId>,
    /// Seats taken (1 for an appointment).
    pub(crate) seats: i32,
    /// The series of recurring appointments it is part of, if any.
    pub(crate) series_id: Option<BookingSeriesId>,
    /// While set, the booking is a waitlist offer: it holds its time for its
    /// customer until then, unless accepted first.
    pub(crate) offer_expires_at: Option<DateTimeUtc>,
}

/// The rows a booking names, joined when a page of bookings is read with them
/// (`booking_reads.rs`); the database's foreign keys are in the migrations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(
        belongs_to = "super::provider::Entity",
        from = "(Column::TenantId, Column::ProviderId)",
        to = "(super::provider::Column::TenantId, super::provider::Column::Id)"
    )]
    Provider,
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "(Column::TenantId, Column::ServiceId)",
        to = "(super::service::Column::TenantId, super::service::Column::Id)"
    )]
    Service,
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "(Column::TenantId, Column::CustomerId)",
        to = "(super::customer::Column::TenantId, super::customer::Column::Id)"
    )]
    Customer,
}

impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
