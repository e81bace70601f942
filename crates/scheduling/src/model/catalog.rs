//! The catalogue's types: providers with their weekly hours and dated
//! exceptions, services and add-ons, customers; each with its input and patch.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{AddonId, CustomerId, DomainError, ProviderId, Result, ScheduleExceptionId, ServiceId, UserId};

/// How a provider works for the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum ProviderType {
    /// On the payroll.
    #[sea_orm(string_value = "employee")]
    Employee,
    /// An independent contractor.
    #[sea_orm(string_value = "contractor")]
    Contractor,
    /// A consultant.
    #[sea_orm(string_value = "consultant")]
    Consultant,
}

/// Whether an exception closes time or opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum ExceptionKind {
    /// Time off or a holiday: the window (or the whole day) is not bookable.
    #[sea_orm(string_value = "closed")]
    Closed,
    /// Special opening hours; their [`OpeningMode`] says whether they replace the
    /// day's weekly hours or add to them.
    #[sea_orm(string_value = "open")]
    Open,
}

/// How special opening hours combine with the day's weekly hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OpeningMode {
    /// The day's weekly hours do not apply; only the special hours (and any other
    /// openings) do. A short Saturday, a late-opening day.
    ReplaceWeeklyHours,
    /// The special hours are worked besides the weekly hours: opening over lunch,
    /// an extra evening.
    AddToWeeklyHours,
}

/// A window of local time within a day, in minutes since midnight (`end` may be
/// 1440, midnight of the next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayWindow {
    /// First minute.
    pub start_minute: i16,
    /// Minute after the last.
    pub end_minute: i16,
}

impl DayWindow {
    /// Validates `start < end` within a day.
    pub fn new(field: &str, start_minute: i32, end_minute: i32) -> Result<Self> {
        if !(0..1440).contains(&start_minute) || !(1..=1440).contains(&end_minute) || start_minute >= end_minute {
            return Err(DomainError::invalid(
                field,
                "a window runs from a minute of the day (0–1439) to a later one (up to 1440)",
            ));
        }
        let narrow = |m: i32| i16::try_from(m).unwrap_or_default();
        Ok(Self { start_minute: narrow(start_minute), end_minute: narrow(end_minute) })
    }
}

/// One window of weekly hours as a caller gives it, before it is checked: a
/// weekday and minutes since midnight. [`crate::SchedulingService::set_working_hours`]
/// checks each and turns it into a [`WeeklyInterval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyHours {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i32,
    /// First minute (0 to 1439).
    pub start_minute: i32,
    /// Minute after the last (1 to 1440).
    pub end_minute: i32,
}

impl WeeklyHours {
    /// `weekday` from `start_minute` to `end_minute`.
    pub fn new(weekday: i32, start_minute: i32, end_minute: i32) -> Self {
        Self { weekday, start_minute, end_minute }
    }
}

/// One interval of a provider's weekly hours, in the tenant's timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WeeklyInterval {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// The window on that day.
    pub window: DayWindow,
}

/// A dated change to the usual hours, for one provider or the whole tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleException {
    /// Id.
    pub id: ScheduleExceptionId,
    /// The provider, or `None` for the whole tenant (a holiday).
    pub provider_id: Option<ProviderId>,
    /// The local date.
    pub date: NaiveDate,
    /// Closed or open.
    pub kind: ExceptionKind,
    /// For special opening hours, how they combine with the weekly hours; `None`
    /// for a closure.
    pub opening: Option<OpeningMode>,
    /// The window; `None` means the whole day (closed only).
    pub window: Option<DayWindow>,
    /// Why.
    pub reason: Option<String>,
}

/// Staff who perform services.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Id.
    pub id: ProviderId,
    /// The provider's own account, if they sign in.
    pub user_id: Option<UserId>,
    /// Name.
    pub name: String,
    /// Job title, e.g. "Senior Stylist".
    pub title: Option<String>,
    /// Employment type.
    pub provider_type: ProviderType,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone (E.164).
    pub phone: Option<String>,
    /// Whether they take bookings.
    pub active: bool,
    /// Average review rating, if reviewed.
    pub average_rating: Option<f64>,
    /// Number of reviews.
    pub review_count: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Set for a resource (a room, a basin…), booked with a person for the
    /// services that need its type; `None` for a person.
    pub resource_type: Option<String>,
}

/// A new provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderInput {
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Type; employee when absent.
    pub provider_type: Option<ProviderType>,
    /// Email.
    pub email: Option<String>,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// Active; true when absent.
    pub active: Option<bool>,
    /// The member account this provider is (their own calendar): `None` keeps the
    /// current link, `Some(None)` removes it. Changing it needs `provider:manage`
    /// tenant-wide.
    pub user_id: Option<Option<UserId>>,
    /// A resource of this type (`room`) instead of a person; fixed once made.
    pub resource_type: Option<String>,
}

