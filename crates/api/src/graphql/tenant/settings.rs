//! A tenant's settings and feature flags as the API shows them.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use tessera_tenant::{TenantSettings, TenantSettingsPatch};

use crate::error::{ApiError, ApiResult};
use crate::graphql::patch::{count, kept_cleared_or_set, kept_or_set, kept_or_set_count};

/// Settings a tenant's owners tune.
#[derive(SimpleObject, Clone)]
#[graphql(name = "TenantSettings")]
pub(crate) struct TenantSettingsObject {
    /// ISO 4217 code that prices are quoted in.
    currency: String,
    /// How long before its start a booking may be made, in minutes.
    booking_min_notice_minutes: i32,
    /// How far ahead bookings may be made, in days.
    booking_horizon_days: i32,
    /// The spacing of offered start times, in minutes.
    slot_step_minutes: i32,
    /// How long a deleted tenant can be restored, in days.
    deletion_grace_days: i32,
    /// A booking cancelled at least this many hours ahead is refunded in full.
    cancellation_full_refund_hours: i32,
    /// A booking cancelled at least this many hours ahead is refunded in part.
    cancellation_partial_refund_hours: i32,
    /// The part refunded then, in percent.
    cancellation_partial_refund_percent: i32,
    /// How long the audit log and security events are kept, in days (30 to 3650);
    /// null keeps them for good. Expired records leave the audit chain verifiable.
    activity_retention_days: Option<i32>,
    /// How long before a booking its reminder is sent, in minutes (15 to 10080);
    /// 0 sends none.
    booking_reminder_minutes: i32,
    /// Whether new bookings are confirmed at once; otherwise they stay SCHEDULED
    /// (the customer is told the booking is received) until confirmed.
    confirm_bookings_automatically: bool,
    /// How long before its start a customer may still move their own booking, in
    /// hours (0 to 1440); later only the business can.
    customer_reschedule_notice_hours: i32,
    /// Who takes a booking that asks for any available staff (`createBooking`
    /// without `providerId`).
    staff_assignment: StaffAssignmentEnum,
    /// How long a time offered to the next customer on a waitlist is held for
    /// them, in minutes (5 to 2880); then it goes to the one after.
    waitlist_offer_minutes: i32,
}

