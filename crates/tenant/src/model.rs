//! Tenant domain types. Inputs become these validated types at the edge; a value of
//! one of them is valid by construction.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainError, MembershipId, Permission, Result, TenantId, UserId};

/// A tenant's service tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum TenantTier {
    /// Free.
    #[sea_orm(string_value = "free")]
    Free,
    /// Basic.
    #[sea_orm(string_value = "basic")]
    Basic,
    /// Premium.
    #[sea_orm(string_value = "premium")]
    Premium,
    /// Enterprise.
    #[sea_orm(string_value = "enterprise")]
    Enterprise,
}

/// Where a tenant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum TenantStatus {
    /// Newly signed up.
    #[sea_orm(string_value = "trial")]
    Trial,
    /// In good standing.
    #[sea_orm(string_value = "active")]
    Active,
    /// Blocked by the platform; members can only read.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Soft-deleted; purged after the grace period unless restored.
    #[sea_orm(string_value = "pending_deletion")]
    PendingDeletion,
}

/// How a tenant's data is separated from others'. Only `Shared` (row-level security
/// in one database) exists today; the level is recorded so a migration path is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum IsolationLevel {
    /// Shared tables, rows separated by tenant id and row-level security.
    #[sea_orm(string_value = "shared")]
    Shared,
    /// A schema per tenant.
    #[sea_orm(string_value = "semi_isolated")]
    SemiIsolated,
    /// A database per tenant.
    #[sea_orm(string_value = "fully_isolated")]
    FullyIsolated,
}

impl TenantStatus {
    /// Whether a tenant in this status lets anyone use `permission`: a suspended
    /// tenant is read-only; one pending deletion can only be read and restored.
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Self::Trial | Self::Active => true,
            Self::Suspended => permission.is_read(),
            Self::PendingDeletion => matches!(permission, Permission::TenantRead | Permission::TenantDelete),
        }
    }
}

/// A validated tenant slug: 3–63 characters of `a-z`, `0-9` and single inner
/// hyphens, not a reserved word and not shaped like a UUID (the `X-Tenant` header
/// accepts either, so the two must never be confused).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "graphql", "graphiql", "help", "login", "logout", "metrics", "root", "signup", "static",
    "status", "support", "system", "tessera", "www",
];

impl Slug {
    /// Validates `raw` as a slug.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = |why: &str| DomainError::invalid("slug", why);
        let len = raw.chars().count();
        if !(3..=63).contains(&len) {
            return Err(invalid("must be 3 to 63 characters long"));
        }
        if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(invalid("may contain only lowercase letters, digits and hyphens"));
        }
        if raw.starts_with('-') || raw.ends_with('-') || raw.contains("--") {
            return Err(invalid("hyphens must separate words: no leading, trailing or double hyphens"));
        }
        if RESERVED_SLUGS.contains(&raw) {
            return Err(invalid("is reserved"));
        }
        if uuid::Uuid::parse_str(raw).is_ok() {
            return Err(invalid("must not look like an id"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a display name: trimmed, 1–200 characters, no control characters.
pub(crate) fn parse_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid(field, "must be 1 to 200 characters long"));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// Validates an IANA timezone name (`Europe/Madrid`).
pub(crate) fn parse_timezone(raw: &str) -> Result<String> {
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| DomainError::invalid("timezone", "must be an IANA timezone such as Europe/Madrid"))
}

/// Validates a BCP 47 language tag of the common shape `ll`, `ll-RR`, `ll-Ssss-RR` or
/// `ll-999`, and returns it in canonical case (`en-US`, `zh-Hant-TW`).
pub(crate) fn parse_locale(raw: &str) -> Result<String> {
    let invalid = || DomainError::invalid("locale", "must be a language tag such as en, en-US or pt-BR");
    let mut parts = raw.split(['-', '_']);
    let language = parts.next().filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    let mut out = language.ok_or_else(invalid)?.to_ascii_lowercase();
    let mut seen_region = false;
    for (i, part) in parts.enumerate() {
        let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
        let digits = part.chars().all(|c| c.is_ascii_digit());
        if i == 0 && part.len() == 4 && alpha {
            let mut script = part.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            out.push('-');
            out.push_str(&script);
        } else if !seen_region && ((part.len() == 2 && alpha) || (part.len() == 3 && digits)) {
            seen_region = true;
            out.push('-');
            out.push_str(&part.to_ascii_uppercase());
        } else {
            return Err(invalid());
        }
    }
    Ok(out)
}

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

    /// The refund due, in minor units, for cancelling a booking costing
    /// `price_minor` `notice` before it starts.
    pub fn refund_for_cancellation(&self, price_minor: i64, notice: chrono::Duration) -> i64 {
        let hours = notice.num_minutes() as f64 / 60.0;
        if hours >= f64::from(self.cancellation_full_refund_hours) {
            price_minor
        } else if hours >= f64::from(self.cancellation_partial_refund_hours) {
            price_minor * i64::from(self.cancellation_partial_refund_percent) / 100
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

/// A tenant as the rest of the system sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// The tenant above it, if any.
    pub parent_tenant_id: Option<TenantId>,
    /// Whether the parent's owners may manage it (with the built-in admin role's
    /// rights). Only the tenant's own members change it.
    pub parent_may_manage: bool,
    /// Service tier.
    pub tier: TenantTier,
    /// Life-cycle status.
    pub status: TenantStatus,
    /// IANA timezone its schedules are written in.
    pub timezone: String,
    /// Default locale.
    pub locale: String,
    /// Typed settings.
    pub settings: TenantSettings,
    /// Feature flags.
    pub feature_flags: FeatureFlags,
    /// How its data is isolated.
    pub isolation_level: IsolationLevel,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When it will be purged unless restored.
    pub deletion_scheduled_at: Option<DateTime<Utc>>,
    /// What it demands of the sessions that use it.
    pub security_policy: crate::SecurityPolicy,
}

/// What signing up a business needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Requested slug.
    pub slug: String,
    /// IANA timezone.
    pub timezone: String,
    /// Locale; `en` when absent.
    pub locale: Option<String>,
}

/// A change to a tenant; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPatch {
    /// New display name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New timezone.
    pub timezone: Option<String>,
    /// New locale.
    pub locale: Option<String>,
    /// Settings to change; those it does not name stay.
    pub settings: Option<TenantSettingsPatch>,
    /// New feature flags (replacing the old ones whole).
    pub feature_flags: Option<FeatureFlags>,
}