/// A change to a provider. In every patch of this crate `None` leaves a field
/// as it is, and `Some(None)` clears a field that may be empty: a client that
/// names one field never resets the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderPatch {
    /// Name.
    pub name: Option<String>,
    /// Title.
    pub title: Option<Option<String>>,
    /// Type.
    pub provider_type: Option<ProviderType>,
    /// Email.
    pub email: Option<Option<String>>,
    /// Phone (E.164).
    pub phone: Option<Option<String>>,
    /// Whether it can be booked.
    pub active: Option<bool>,
    /// The member account this provider is; changing it needs `provider:manage`
    /// tenant-wide.
    pub user_id: Option<Option<UserId>>,
}

/// Something the tenant sells by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Id.
    pub id: ServiceId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Price in minor units.
    pub price_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Length in minutes.
    pub duration_minutes: i32,
    /// Preparation time before, in minutes.
    pub buffer_before_minutes: i32,
    /// Clean-up time after, in minutes.
    pub buffer_after_minutes: i32,
    /// Whether it can be booked.
    pub active: bool,
    /// Soft-deleted when set.
    pub deleted_at: Option<DateTime<Utc>>,
    /// What customers pay when they book it, when not the business's terms.
    pub payment_terms: Option<tessera_ledger::PaymentTerms>,
    /// Set for a class: booked in its sessions, seat by seat; a new
    /// session's capacity unless it names its own.
    pub class_capacity: Option<i32>,
    /// The resource it needs, if any.
    pub resource_need: Option<ResourceNeed>,
}

/// A resource a service needs: one of a type, for part of its time or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNeed {
    /// The type (`room`, `basin`), as resources name theirs.
    pub resource_type: String,
    /// From this many minutes after the start.
    pub offset_minutes: i32,
    /// For this many minutes; to the end of the service when `None`.
    pub minutes: Option<i32>,
}

/// A new service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInput {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Price in minor units.
    pub price_minor: i64,
    /// Currency; the tenant's when absent.
    pub currency: Option<String>,
    /// Length in minutes.
    pub duration_minutes: i32,
    /// Preparation time.
    pub buffer_before_minutes: i32,
    /// Clean-up time.
    pub buffer_after_minutes: i32,
    /// Active; true when absent.
    pub active: Option<bool>,
    /// A class of this many seats (1 to [`MAX_CLASS_CAPACITY`]); an
    /// appointment when absent.
    pub class_capacity: Option<i32>,
    /// A resource it needs, if any.
    pub resource_need: Option<ResourceNeed>,
}

/// A change to a service (see [`ProviderPatch`] for what `None` means).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePatch {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<Option<String>>,
    /// Price in minor units.
    pub price_minor: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// Length in minutes.
    pub duration_minutes: Option<i32>,
    /// Preparation time.
    pub buffer_before_minutes: Option<i32>,
    /// Clean-up time.
    pub buffer_after_minutes: Option<i32>,
    /// Whether it can be booked.
    pub active: Option<bool>,
    /// A class of this many seats, or (`Some(None)`) an appointment again.
    pub class_capacity: Option<Option<i32>>,
    /// A resource it needs, or (`Some(None)`) none any more.
    pub resource_need: Option<Option<ResourceNeed>>,
}

/// An optional extra to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addon {
    /// Id.
    pub id: AddonId,
    /// The service it extends.
    pub service_id: ServiceId,
    /// Name.
    pub name: String,
    /// Price in minor units (the service's currency).
    pub price_minor: i64,
    /// Extra minutes.
    pub duration_minutes: i32,
    /// Whether it can be chosen.
    pub active: bool,
}

/// A new add-on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonInput {
    /// Name.
    pub name: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// Extra minutes.
    pub duration_minutes: i32,
    /// Active; true when absent.
    pub active: Option<bool>,
}

/// A change to an add-on (see [`ProviderPatch`] for what `None` means).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonPatch {
    /// Name.
    pub name: Option<String>,
    /// Price in minor units.
    pub price_minor: Option<i64>,
    /// Extra minutes.
    pub duration_minutes: Option<i32>,
    /// Whether it can be chosen.
    pub active: Option<bool>,
}

/// A tenant's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// The member account this customer is, if linked: they see their own
    /// bookings and book for themselves.
    pub user_id: Option<UserId>,
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// Notes for staff.
    pub notes: Option<String>,
    /// The language of their messages (BCP 47: `es`, `pt-BR`); the
    /// business's when `None`.
    pub language: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A new customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInput {
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// The member account to link: `None` keeps the current link, `Some(None)`
    /// removes it.
    pub user_id: Option<Option<UserId>>,
    /// The language of their messages; the business's when `None`.
    pub language: Option<String>,
}

/// A change to a customer (see [`ProviderPatch`] for what `None` means).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<Option<String>>,
    /// Phone (E.164).
    pub phone: Option<Option<String>>,
    /// Notes for staff.
    pub notes: Option<Option<String>>,
    /// The member account this customer is.
    pub user_id: Option<Option<UserId>>,
    /// The language of their messages (`Some(None)`: the business's).
    pub language: Option<Option<String>>,
}