/// Who takes a booking that asks for any available staff, among the
/// providers who offer the service and are free then.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "StaffAssignment", remote = "tessera_tenant::StaffAssignment")]
pub(crate) enum StaffAssignmentEnum {
    /// The one with the fewest bookings that day.
    LeastBooked,
    /// Each in turn: the one whose last booking was made longest ago.
    RoundRobin,
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&TenantSettings> for TenantSettingsObject {
    fn from(s: &TenantSettings) -> Self {
        Self {
            currency: s.currency.clone(),
            booking_min_notice_minutes: to_i32(s.booking_min_notice_minutes),
            booking_horizon_days: to_i32(s.booking_horizon_days),
            slot_step_minutes: to_i32(s.slot_step_minutes),
            deletion_grace_days: to_i32(s.deletion_grace_days),
            cancellation_full_refund_hours: to_i32(s.cancellation_full_refund_hours),
            cancellation_partial_refund_hours: to_i32(s.cancellation_partial_refund_hours),
            cancellation_partial_refund_percent: to_i32(s.cancellation_partial_refund_percent),
            activity_retention_days: s.activity_retention_days.map(to_i32),
            booking_reminder_minutes: to_i32(s.booking_reminder_minutes),
            confirm_bookings_automatically: s.confirm_bookings_automatically,
            staff_assignment: s.staff_assignment.into(),
            customer_reschedule_notice_hours: to_i32(s.customer_reschedule_notice_hours),
            waitlist_offer_minutes: to_i32(s.waitlist_offer_minutes),
        }
    }
}

/// A named on/off switch.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "FeatureFlag", input_name = "FeatureFlagInput")]
pub(crate) struct FeatureFlagObject {
    /// Flag name, `[a-z][a-z0-9_.-]*`.
    pub(super) key: String,
    /// Whether the feature is on.
    pub(super) enabled: bool,
}

/// Changes to some of a tenant's settings; the settings it does not name stay.
/// The result is checked whole (ranges, partial-refund notice below full).
#[derive(InputObject)]
pub(crate) struct UpdateTenantSettingsInput {
    /// ISO 4217 code that prices are quoted in.
    currency: MaybeUndefined<String>,
    /// How long before its start a booking may be made, in minutes.
    booking_min_notice_minutes: MaybeUndefined<i32>,
    /// How far ahead bookings may be made, in days.
    booking_horizon_days: MaybeUndefined<i32>,
    /// The spacing of offered start times, in minutes.
    slot_step_minutes: MaybeUndefined<i32>,
    /// How long a deleted tenant can be restored, in days.
    deletion_grace_days: MaybeUndefined<i32>,
    /// A booking cancelled at least this many hours ahead is refunded in full.
    cancellation_full_refund_hours: MaybeUndefined<i32>,
    /// A booking cancelled at least this many hours ahead is refunded in part.
    cancellation_partial_refund_hours: MaybeUndefined<i32>,
    /// The part refunded then, in percent.
    cancellation_partial_refund_percent: MaybeUndefined<i32>,
    /// How long the audit log and security events are kept, in days (30 to
    /// 3650); null keeps them for good.
    activity_retention_days: MaybeUndefined<i32>,
    /// How long before a booking its reminder is sent, in minutes (15 to 10080);
    /// 0 sends none.
    booking_reminder_minutes: MaybeUndefined<i32>,
    /// Whether new bookings are confirmed at once.
    confirm_bookings_automatically: MaybeUndefined<bool>,
    /// How long before its start a customer may still move their own booking, in
    /// hours (0 to 1440).
    customer_reschedule_notice_hours: MaybeUndefined<i32>,
    /// Who takes a booking that asks for any available staff.
    staff_assignment: MaybeUndefined<StaffAssignmentEnum>,
    /// How long a waitlist offer is held, in minutes (5 to 2880).
    waitlist_offer_minutes: MaybeUndefined<i32>,
}

impl TryFrom<UpdateTenantSettingsInput> for TenantSettingsPatch {
    type Error = ApiError;

    fn try_from(s: UpdateTenantSettingsInput) -> ApiResult<Self> {
        const RETENTION: &str = "settings.activityRetentionDays";
        Ok(Self {
            currency: kept_or_set("settings.currency", s.currency)?,
            booking_min_notice_minutes: kept_or_set_count(
                "settings.bookingMinNoticeMinutes",
                s.booking_min_notice_minutes,
            )?,
            booking_horizon_days: kept_or_set_count("settings.bookingHorizonDays", s.booking_horizon_days)?,
            slot_step_minutes: kept_or_set_count("settings.slotStepMinutes", s.slot_step_minutes)?,
            deletion_grace_days: kept_or_set_count("settings.deletionGraceDays", s.deletion_grace_days)?,
            cancellation_full_refund_hours: kept_or_set_count(
                "settings.cancellationFullRefundHours",
                s.cancellation_full_refund_hours,
            )?,
            cancellation_partial_refund_hours: kept_or_set_count(
                "settings.cancellationPartialRefundHours",
                s.cancellation_partial_refund_hours,
            )?,
            cancellation_partial_refund_percent: kept_or_set_count(
                "settings.cancellationPartialRefundPercent",
                s.cancellation_partial_refund_percent,
            )?,
            activity_retention_days: kept_cleared_or_set(s.activity_retention_days)
                .map(|days| days.map(|n| count(RETENTION, n)).transpose())
                .transpose()?,
            booking_reminder_minutes: kept_or_set_count("settings.bookingReminderMinutes", s.booking_reminder_minutes)?,
            confirm_bookings_automatically: kept_or_set(
                "settings.confirmBookingsAutomatically",
                s.confirm_bookings_automatically,
            )?,
            customer_reschedule_notice_hours: kept_or_set_count(
                "settings.customerRescheduleNoticeHours",
                s.customer_reschedule_notice_hours,
            )?,
            staff_assignment: kept_or_set("settings.staffAssignment", s.staff_assignment)?.map(Into::into),
            waitlist_offer_minutes: kept_or_set_count("settings.waitlistOfferMinutes", s.waitlist_offer_minutes)?,
        })
    }
}
