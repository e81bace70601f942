//! Who is reached on which channel, and when not: channel preferences and quiet
//! hours, set by the tenant for everyone and by each member for themselves.
//!
//! A member's setting wins over the tenant's, which wins over the default (every
//! channel on, no quiet hours, no digest). Urgent messages (a password reset)
//! ignore all of it: the person asked for them. Quiet hours hold email, SMS and
//! push until the window ends; in-app messages are silent and never held; webhooks
//! are not a person's. A daily digest gathers routine emails (low and normal
//! priority, nothing tied to a time, such as a reminder) into one email a day.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tessera_kernel::{DomainError, Result, TenantId, UserId};

use crate::entity::preference;
use crate::model::{Channel, Priority};
use crate::service::NotifyService;

/// The owner value of a tenant's defaults.
pub(crate) const TENANT_OWNER: &str = "tenant";

/// A daily window in which messages wait, in a timezone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    /// When it begins, `HH:MM`.
    pub start: String,
    /// When it ends, `HH:MM` (earlier than the start: it spans midnight).
    pub end: String,
    /// The IANA timezone the times are in.
    pub timezone: String,
}

/// A daily email digest: routine emails wait and go together at this local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDigest {
    /// When, `HH:MM`.
    pub at: String,
    /// The IANA timezone of `at`.
    pub timezone: String,
}

/// One level's settings; `None` follows the level below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// Email on or off.
    pub email: Option<bool>,
    /// SMS on or off.
    pub sms: Option<bool>,
    /// Push on or off.
    pub push: Option<bool>,
    /// In-app on or off.
    pub in_app: Option<bool>,
    /// Quiet hours.
    pub quiet_hours: Option<QuietHours>,
    /// A daily digest of routine emails.
    pub email_digest: Option<DailyDigest>,
}

/// A member's own settings and what applies to them after the tenant's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferenceView {
    /// As they set them.
    pub own: Preferences,
    /// As they apply (every channel decided).
    pub effective: Preferences,
}

/// A parsed quiet-hours window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    start: NaiveTime,
    end: NaiveTime,
    timezone: Tz,
}

impl Window {
    pub(crate) fn parse(quiet: &QuietHours) -> Result<Self> {
        let time = |field: &str, value: &str| {
            NaiveTime::parse_from_str(value, "%H:%M")
                .map_err(|_| DomainError::invalid(format!("quietHours.{field}"), "must be a time like 22:00"))
        };
        let start = time("start", &quiet.start)?;
        let end = time("end", &quiet.end)?;
        if start == end {
            return Err(DomainError::invalid("quietHours.end", "must differ from the start"));
        }
        let timezone = quiet
            .timezone
            .parse::<Tz>()
            .map_err(|_| DomainError::invalid("quietHours.timezone", "must be an IANA timezone like Europe/Madrid"))?;
        Ok(Self { start, end, timezone })
    }

    /// When the window ends, if `at` falls inside it.
    pub(crate) fn holds_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.timezone).naive_local();
        let time = local.time();
        let inside = if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return None;
        }
        let mut end_day = local.date();
        if time >= self.end {
            end_day = end_day.checked_add_days(Days::new(1))?;
        }
        let end_local = end_day.and_time(self.end);
        // A local time skipped by a daylight-saving change ends an hour later.
        let end = self
            .timezone
            .from_local_datetime(&end_local)
            .earliest()
            .or_else(|| self.timezone.from_local_datetime(&(end_local + chrono::Duration::hours(1))).earliest())?;
        Some(end.with_timezone(&Utc))
    }
}

/// A parsed daily time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Daily {
    at: NaiveTime,
    timezone: Tz,
}

