//! A tenant's settings (booking rules, cancellation and refund terms, activity
//! retention) with their patch, and its feature flags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainError, Result};

/// Settings a tenant's owners tune. Stored as JSON; unknown keys are refused on
/// input so typos do not pass silently, and missing keys take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TenantSettings {
    /// ISO 4217 code that prices are quoted in.
    pub currency: String,
    /// How long before its start a booking may be made, in minutes.
    pub booking_min_notice_minutes: u32,
    /// How far ahead bookings may be made, in days.
    pub booking_horizon_days: u32,
    /// The spacing of offered start times, in minutes.
    pub slot_step_minutes: u32,
    /// How long a deleted tenant can be restored, in days.
    pub deletion_grace_days: u32,
    /// A booking cancelled at least this many hours ahead is refunded in full.
    pub cancellation_full_refund_hours: u32,
    /// A booking cancelled at least this many hours ahead (but later than the full
    /// refund notice) is refunded in part.
    pub cancellation_partial_refund_hours: u32,
    /// The part refunded then, in percent.
    pub cancellation_partial_refund_percent: u32,
    /// How long the audit log and the tenant's security events are kept, in days;
    /// `None` keeps them for good. Expiry leaves the audit chain verifiable.
    pub activity_retention_days: Option<u32>,
    /// How long before a booking its reminder is sent, in minutes; 0 sends none.
    pub booking_reminder_minutes: u32,
    /// Whether new bookings are confirmed at once; otherwise they wait as
    /// scheduled (the customer hears "received") until someone confirms them.
    pub confirm_bookings_automatically: bool,
    /// How long before its start a customer may still move their own booking, in
    /// hours; later only the business can.
    pub customer_reschedule_notice_hours: u32,
    /// Who takes a booking that asks for any available staff.
    pub staff_assignment: StaffAssignment,
    /// How long a time offered to the next customer on a waitlist is held
    /// for them, in minutes; then it goes to the one after.
    pub waitlist_offer_minutes: u32,
}

/// Who takes a booking that asks for any available staff, among the
/// providers who offer the service and are free then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StaffAssignment {
    /// The one with the fewest bookings that day.
    #[default]
    LeastBooked,
    /// Each in turn: the one whose last booking was made longest ago.
    RoundRobin,
}

/// The shortest activity retention a tenant may choose, in days. The database
/// refuses to expire anything younger, whatever the application asks.
pub const MIN_ACTIVITY_RETENTION_DAYS: u32 = tessera_audit::RETENTION_FLOOR_DAYS;

/// The longest, in days (ten years).
pub const MAX_ACTIVITY_RETENTION_DAYS: u32 = 3650;

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
            booking_min_notice_minutes: 60,
            booking_horizon_days: 90,
            slot_step_minutes: 15,
            deletion_grace_days: 30,
            cancellation_full_refund_hours: 24,
            cancellation_partial_refund_hours: 4,
            cancellation_partial_refund_percent: 50,
            activity_retention_days: None,
            booking_reminder_minutes: 24 * 60,
            confirm_bookings_automatically: false,
            customer_reschedule_notice_hours: 24,
            staff_assignment: StaffAssignment::LeastBooked,
            waitlist_offer_minutes: 60,
        }
    }
}

