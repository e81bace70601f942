//! Notification preferences: which topics reach a member on which channel, quiet hours
//! and email digests, for the member and as the business's defaults.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_notify::{DailyDigest, PreferenceView, Preferences, QuietHours};

use crate::error::ApiResult;
use crate::graphql::{Requires, RequiresInPerson, request, services};

/// A daily window in which email, SMS and push wait (urgent messages excepted).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "QuietHours", input_name = "QuietHoursInput")]
pub(crate) struct QuietHoursObject {
    /// When it begins, `HH:MM`.
    start: String,
    /// When it ends, `HH:MM`; earlier than the start spans midnight.
    end: String,
    /// The IANA timezone the times are in (`Europe/Madrid`).
    timezone: String,
}

/// A daily email digest: routine emails (low and normal priority, nothing tied to
/// a time) wait and go together once a day.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "EmailDigest", input_name = "EmailDigestInput")]
pub(crate) struct EmailDigestObject {
    /// When, `HH:MM`.
    at: String,
    /// The IANA timezone of `at` (`Europe/Madrid`).
    timezone: String,
}

/// Which channels reach someone, and their quiet hours. A null channel follows
/// the tenant's setting (and that one, the default: on).
#[derive(SimpleObject, InputObject, Clone, Default)]
#[graphql(name = "NotificationPreferences", input_name = "NotificationPreferencesInput")]
pub(crate) struct NotificationPreferencesObject {
    /// Email.
    email: Option<bool>,
    /// Text messages.
    sms: Option<bool>,
    /// Push notifications.
    push: Option<bool>,
    /// The in-app inbox.
    in_app: Option<bool>,
    /// Quiet hours; null follows the tenant's (or none).
    quiet_hours: Option<QuietHoursObject>,
    /// A daily email digest; null follows the tenant's (or none).
    email_digest: Option<EmailDigestObject>,
}

impl From<Preferences> for NotificationPreferencesObject {
    fn from(p: Preferences) -> Self {
        Self {
            email: p.email,
            sms: p.sms,
            push: p.push,
            in_app: p.in_app,
            quiet_hours: p.quiet_hours.map(|q| QuietHoursObject { start: q.start, end: q.end, timezone: q.timezone }),
            email_digest: p.email_digest.map(|d| EmailDigestObject { at: d.at, timezone: d.timezone }),
        }
    }
}

impl From<NotificationPreferencesObject> for Preferences {
    fn from(p: NotificationPreferencesObject) -> Self {
        Self {
            email: p.email,
            sms: p.sms,
            push: p.push,
            in_app: p.in_app,
            quiet_hours: p.quiet_hours.map(|q| QuietHours { start: q.start, end: q.end, timezone: q.timezone }),
            email_digest: p.email_digest.map(|d| DailyDigest { at: d.at, timezone: d.timezone }),
        }
    }
}

/// Settings as set, and as they apply.
#[derive(SimpleObject)]
#[graphql(name = "NotificationPreferenceSettings")]
pub(crate) struct NotificationPreferenceSettingsObject {
    /// As set at this level (nulls follow the level below).
    own: NotificationPreferencesObject,
    /// As they apply: every channel decided.
    effective: NotificationPreferencesObject,
}

impl From<PreferenceView> for NotificationPreferenceSettingsObject {
    fn from(v: PreferenceView) -> Self {
        Self { own: v.own.into(), effective: v.effective.into() }
    }
}

/// Queries about notification preferences.
#[derive(Default)]
pub(super) struct PreferenceQueries;

#[operations]
#[Object]
impl PreferenceQueries {
    /// The caller's notification channels and quiet hours in the current tenant.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn my_notification_preferences(&self, ctx: &Context<'_>) -> ApiResult<NotificationPreferenceSettingsObject> {
        Ok(services(ctx)?.notify.my_preferences(request(ctx)?).await?.into())
    }

    /// The tenant's default channels and quiet hours for everyone.
    #[access(Requires(Permission::NotificationRead))]
    async fn tenant_notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<NotificationPreferenceSettingsObject> {
        Ok(services(ctx)?.notify.tenant_preferences(request(ctx)?).await?.into())
    }
}

/// Mutations about notification preferences.
#[derive(Default)]
pub(super) struct PreferenceMutations;

#[operations]
#[Object]
impl PreferenceMutations {
    /// Sets the caller's channels and quiet hours in the current tenant (all
    /// fields; nulls follow the tenant's). Urgent messages ignore them.
    #[access(RequiresInPerson(Permission::TenantRead))]
    async fn set_my_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: NotificationPreferencesObject,
    ) -> ApiResult<NotificationPreferenceSettingsObject> {
        Ok(services(ctx)?.notify.set_my_preferences(request(ctx)?, input.into()).await?.into())
    }

    /// Sets the tenant's default channels and quiet hours (all fields; nulls mean on
    /// and none). Each member's own settings win over these.
    #[access(Requires(Permission::NotificationManage))]
    async fn set_tenant_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: NotificationPreferencesObject,
    ) -> ApiResult<NotificationPreferenceSettingsObject> {
        Ok(services(ctx)?.notify.set_tenant_preferences(request(ctx)?, input.into()).await?.into())
    }
}