impl Daily {
    pub(crate) fn parse(digest: &DailyDigest) -> Result<Self> {
        let at = NaiveTime::parse_from_str(&digest.at, "%H:%M")
            .map_err(|_| DomainError::invalid("emailDigest.at", "must be a time like 18:00"))?;
        let timezone = digest
            .timezone
            .parse::<Tz>()
            .map_err(|_| DomainError::invalid("emailDigest.timezone", "must be an IANA timezone like Europe/Madrid"))?;
        Ok(Self { at, timezone })
    }

    /// The first time of day strictly after `instant`.
    pub(crate) fn next_after(&self, instant: DateTime<Utc>) -> DateTime<Utc> {
        let local = instant.with_timezone(&self.timezone).naive_local();
        let mut day = local.date();
        if local.time() >= self.at {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        }
        let wanted = day.and_time(self.at);
        self.timezone
            .from_local_datetime(&wanted)
            .earliest()
            .or_else(|| self.timezone.from_local_datetime(&(wanted + chrono::Duration::hours(1))).earliest())
            .map_or(instant, |t| t.with_timezone(&Utc))
    }
}

/// What applies to one recipient.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effective {
    channels: HashMap<Channel, bool>,
    quiet: Option<Window>,
    digest: Option<Daily>,
}

impl Effective {
    /// Settles the tenant's and the member's settings (either may be absent).
    pub(crate) fn of(tenant: Option<&preference::Model>, member: Option<&preference::Model>) -> Self {
        let pick = |get: fn(&preference::Model) -> Option<bool>| {
            member.and_then(get).or_else(|| tenant.and_then(get)).unwrap_or(true)
        };
        let channels = HashMap::from([
            (Channel::Email, pick(|p| p.email)),
            (Channel::Sms, pick(|p| p.sms)),
            (Channel::Push, pick(|p| p.push)),
            (Channel::InApp, pick(|p| p.in_app)),
        ]);
        let window = |p: &preference::Model| quiet_of(p).and_then(|q| Window::parse(&q).ok());
        let quiet = member.and_then(window).or_else(|| tenant.and_then(window));
        let daily = |p: &preference::Model| digest_of(p).and_then(|d| Daily::parse(&d).ok());
        let digest = member.and_then(daily).or_else(|| tenant.and_then(daily));
        Self { channels, quiet, digest }
    }

    /// When a message queued at `queued_at` goes out with the recipient's daily
    /// digest, if it is one for the digest: a routine email (low or normal
    /// priority) that is not tied to a time.
    pub(crate) fn digest_slot(
        &self,
        channel: Channel,
        priority: Priority,
        timely: bool,
        queued_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let routine = channel == Channel::Email && priority <= Priority::Normal && !timely;
        self.digest.filter(|_| routine).map(|d| d.next_after(queued_at))
    }

    /// Why `channel` may not carry a message of `priority` at all, if it may not.
    pub(crate) fn refuses(&self, channel: Channel, priority: Priority) -> Option<&'static str> {
        if priority == Priority::Urgent || self.channels.get(&channel).copied().unwrap_or(true) {
            return None;
        }
        Some(match channel {
            Channel::Email => "the recipient turned email off",
            Channel::Sms => "the recipient turned SMS off",
            Channel::Push => "the recipient turned push off",
            Channel::InApp => "the recipient turned in-app messages off",
            Channel::Webhook => return None,
        })
    }

    /// Until when a message of `priority` over `channel` waits at `at`, if it does.
    pub(crate) fn holds(&self, channel: Channel, priority: Priority, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let disturbs = matches!(channel, Channel::Email | Channel::Sms | Channel::Push);
        if !disturbs || priority == Priority::Urgent {
            return None;
        }
        self.quiet.and_then(|w| w.holds_until(at))
    }
}

pub(crate) fn quiet_of(row: &preference::Model) -> Option<QuietHours> {
    match (&row.quiet_start, &row.quiet_end, &row.timezone) {
        (Some(start), Some(end), Some(timezone)) => {
            Some(QuietHours { start: start.clone(), end: end.clone(), timezone: timezone.clone() })
        }
        _ => None,
    }
}

