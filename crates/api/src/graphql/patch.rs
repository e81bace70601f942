//! The `update…` inputs: every field is optional, an omitted field keeps its
//! value, and an explicit `null` clears a field that may be empty (and is refused,
//! naming the field, for one that may not). A client that sends only what it
//! changed never resets the rest.
//!
//! Each input converts into its domain's patch type (`ProviderPatch`,
//! `TenantSettingsPatch`…), where `None` means "unchanged" and `Some(None)`
//! "cleared"; the services write only the columns a patch names.

use async_graphql::{ID, InputObject, MaybeUndefined};
use tessera_kernel::{DomainError, UserId};
use tessera_notify::EndpointPatch;
use tessera_rbac::{GroupPatch, RolePatch};
use tessera_scheduling::{AddonPatch, CustomerPatch, ProviderPatch, ServicePatch};
use tessera_tenant::TenantSettingsPatch;

use super::parse_id;
use super::rbac::parse_permissions;
use super::scheduling::ProviderType;
use crate::error::{ApiError, ApiResult};

/// A field that cannot be empty: omitted keeps it, a value sets it, `null` is
/// refused.
pub(crate) fn kept_or_set<T>(field: &str, value: MaybeUndefined<T>) -> ApiResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(DomainError::invalid(field, "cannot be cleared; omit it to keep it").into()),
        MaybeUndefined::Value(value) => Ok(Some(value)),
    }
}

/// A field that may be empty: omitted keeps it, `null` clears it.
pub(crate) fn kept_cleared_or_set<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A count that cannot be negative, as a domain `u32`.
fn kept_or_set_count(field: &str, value: MaybeUndefined<i32>) -> ApiResult<Option<u32>> {
    kept_or_set(field, value)?.map(|n| count(field, n)).transpose()
}

fn count(field: &str, n: i32) -> ApiResult<u32> {
    u32::try_from(n).map_err(|_| ApiError::from(DomainError::invalid(field, "must not be negative")))
}

/// An account link as given: absent (keep), null (remove) or an id.
pub(crate) fn parse_link(link: MaybeUndefined<ID>) -> ApiResult<Option<Option<UserId>>> {
    kept_cleared_or_set(link).map(|link| link.map(|id| parse_id("userId", &id)).transpose()).transpose()
}

/// Changes to a provider; omitted fields keep their value, null clears one that
/// may be empty.
#[derive(InputObject)]
pub(crate) struct UpdateProviderInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Job title.
    title: MaybeUndefined<String>,
    /// Employment type.
    #[graphql(name = "type")]
    provider_type: MaybeUndefined<ProviderType>,
    /// Email.
    email: MaybeUndefined<String>,
    /// Phone, E.164 (`+15551234567`).
    phone: MaybeUndefined<String>,
    /// Whether they take bookings.
    active: MaybeUndefined<bool>,
    /// The member account this provider is; null unlinks it. Changing it needs
    /// `provider:manage` tenant-wide.
    user_id: MaybeUndefined<ID>,
}

impl TryFrom<UpdateProviderInput> for ProviderPatch {
    type Error = ApiError;

    fn try_from(i: UpdateProviderInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            title: kept_cleared_or_set(i.title),
            provider_type: kept_or_set("type", i.provider_type)?.map(Into::into),
            email: kept_cleared_or_set(i.email),
            phone: kept_cleared_or_set(i.phone),
            active: kept_or_set("active", i.active)?,
            user_id: parse_link(i.user_id)?,
        })
    }
}

/// Changes to a service; omitted fields keep their value. Existing bookings keep
/// what they were booked with.
#[derive(InputObject)]
pub(crate) struct UpdateServiceInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Description; null clears it.
    description: MaybeUndefined<String>,
    /// Price in minor units (cents).
    price_minor: MaybeUndefined<i32>,
    /// ISO 4217 currency.
    currency: MaybeUndefined<String>,
    /// Length in minutes.
    duration_minutes: MaybeUndefined<i32>,
    /// Preparation time before, in minutes.
    buffer_before_minutes: MaybeUndefined<i32>,
    /// Clean-up time after, in minutes.
    buffer_after_minutes: MaybeUndefined<i32>,
    /// Whether it can be booked.
    active: MaybeUndefined<bool>,
}

impl TryFrom<UpdateServiceInput> for ServicePatch {
    type Error = ApiError;