impl TenantSettings {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        let in_range = |field: &str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(DomainError::invalid(field, format!("must be between {min} and {max}")))
            }
        };
        if !(self.currency.len() == 3 && self.currency.chars().all(|c| c.is_ascii_uppercase())) {
            return Err(DomainError::invalid("settings.currency", "must be an ISO 4217 code such as EUR"));
        }
        in_range("settings.bookingMinNoticeMinutes", self.booking_min_notice_minutes, 0, 60 * 24 * 30)?;
        in_range("settings.bookingHorizonDays", self.booking_horizon_days, 1, 730)?;
        in_range("settings.slotStepMinutes", self.slot_step_minutes, 5, 240)?;
        if 1440 % self.slot_step_minutes != 0 {
            return Err(DomainError::invalid(
                "settings.slotStepMinutes",
                "must divide a day evenly (5, 10, 15, 20, 30, 60, …)",
            ));
        }
        in_range("settings.deletionGraceDays", self.deletion_grace_days, 1, 90)?;
        in_range("settings.customerRescheduleNoticeHours", self.customer_reschedule_notice_hours, 0, 24 * 60)?;
        in_range("settings.cancellationFullRefundHours", self.cancellation_full_refund_hours, 0, 24 * 60)?;
        in_range("settings.cancellationPartialRefundHours", self.cancellation_partial_refund_hours, 0, 24 * 60)?;
        in_range("settings.cancellationPartialRefundPercent", self.cancellation_partial_refund_percent, 0, 100)?;
        in_range("settings.waitlistOfferMinutes", self.waitlist_offer_minutes, 5, 2 * 24 * 60)?;
        if self.booking_reminder_minutes != 0 {
            in_range("settings.bookingReminderMinutes", self.booking_reminder_minutes, 15, 7 * 24 * 60)?;
        }
        if let Some(days) = self.activity_retention_days {
            in_range("settings.activityRetentionDays", days, MIN_ACTIVITY_RETENTION_DAYS, MAX_ACTIVITY_RETENTION_DAYS)?;
        }
        if self.cancellation_partial_refund_hours > self.cancellation_full_refund_hours {
            return Err(DomainError::invalid(
                "settings.cancellationPartialRefundHours",
                "must not exceed cancellationFullRefundHours",
            ));
        }
        Ok(())
    }

    /// The refund due, in minor units, of `paid_minor` for cancelling a
    /// booking `notice` before it starts. Compared in whole minutes, so a
    /// notice of exactly the full-refund hours is a full refund.
    pub fn refund_for_cancellation(&self, paid_minor: i64, notice: chrono::Duration) -> i64 {
        let minutes = notice.num_minutes();
        if minutes >= i64::from(self.cancellation_full_refund_hours) * 60 {
            paid_minor
        } else if minutes >= i64::from(self.cancellation_partial_refund_hours) * 60 {
            paid_minor * i64::from(self.cancellation_partial_refund_percent) / 100
        } else {
            0
        }
    }

    pub(crate) fn from_json(value: &serde_json::Value) -> Result<Self> {
        serde_json::from_value(value.clone())
            .map_err(|e| DomainError::Internal(format!("stored tenant settings are unreadable: {e}")))
    }

    /// These settings with the fields `patch` names changed; the rest stay.
    pub fn patched(mut self, patch: TenantSettingsPatch) -> Self {
        fn put<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        put(&mut self.currency, patch.currency);
        put(&mut self.booking_min_notice_minutes, patch.booking_min_notice_minutes);
        put(&mut self.booking_horizon_days, patch.booking_horizon_days);
        put(&mut self.slot_step_minutes, patch.slot_step_minutes);
        put(&mut self.deletion_grace_days, patch.deletion_grace_days);
        put(&mut self.cancellation_full_refund_hours, patch.cancellation_full_refund_hours);
        put(&mut self.cancellation_partial_refund_hours, patch.cancellation_partial_refund_hours);
        put(&mut self.cancellation_partial_refund_percent, patch.cancellation_partial_refund_percent);
        put(&mut self.activity_retention_days, patch.activity_retention_days);
        put(&mut self.booking_reminder_minutes, patch.booking_reminder_minutes);
        put(&mut self.confirm_bookings_automatically, patch.confirm_bookings_automatically);
        put(&mut self.customer_reschedule_notice_hours, patch.customer_reschedule_notice_hours);
        put(&mut self.staff_assignment, patch.staff_assignment);
        put(&mut self.waitlist_offer_minutes, patch.waitlist_offer_minutes);
        self
    }
}

/// A change to some of a tenant's settings: `None` leaves a field as it is;
/// `Some(None)` makes the activity retention unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettingsPatch {
    /// See [`TenantSettings::currency`].
    pub currency: Option<String>,
    /// See [`TenantSettings::booking_min_notice_minutes`].
    pub booking_min_notice_minutes: Option<u32>,
    /// See [`TenantSettings::booking_horizon_days`].
    pub booking_horizon_days: Option<u32>,
    /// See [`TenantSettings::slot_step_minutes`].
    pub slot_step_minutes: Option<u32>,
    /// See [`TenantSettings::deletion_grace_days`].
    pub deletion_grace_days: Option<u32>,
    /// See [`TenantSettings::cancellation_full_refund_hours`].
    pub cancellation_full_refund_hours: Option<u32>,
    /// See [`TenantSettings::cancellation_partial_refund_hours`].
    pub cancellation_partial_refund_hours: Option<u32>,
    /// See [`TenantSettings::cancellation_partial_refund_percent`].
    pub cancellation_partial_refund_percent: Option<u32>,
    /// See [`TenantSettings::activity_retention_days`].
    pub activity_retention_days: Option<Option<u32>>,
    /// See [`TenantSettings::booking_reminder_minutes`].
    pub booking_reminder_minutes: Option<u32>,
    /// See [`TenantSettings::confirm_bookings_automatically`].
    pub confirm_bookings_automatically: Option<bool>,
    /// See [`TenantSettings::customer_reschedule_notice_hours`].
    pub customer_reschedule_notice_hours: Option<u32>,
    /// See [`TenantSettings::staff_assignment`].
    pub staff_assignment: Option<StaffAssignment>,
    /// See [`TenantSettings::waitlist_offer_minutes`].
    pub waitlist_offer_minutes: Option<u32>,
}

/// Named on/off switches for a tenant's features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeatureFlags(BTreeMap<String, bool>);

/// At most this many flags per tenant.
pub const MAX_FEATURE_FLAGS: usize = 100;

impl FeatureFlags {
    /// Validates flag names (`[a-z][a-z0-9_.-]{0,63}`) and the count.
    pub fn new(flags: impl IntoIterator<Item = (String, bool)>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for (key, enabled) in flags {
            let valid = key.len() <= 64
                && key.starts_with(|c: char| c.is_ascii_lowercase())
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
            if !valid {
                return Err(DomainError::invalid(
                    "featureFlags",
                    format!("flag name {key:?} must match [a-z][a-z0-9_.-]{{0,63}}"),
                ));
            }
            if map.insert(key.clone(), enabled).is_some() {
                return Err(DomainError::invalid("featureFlags", format!("flag {key:?} is given twice")));
            }
        }
        if map.len() > MAX_FEATURE_FLAGS {
            return Err(DomainError::invalid("featureFlags", format!("at most {MAX_FEATURE_FLAGS} flags")));
        }
        Ok(Self(map))
    }

    /// The flags in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, bool)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub(crate) fn from_json(value: &serde_json::Value) -> Result<Self> {
        serde_json::from_value(value.clone())
            .map_err(|e| DomainError::Internal(format!("stored feature flags are unreadable: {e}")))
    }
}