pub(crate) fn digest_of(row: &preference::Model) -> Option<DailyDigest> {
    match (&row.digest_at, &row.digest_timezone) {
        (Some(at), Some(timezone)) => Some(DailyDigest { at: at.clone(), timezone: timezone.clone() }),
        _ => None,
    }
}

pub(crate) fn to_preferences(row: Option<&preference::Model>) -> Preferences {
    row.map_or_else(Preferences::default, |p| Preferences {
        email: p.email,
        sms: p.sms,
        push: p.push,
        in_app: p.in_app,
        quiet_hours: quiet_of(p),
        email_digest: digest_of(p),
    })
}

/// The tenant's and these members' settings, keyed by owner (`tenant` or a user id).
pub(crate) async fn load<C: ConnectionTrait>(
    conn: &C,
    tenant_ids: &[TenantId],
) -> Result<HashMap<(TenantId, String), preference::Model>> {
    if tenant_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = preference::Entity::find()
        .filter(preference::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|p| ((p.tenant_id, p.owner.clone()), p)).collect())
}

/// What applies to `user` (or to anyone without an account) in `tenant_id`.
pub(crate) fn effective_for(
    loaded: &HashMap<(TenantId, String), preference::Model>,
    tenant_id: TenantId,
    user: Option<UserId>,
) -> Effective {
    let tenant = loaded.get(&(tenant_id, TENANT_OWNER.to_owned()));
    let member = user.and_then(|u| loaded.get(&(tenant_id, u.to_string())));
    Effective::of(tenant, member)
}

/// What applies to each of `users` in `tenant_id`, in order, from one read
/// in `conn`.
pub(crate) async fn effective_for_each<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    users: &[Option<UserId>],
) -> Result<Vec<Effective>> {
    let rows = rows_of_all(conn, tenant_id, users).await?;
    let loaded = rows.into_iter().map(|p| ((p.tenant_id, p.owner.clone()), p)).collect();
    Ok(users.iter().map(|user| effective_for(&loaded, tenant_id, *user)).collect())
}

/// The tenant's row and `user`'s, where they exist.
pub(crate) async fn rows_of<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    user: Option<UserId>,
) -> Result<Vec<preference::Model>> {
    rows_of_all(conn, tenant_id, &[user]).await
}

/// The tenant's row and each of `users`', where they exist.
async fn rows_of_all<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    users: &[Option<UserId>],
) -> Result<Vec<preference::Model>> {
    let mut owners = vec![TENANT_OWNER.to_owned()];
    owners.extend(users.iter().flatten().map(ToString::to_string));
    owners.sort();
    owners.dedup();
    Ok(preference::Entity::find()
        .filter(preference::Column::TenantId.eq(tenant_id))
        .filter(preference::Column::Owner.is_in(owners))
        .all(conn)
        .await?)
}

impl NotifyService {}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: &str, end: &str, tz: &str) -> Window {
        Window::parse(&QuietHours { start: start.into(), end: end.into(), timezone: tz.into() }).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_window_across_midnight_holds_until_its_end_in_local_time() {
        let night = window("22:00", "07:00", "Europe/Madrid");
        // 23:30 in Madrid (UTC+1 in March) waits until 07:00 local the next day.
        assert_eq!(night.holds_until(utc("2026-03-02T22:30:00Z")), Some(utc("2026-03-03T06:00:00Z")));
        // 05:00 local waits until 07:00 the same day.
        assert_eq!(night.holds_until(utc("2026-03-03T04:00:00Z")), Some(utc("2026-03-03T06:00:00Z")));
        assert_eq!(night.holds_until(utc("2026-03-03T12:00:00Z")), None, "midday is not quiet");
        assert_eq!(night.holds_until(utc("2026-03-03T06:00:00Z")), None, "the end is not quiet");
    }

