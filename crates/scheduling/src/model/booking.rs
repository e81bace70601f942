//! Bookings: the status machine, what a booking holds (its add-ons, customer,
//! review), what creating one asks, and the list's filter.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{AddonId, BookingId, CustomerId, DomainError, ProviderId, Result, ServiceId, UserId};

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum BookingStatus {
    /// Booked, not yet confirmed.
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    /// Confirmed by the business.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// The appointment is under way.
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// Done.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Cancelled; its time is free again.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// The customer did not come.
    #[sea_orm(string_value = "no_show")]
    NoShow,
}

impl BookingStatus {
    /// The statuses a booking may move to from this one.
    pub fn next(self) -> &'static [BookingStatus] {
        use BookingStatus::*;
        match self {
            Scheduled => &[Confirmed, InProgress, Cancelled, NoShow],
            Confirmed => &[InProgress, Cancelled, NoShow],
            InProgress => &[Completed],
            Completed | Cancelled | NoShow => &[],
        }
    }

    /// The status name as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Confirmed => "CONFIRMED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::NoShow => "NO_SHOW",
        }
    }

    /// Checks that moving to `to` is allowed.
    pub fn transition(self, to: BookingStatus) -> Result<BookingStatus> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(DomainError::invalid("status", format!("a {} booking cannot become {}", self.as_str(), to.as_str())))
        }
    }

    /// Whether the booking still holds its time (and can be moved).
    pub fn is_upcoming(self) -> bool {
        matches!(self, Self::Scheduled | Self::Confirmed)
    }
}

/// An add-on as it was when booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedAddon {
    /// The add-on.
    pub addon_id: AddonId,
    /// Its name then.
    pub name: String,
    /// Its price then.
    pub price_minor: i64,
    /// Its minutes then.
    pub duration_minutes: i32,
}

/// An appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Id.
    pub id: BookingId,
    /// Who performs it.
    pub provider_id: ProviderId,
    /// What.
    pub service_id: ServiceId,
    /// For whom.
    pub customer_id: CustomerId,
    /// Status.
    pub status: BookingStatus,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (service and add-ons, without buffers).
    pub ends_at: DateTime<Utc>,
    /// The service's name when booked.
    pub service_name: String,
    /// Total price when booked (service + add-ons), minor units.
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// Total minutes (service + add-ons).
    pub duration_minutes: i32,
    /// Notes.
    pub notes: Option<String>,
    /// Who booked it.
    pub created_by: Option<UserId>,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was marked a no-show.
    pub no_show_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Who cancelled it.
    pub cancelled_by: Option<UserId>,
    /// Why.
    pub cancellation_reason: Option<String>,
    /// Refund due under the cancellation policy, minor units.
    pub refund_minor: Option<i64>,
    /// While set, the booking waits for its payment and holds its time only
    /// until then (it is "awaiting payment"); it stays set on a booking
    /// whose hold ended unpaid.
    pub payment_due_by: Option<DateTime<Utc>>,
    /// The fees the customer agreed to when booking with a kept card (a
    /// no-show, a late cancellation), if the business keeps one.
    pub card_fees: Option<tessera_ledger::CardFees>,
    /// The class session a seat booking is in; `None` for an appointment.
    pub class_session_id: Option<tessera_kernel::ClassSessionId>,
    /// Seats it takes (1 for an appointment).
    pub seats: i32,
    /// The series of recurring appointments it is part of, if any.
    pub series_id: Option<tessera_kernel::BookingSeriesId>,
    /// While set, the booking is a waitlist offer to its customer: it holds
    /// its time until then unless they accept it.
    pub offer_expires_at: Option<DateTime<Utc>>,
}

impl Booking {
    /// Whether it holds its time only until its payment is due.
    pub fn awaits_payment(&self) -> bool {
        self.status == BookingStatus::Scheduled && self.payment_due_by.is_some()
    }
}

/// What booking an appointment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    /// The service.
    pub service_id: ServiceId,
    /// The provider.
    pub provider_id: ProviderId,
    /// Who it is for.
    pub customer: BookingCustomer,
    /// Start (whole minutes).
    pub starts_at: DateTime<Utc>,
    /// Add-ons of the service.
    pub addon_ids: Vec<AddonId>,
    /// Notes.
    pub notes: Option<String>,
    /// A client-chosen key: the same key books once, however often it is sent.
    pub idempotency_key: Option<String>,
}

/// Who a new booking is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingCustomer {
    /// A customer record of the tenant (needs `booking:create`, or that record
    /// being the actor's own with `booking:create_own`).
    Existing(CustomerId),
    /// The actor themselves: their linked customer record, created from their
    /// account on their first booking in the tenant.
    Myself(CustomerProfile),
}

/// What a customer record made from an account starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerProfile {
    /// The account's display name.
    pub name: String,
    /// The account's email.
    pub email: Option<String>,
}

/// A customer's review of a completed booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Id.
    pub id: uuid::Uuid,
    /// The booking.
    pub booking_id: BookingId,
    /// The provider reviewed.
    pub provider_id: ProviderId,
    /// 1 to 5.
    pub rating: i16,
    /// Comment.
    pub comment: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Filters for listing bookings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingFilter {
    /// Starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    pub to: Option<DateTime<Utc>>,
    /// Of this provider.
    pub provider_id: Option<ProviderId>,
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// In one of these statuses.
    pub statuses: Vec<BookingStatus>,
    /// The seats of this class session (its roster).
    pub class_session_id: Option<tessera_kernel::ClassSessionId>,
    /// The occurrences of this series.
    pub series_id: Option<tessera_kernel::BookingSeriesId>,
}