/// A user's membership in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The membership id.
    pub id: MembershipId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_words_joined_by_single_hyphens() {
        assert_eq!(Slug::parse("salon-bella-2").map(|s| s.to_string()).ok(), Some("salon-bella-2".into()));
    }

    #[test]
    fn slugs_refuse_uppercase_edges_reserved_words_and_uuids() {
        for bad in
            ["Salon", "-salon", "salon-", "sa--lon", "ab", "admin", "0190b1c2-7d4e-7a3b-9c1d-2e3f4a5b6c7d", "salón"]
        {
            assert!(Slug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn locales_are_canonicalised() {
        assert_eq!(parse_locale("en_us").ok(), Some("en-US".into()));
        assert_eq!(parse_locale("zh-hant-tw").ok(), Some("zh-Hant-TW".into()));
        assert_eq!(parse_locale("es-419").ok(), Some("es-419".into()));
        assert!(parse_locale("english").is_err());
        assert!(parse_locale("en-US-CA").is_err());
    }

    #[test]
    fn timezones_must_be_iana_names() {
        assert_eq!(parse_timezone("Europe/Madrid").ok(), Some("Europe/Madrid".into()));
        assert!(parse_timezone("CEST+2").is_err());
    }

    #[test]
    fn settings_reject_a_slot_step_that_does_not_divide_a_day() {
        let settings = TenantSettings { slot_step_minutes: 7, ..TenantSettings::default() };
        assert!(settings.validate().is_err());
        assert!(TenantSettings::default().validate().is_ok());
    }

    #[test]
    fn the_refund_follows_the_notice_given() {
        let settings = TenantSettings::default();
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(30)), 10_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(5)), 5_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::minutes(30)), 0);
    }

    #[test]
    fn feature_flag_names_are_checked() {
        assert!(FeatureFlags::new([("online-booking".to_string(), true)]).is_ok());
        assert!(FeatureFlags::new([("Online Booking".to_string(), true)]).is_err());
    }

    #[test]
    fn members_of_a_tenant_pending_deletion_can_only_read_and_restore() {
        let status = TenantStatus::PendingDeletion;
        assert!(status.allows(Permission::TenantDelete));
        assert!(status.allows(Permission::TenantRead));
        assert!(!status.allows(Permission::TenantManage));
        assert!(TenantStatus::Suspended.allows(Permission::BookingRead));
        assert!(!TenantStatus::Suspended.allows(Permission::BookingCreate));
    }
}
