//! Scheduling domain types. Inputs become validated values at the edge.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use tessera_kernel::{
    AddonId, BookingId, CustomerId, DomainError, ProviderId, Result, ScheduleExceptionId, ServiceId, UserId,
};

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

/// Validates a name: trimmed, 1–200 characters, no control characters.
pub(crate) fn parse_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must be 1 to 200 characters, without control characters"));
    }
    Ok(name.to_owned())
}

/// Validates optional free text up to `max` characters; blank becomes `None`.
pub(crate) fn parse_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > max => {
            Err(DomainError::invalid(field, format!("must be at most {max} characters")))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// Validates a phone number in E.164 form (`+15551234567`).
pub(crate) fn parse_phone(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let Some(phone) = raw.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(None) };
    let digits = phone.strip_prefix('+').unwrap_or_default();
    let valid =
        (2..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0');
    if !valid {
        return Err(DomainError::invalid(field, "must be in E.164 form, such as +15551234567"));
    }
    Ok(Some(phone.to_owned()))
}

/// Validates an optional email address.
pub(crate) fn parse_email(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(email) => tessera_identity::Email::parse(email)
            .map(|e| Some(e.as_str().to_owned()))
            .map_err(|_| DomainError::invalid(field, "must be an email address such as ana@example.com")),
    }
}

/// The highest price, in minor units: GraphQL's `Int` is 32-bit.
pub const MAX_PRICE_MINOR: i64 = i32::MAX as i64;

/// Validates a price in minor units.
pub(crate) fn parse_price(field: &str, minor: i64) -> Result<i64> {
    if !(0..=MAX_PRICE_MINOR).contains(&minor) {
        return Err(DomainError::invalid(field, format!("must be between 0 and {MAX_PRICE_MINOR} minor units")));
    }
    Ok(minor)
}

/// Validates a duration in minutes between `min` and 24 hours.
pub(crate) fn parse_minutes(field: &str, minutes: i32, min: i32) -> Result<i32> {
    if !(min..=1440).contains(&minutes) {
        return Err(DomainError::invalid(field, format!("must be between {min} and 1440 minutes")));
    }
    Ok(minutes)
}

/// Validates an ISO 4217 currency code.
pub(crate) fn parse_currency(raw: &str) -> Result<String> {
    if raw.len() == 3 && raw.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid("currency", "must be an ISO 4217 code such as EUR"))
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookings_follow_the_state_machine() {
        use BookingStatus::*;
        assert!(Scheduled.transition(Confirmed).is_ok());
        assert!(Confirmed.transition(InProgress).is_ok());
        assert!(InProgress.transition(Completed).is_ok());
        assert!(Completed.transition(Cancelled).is_err());
        assert!(Cancelled.transition(Confirmed).is_err());
        assert!(Scheduled.transition(Completed).is_err(), "a booking must start before it completes");
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(parse_phone("phone", Some("+15551234567")).ok(), Some(Some("+15551234567".into())));
        for bad in ["5551234567", "+0123", "+1 555 123", "+1234567890123456"] {
            assert!(parse_phone("phone", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_stay_within_a_day() {
        assert!(DayWindow::new("w", 540, 1020).is_ok());
        assert!(DayWindow::new("w", 600, 600).is_err());
        assert!(DayWindow::new("w", 1000, 1441).is_err());
    }
}