    fn try_from(i: UpdateServiceInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            description: kept_cleared_or_set(i.description),
            price_minor: kept_or_set("priceMinor", i.price_minor)?.map(i64::from),
            currency: kept_or_set("currency", i.currency)?,
            duration_minutes: kept_or_set("durationMinutes", i.duration_minutes)?,
            buffer_before_minutes: kept_or_set("bufferBeforeMinutes", i.buffer_before_minutes)?,
            buffer_after_minutes: kept_or_set("bufferAfterMinutes", i.buffer_after_minutes)?,
            active: kept_or_set("active", i.active)?,
        })
    }
}

/// Changes to an add-on; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateAddonInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Extra price in minor units.
    price_minor: MaybeUndefined<i32>,
    /// Extra minutes.
    duration_minutes: MaybeUndefined<i32>,
    /// Whether it can be chosen.
    active: MaybeUndefined<bool>,
}

impl TryFrom<UpdateAddonInput> for AddonPatch {
    type Error = ApiError;

    fn try_from(i: UpdateAddonInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            price_minor: kept_or_set("priceMinor", i.price_minor)?.map(i64::from),
            duration_minutes: kept_or_set("durationMinutes", i.duration_minutes)?,
            active: kept_or_set("active", i.active)?,
        })
    }
}

/// Changes to a customer; omitted fields keep their value, null clears one that
/// may be empty.
#[derive(InputObject)]
pub(crate) struct UpdateCustomerInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Email.
    email: MaybeUndefined<String>,
    /// Phone, E.164.
    phone: MaybeUndefined<String>,
    /// Notes for staff.
    notes: MaybeUndefined<String>,
    /// The member account this customer is; null unlinks it.
    user_id: MaybeUndefined<ID>,
}

impl TryFrom<UpdateCustomerInput> for CustomerPatch {
    type Error = ApiError;

    fn try_from(i: UpdateCustomerInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            email: kept_cleared_or_set(i.email),
            phone: kept_cleared_or_set(i.phone),
            notes: kept_cleared_or_set(i.notes),
            user_id: parse_link(i.user_id)?,
        })
    }
}

/// Changes to a group; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateGroupInput {
    /// Name, unique in the tenant.
    name: MaybeUndefined<String>,
    /// What it is for; null clears it.
    description: MaybeUndefined<String>,
}

impl TryFrom<UpdateGroupInput> for GroupPatch {
    type Error = ApiError;

    fn try_from(i: UpdateGroupInput) -> ApiResult<Self> {
        Ok(Self { name: kept_or_set("name", i.name)?, description: kept_cleared_or_set(i.description) })
    }
}

/// Changes to a role; omitted fields keep their value. Built-in roles keep
/// their built-in permissions.
#[derive(InputObject)]
pub(crate) struct UpdateRoleInput {
    /// A new name.
    name: MaybeUndefined<String>,
    /// A new description; null clears it.
    description: MaybeUndefined<String>,
    /// A new parent; null removes it.
    parent_id: MaybeUndefined<ID>,
    /// The complete new list of the role's own permissions.
    permissions: MaybeUndefined<Vec<String>>,
    /// Whether new members get it by default.
    is_default: MaybeUndefined<bool>,
}

impl TryFrom<UpdateRoleInput> for RolePatch {
    type Error = ApiError;

    fn try_from(i: UpdateRoleInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            description: kept_cleared_or_set(i.description),
            parent_id: kept_cleared_or_set(i.parent_id)
                .map(|parent| parent.map(|id| parse_id("parentId", &id)).transpose())
                .transpose()?,
            permissions: kept_or_set("permissions", i.permissions)?.as_deref().map(parse_permissions).transpose()?,
            is_default: kept_or_set("isDefault", i.is_default)?,
        })
    }
}

/// Changes to a webhook endpoint; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateWebhookEndpointInput {
    /// Where events are POSTed: https, on a public address.
    url: MaybeUndefined<String>,
    /// What it is for; null clears it.
    description: MaybeUndefined<String>,
    /// The event types it receives (see `webhookEventTypes`); null or empty for
    /// all.
    topics: MaybeUndefined<Vec<String>>,
    /// Whether events are sent to it.
    active: MaybeUndefined<bool>,
}

impl TryFrom<UpdateWebhookEndpointInput> for EndpointPatch {
    type Error = ApiError;

    fn try_from(i: UpdateWebhookEndpointInput) -> ApiResult<Self> {
        Ok(Self {
            url: kept_or_set("url", i.url)?,
            description: kept_cleared_or_set(i.description),
            topics: kept_cleared_or_set(i.topics).map(Option::unwrap_or_default),
            active: kept_or_set("active", i.active)?,
        })
    }
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
        })
    }
}
