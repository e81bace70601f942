//! The waitlist's types: an entry, where it stands, and what joining asks.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use tessera_kernel::{BookingId, CustomerId, ProviderId, ServiceId, UserId, WaitlistEntryId};

use super::BookingCustomer;

/// Where a waitlist entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WaitlistStatus {
    /// Waiting for a time to free.
    #[sea_orm(string_value = "waiting")]
    Waiting,
    /// Offered a time, held for the customer until the offer expires.
    #[sea_orm(string_value = "offered")]
    Offered,
    /// The offer was accepted: the booking is theirs.
    #[sea_orm(string_value = "booked")]
    Booked,
    /// The customer (or the business for them) turned the offer down.
    #[sea_orm(string_value = "declined")]
    Declined,
    /// The offer ran out before it was accepted.
    #[sea_orm(string_value = "expired")]
    Expired,
    /// The customer left the waitlist (or the business took them off it).
    #[sea_orm(string_value = "left")]
    Left,
}

impl WaitlistStatus {
    /// Whether the entry still waits or holds an offer.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Waiting | Self::Offered)
    }

    /// The name clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "WAITING",
            Self::Offered => "OFFERED",
            Self::Booked => "BOOKED",
            Self::Declined => "DECLINED",
            Self::Expired => "EXPIRED",
            Self::Left => "LEFT",
        }
    }
}

/// A customer's place on a service's waitlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistEntry {
    /// Id (time-ordered: the queue's order).
    pub id: WaitlistEntryId,
    /// Who waits.
    pub customer_id: CustomerId,
    /// For what.
    pub service_id: ServiceId,
    /// With whom; `None` for anyone who offers the service.
    pub provider_id: Option<ProviderId>,
    /// The first local date they can come on.
    pub earliest_date: Option<NaiveDate>,
    /// The last local date they can come on.
    pub latest_date: Option<NaiveDate>,
    /// What they told the business.
    pub notes: Option<String>,
    /// Where it stands.
    pub status: WaitlistStatus,
    /// The booking offered, then booked.
    pub offer_booking_id: Option<BookingId>,
    /// When the time was offered.
    pub offered_at: Option<DateTime<Utc>>,
    /// Until when the offer holds.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Who put them on the list.
    pub created_by: Option<UserId>,
    /// When they joined.
    pub created_at: DateTime<Utc>,
    /// When it stopped waiting (booked, declined, expired or left).
    pub closed_at: Option<DateTime<Utc>>,
}

/// What joining a waitlist needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWaitlistEntry {
    /// The service.
    pub service_id: ServiceId,
    /// One provider, or anyone who offers the service.
    pub provider_id: Option<ProviderId>,
    /// Who waits (the actor themselves, or a customer of the business).
    pub customer: BookingCustomer,
    /// The first local date they can come on (today when absent).
    pub earliest_date: Option<NaiveDate>,
    /// The last local date (inclusive); at most
    /// [`MAX_WAITLIST_DAYS`](crate::MAX_WAITLIST_DAYS) after the first.
    pub latest_date: Option<NaiveDate>,
    /// Notes for the business.
    pub notes: Option<String>,
}

/// Filters for listing waitlist entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitlistFilter {
    /// Of this service.
    pub service_id: Option<ServiceId>,
    /// Of this provider (entries for anyone are not included).
    pub provider_id: Option<ProviderId>,
    /// Of this customer.
    pub customer_id: Option<CustomerId>,
    /// In one of these statuses (the open ones when empty).
    pub statuses: Vec<WaitlistStatus>,
}