    #[test]
    fn a_daytime_window_and_a_daylight_saving_night_are_handled() {
        let lunch = window("13:00", "15:00", "UTC");
        assert_eq!(lunch.holds_until(utc("2026-03-03T14:00:00Z")), Some(utc("2026-03-03T15:00:00Z")));
        assert_eq!(lunch.holds_until(utc("2026-03-03T16:00:00Z")), None);
        // Madrid skips 02:00–03:00 on 29 March 2026: a window ending at 02:30 ends at 03:30.
        let early = window("01:00", "02:30", "Europe/Madrid");
        assert_eq!(early.holds_until(utc("2026-03-29T00:30:00Z")), Some(utc("2026-03-29T01:30:00Z")));
    }

    #[test]
    fn a_digest_goes_at_the_next_daily_time_and_takes_only_routine_email() {
        let daily = Daily::parse(&DailyDigest { at: "18:00".into(), timezone: "Europe/Madrid".into() }).unwrap();
        assert_eq!(daily.next_after(utc("2026-03-02T08:00:00Z")), utc("2026-03-02T17:00:00Z"));
        assert_eq!(daily.next_after(utc("2026-03-02T17:00:00Z")), utc("2026-03-03T17:00:00Z"), "strictly after");
        let effective = Effective { digest: Some(daily), ..Effective::default() };
        let queued = utc("2026-03-02T08:00:00Z");
        assert_eq!(
            effective.digest_slot(Channel::Email, Priority::Normal, false, queued),
            Some(utc("2026-03-02T17:00:00Z"))
        );
        assert_eq!(effective.digest_slot(Channel::Email, Priority::High, false, queued), None, "changes go at once");
        assert_eq!(
            effective.digest_slot(Channel::Email, Priority::Low, true, queued),
            None,
            "a reminder keeps its time"
        );
        assert_eq!(effective.digest_slot(Channel::Sms, Priority::Low, false, queued), None, "only email");
    }

    #[test]
    fn bad_windows_are_refused_with_the_field() {
        let bad = QuietHours { start: "25:00".into(), end: "07:00".into(), timezone: "UTC".into() };
        assert!(Window::parse(&bad).is_err());
        let bad_tz = QuietHours { start: "22:00".into(), end: "07:00".into(), timezone: "Mars/Base".into() };
        assert!(Window::parse(&bad_tz).is_err());
    }

    #[test]
    fn the_member_wins_over_the_tenant_and_urgent_ignores_both() {
        let row = |owner: &str, sms: Option<bool>, quiet: bool| preference::Model {
            id: uuid::Uuid::nil(),
            tenant_id: TenantId(uuid::Uuid::nil()),
            owner: owner.into(),
            email: None,
            sms,
            push: None,
            in_app: None,
            quiet_start: quiet.then(|| "22:00".into()),
            quiet_end: quiet.then(|| "07:00".into()),
            timezone: quiet.then(|| "UTC".into()),
            updated_at: DateTime::<Utc>::default(),
            digest_at: None,
            digest_timezone: None,
        };
        let tenant = row(TENANT_OWNER, Some(false), true);
        let member = row("u", Some(true), false);
        let theirs = Effective::of(Some(&tenant), Some(&member));
        assert_eq!(theirs.refuses(Channel::Sms, Priority::Normal), None, "the member turned SMS back on");
        let everyone = Effective::of(Some(&tenant), None);
        assert!(everyone.refuses(Channel::Sms, Priority::Normal).is_some());
        assert_eq!(everyone.refuses(Channel::Sms, Priority::Urgent), None);
        let night = utc("2026-03-02T23:00:00Z");
        assert_eq!(theirs.holds(Channel::Email, Priority::High, night), Some(utc("2026-03-03T07:00:00Z")));
        assert_eq!(theirs.holds(Channel::Email, Priority::Urgent, night), None);
        assert_eq!(theirs.holds(Channel::InApp, Priority::Low, night), None, "in-app is silent");
    }
}
