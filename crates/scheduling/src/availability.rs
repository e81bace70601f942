//! Availability: which start times a provider can take, computed in memory from
//! data loaded in a fixed number of queries.
//!
//! Working time is written in the tenant's local time (weekly windows, dated
//! exceptions) and turned into UTC instants per date, so a 09:00–17:00 day stays
//! 09:00–17:00 across daylight-saving changes. Candidate starts are local times on
//! the slot step (09:00, 09:15, …); a local time that does not exist (the hour skipped
//! in spring) is no candidate, and one that occurs twice (autumn) means its first
//! occurrence. A start is offered when the whole blocked range — buffer before,
//! service and add-ons, buffer after — lies inside one working window and overlaps
//! no booking.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use tessera_kernel::ProviderId;

use crate::model::{DayWindow, ExceptionKind, OpeningMode, ScheduleException, WeeklyInterval};

/// A time range `[from, until)` that is taken.
pub(crate) type Busy = (DateTime<Utc>, DateTime<Utc>);

/// One provider's calendar for the dates asked about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendar<'a> {
    /// Whose calendar.
    pub(crate) provider_id: ProviderId,
    /// Weekly working windows.
    pub(crate) weekly: &'a [WeeklyInterval],
    /// Exceptions: the provider's own and the tenant-wide ones.
    pub(crate) exceptions: &'a [ScheduleException],
    /// Blocked ranges of existing active bookings, sorted by start.
    pub(crate) busy: &'a [Busy],
}

/// What is being booked and within which limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotQuery {
    /// The tenant's timezone.
    pub(crate) timezone: Tz,
    /// First local date.
    pub(crate) from: NaiveDate,
    /// Last local date (inclusive).
    pub(crate) to: NaiveDate,
    /// Service plus add-ons.
    pub(crate) duration: Duration,
    /// What the appointment costs, quoted with each start.
    pub(crate) price_minor: i64,
    /// Preparation before.
    pub(crate) buffer_before: Duration,
    /// Clean-up after.
    pub(crate) buffer_after: Duration,
    /// Spacing of offered starts, in minutes.
    pub(crate) step_minutes: u32,
    /// No start before this (now + minimum notice).
    pub(crate) earliest: DateTime<Utc>,
    /// No start after this (now + booking horizon).
    pub(crate) latest: DateTime<Utc>,
    /// Only starts after this one (a page's last start and provider).
    pub(crate) after: Option<(DateTime<Utc>, ProviderId)>,
    /// At most this many starts.
    pub(crate) limit: usize,
}

/// A bookable start. Ordered by start, then provider: the order pages follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Who.
    pub provider_id: ProviderId,
    /// End of the service and add-ons (providers may take different times).
    pub ends_at: DateTime<Utc>,
    /// What it costs with this provider, add-ons included, in minor units.
    pub price_minor: i64,
}

fn subtract(windows: Vec<DayWindow>, cut: DayWindow) -> Vec<DayWindow> {
    let mut out = Vec::with_capacity(windows.len() + 1);
    for w in windows {
        if cut.end_minute <= w.start_minute || cut.start_minute >= w.end_minute {
            out.push(w);
            continue;
        }
        if w.start_minute < cut.start_minute {
            out.push(DayWindow { start_minute: w.start_minute, end_minute: cut.start_minute });
        }
        if cut.end_minute < w.end_minute {
            out.push(DayWindow { start_minute: cut.end_minute, end_minute: w.end_minute });
        }
    }
    out
}

fn merge(mut windows: Vec<DayWindow>) -> Vec<DayWindow> {
    windows.sort();
    let mut out: Vec<DayWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if w.start_minute <= last.end_minute => last.end_minute = last.end_minute.max(w.end_minute),
            _ => out.push(w),
        }
    }
    out
}

/// The local working windows of `calendar` on `date`.
pub(crate) fn local_windows(calendar: &Calendar<'_>, date: NaiveDate) -> Vec<DayWindow> {
    let applies = |e: &&ScheduleException| e.date == date && e.provider_id.is_none_or(|p| p == calendar.provider_id);
    let exceptions: Vec<&ScheduleException> = calendar.exceptions.iter().filter(applies).collect();
    let opened =
        |mode: OpeningMode| exceptions.iter().filter(move |e| e.opening == Some(mode)).filter_map(|e| e.window);
    let replacing: Vec<DayWindow> = opened(OpeningMode::ReplaceWeeklyHours).collect();
    let weekday = u8::try_from(date.weekday().num_days_from_monday()).unwrap_or(0);
    let mut windows = if replacing.is_empty() {
        calendar.weekly.iter().filter(|i| i.weekday == weekday).map(|i| i.window).collect()
    } else {
        replacing
    };
    windows.extend(opened(OpeningMode::AddToWeeklyHours));
    for closed in exceptions.iter().filter(|e| e.kind == ExceptionKind::Closed) {
        match closed.window {
            None => return Vec::new(),
            Some(cut) => windows = subtract(windows, cut),
        }
    }
    merge(windows)
}

fn local(date: NaiveDate, minute: i16) -> NaiveDateTime {
    date.and_time(chrono::NaiveTime::MIN) + Duration::minutes(i64::from(minute))
}

/// The instant of a local time, or `None` if the clocks skip it.
fn instant(tz: Tz, at: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&at) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The UTC offset of every local time in `window` on `date`, when the clocks
/// do not change within it (all but a few days a year). Finding the offset of
/// each candidate start in the timezone's rules was most of a search; one
/// offset for the window is the same answer when both its ends share it.
fn steady_offset(tz: Tz, date: NaiveDate, window: DayWindow) -> Option<Duration> {
    let offset_at = |minute: i16| match tz.offset_from_local_datetime(&local(date, minute)) {
        LocalResult::Single(offset) => Some(offset.fix()),
        _ => None,
    };
    let start = offset_at(window.start_minute)?;
    (offset_at(window.end_minute)? == start).then(|| Duration::seconds(i64::from(start.local_minus_utc())))
}

/// The instant of a window edge; an edge inside a skipped hour moves to its end.
fn edge(tz: Tz, at: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = at;
    for _ in 0..=180 {
        if let Some(t) = instant(tz, probe) {
            return t;
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&at)
}

/// The working windows of `calendar` on `date`, as UTC ranges.
pub(crate) fn utc_windows(calendar: &Calendar<'_>, tz: Tz, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    local_windows(calendar, date)
        .into_iter()
        .map(|w| (edge(tz, local(date, w.start_minute)), edge(tz, local(date, w.end_minute))))
        .filter(|(start, end)| start < end)
        .collect()
}

/// Whether `[from, until)` overlaps a busy range.
fn overlaps_busy(busy: &[Busy], from: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    // Busy ranges are sorted by start and never overlap each other (the database
    // guarantees it), so their ends are sorted too.
    let first_ending_after = busy.partition_point(|(_, end)| *end <= from);
    busy.get(first_ending_after).is_some_and(|(start, _)| *start < until)
}

/// The first `query.limit` bookable starts of `calendar` for `query` after
/// `query.after`, in order.
pub(crate) fn slots(calendar: &Calendar<'_>, query: &SlotQuery) -> Vec<Slot> {
    let provider = calendar.provider_id;
    let past_cursor = |start: DateTime<Utc>| {
        query.after.is_none_or(|(after_start, after_provider)| (start, provider) > (after_start, after_provider))
    };
    let step = i16::try_from(query.step_minutes.max(1)).unwrap_or(15);
    let mut found = Vec::new();
    let mut date = query.from;
    while date <= query.to {
        for window in local_windows(calendar, date) {
            let (window_start, window_end) = (
                edge(query.timezone, local(date, window.start_minute)),
                edge(query.timezone, local(date, window.end_minute)),
            );
            let offset = steady_offset(query.timezone, date, window);
            let mut minute = (window.start_minute + step - 1) / step * step;
            while minute < window.end_minute {
                let start = match offset {
                    Some(offset) => Some(Utc.from_utc_datetime(&(local(date, minute) - offset))),
                    None => instant(query.timezone, local(date, minute)),
                };
                if let Some(start) = start {
                    let blocked_from = start - query.buffer_before;
                    let ends_at = start + query.duration;
                    let blocked_until = ends_at + query.buffer_after;
                    let inside = window_start <= blocked_from && blocked_until <= window_end;
                    let allowed = query.earliest <= start && start <= query.latest;
                    if inside
                        && allowed
                        && past_cursor(start)
                        && !overlaps_busy(calendar.busy, blocked_from, blocked_until)
                    {
                        found.push(Slot {
                            starts_at: start,
                            provider_id: provider,
                            ends_at,
                            price_minor: query.price_minor,
                        });
                        if found.len() >= query.limit {
                            return found;
                        }
                    }
                }
                minute += step;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    found
}

/// Whether the blocked range `[from, until)` lies inside one working window of
/// `calendar` (used to check a booking at an arbitrary time).
pub(crate) fn within_working_time(calendar: &Calendar<'_>, tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    let first = from.with_timezone(&tz).date_naive();
    let mut dates = vec![first];
    if let Some(previous) = first.pred_opt() {
        dates.push(previous);
    }
    dates.iter().any(|date| utc_windows(calendar, tz, *date).iter().any(|(start, end)| *start <= from && until <= *end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: i32, end: i32) -> DayWindow {
        DayWindow::new("w", start, end).expect("valid window")
    }

    fn every_day(start: i32, end: i32) -> Vec<WeeklyInterval> {
        (0..7).map(|weekday| WeeklyInterval { weekday, window: window(start, end) }).collect()
    }

    fn query(tz: Tz, date: NaiveDate, minutes: i64, step: u32) -> SlotQuery {
        SlotQuery {
            timezone: tz,
            from: date,
            to: date,
            duration: Duration::minutes(minutes),
            price_minor: 0,
            buffer_before: Duration::zero(),
            buffer_after: Duration::zero(),
            step_minutes: step,
            earliest: DateTime::<Utc>::MIN_UTC,
            latest: DateTime::<Utc>::MAX_UTC,
            after: None,
            limit: usize::MAX,
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    fn provider() -> ProviderId {
        ProviderId(uuid::Uuid::nil())
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    #[test]
    fn a_working_day_offers_every_step_that_fits() {
        let weekly = every_day(9 * 60, 17 * 60);
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
        let found = slots(&calendar, &query(chrono_tz::Europe::Madrid, day(2026, 6, 10), 30, 15));
        assert_eq!(found.len(), 31, "09:00 … 16:30");
        assert_eq!(found[0].starts_at, utc("2026-06-10T07:00:00Z"), "09:00 in Madrid summer time");
    }

    #[test]
    fn every_start_is_the_instant_the_timezone_rules_give_on_every_day_of_a_year() {
        // Half-hour and 45-minute offsets, a half-hour daylight shift, both hemispheres.
        let zones = [
            chrono_tz::Europe::Madrid,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kathmandu,
        ];
        let whole_day = window(0, 24 * 60);
        for tz in zones {
            let mut date = day(2026, 1, 1);
            while date.year() == 2026 {
                let offset = steady_offset(tz, date, whole_day);
                for minute in (0..24 * 60).step_by(15) {
                    let rules = instant(tz, local(date, minute));
                    match offset {
                        Some(offset) => assert_eq!(
                            Some(Utc.from_utc_datetime(&(local(date, minute) - offset))),
                            rules,
                            "{tz} {date} minute {minute}"
                        ),
                        None => assert!(
                            tz.offset_from_local_datetime(&local(date, 0)).single().map(|o| o.fix())
                                != tz.offset_from_local_datetime(&local(date, 24 * 60)).single().map(|o| o.fix()),
                            "{tz} {date}: no steady offset only where the clocks change"
                        ),
                    }
                }
                date = date.succ_opt().expect("a next day");
            }
        }
    }

    #[test]
    fn the_skipped_spring_hour_offers_no_start_and_durations_stay_exact() {
        let weekly = every_day(0, 6 * 60);
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
        let found = slots(&calendar, &query(chrono_tz::America::New_York, day(2026, 3, 8), 60, 60));
        let starts: Vec<_> = found.iter().map(|s| s.starts_at).collect();
        // 00:00 and 01:00 EST, then 03:00, 04:00 EDT (02:00 does not exist); the
        // window ends at 06:00 EDT = 10:00 UTC, five hours after it began.
        assert_eq!(
            starts,
            vec![
                utc("2026-03-08T05:00:00Z"),
                utc("2026-03-08T06:00:00Z"),
                utc("2026-03-08T07:00:00Z"),
                utc("2026-03-08T08:00:00Z"),
                utc("2026-03-08T09:00:00Z"),
            ]
        );
        assert!(found.iter().all(|s| s.ends_at - s.starts_at == Duration::minutes(60)));
    }

    #[test]
    fn the_repeated_autumn_hour_is_offered_once() {
        let weekly = every_day(0, 4 * 60);
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
        let found = slots(&calendar, &query(chrono_tz::America::New_York, day(2026, 11, 1), 60, 60));
        let starts: Vec<_> = found.iter().map(|s| s.starts_at).collect();
        // The day is 5 hours long: 00:00 EDT (04:00Z) … 04:00 EST (09:00Z).
        assert_eq!(
            starts,
            vec![
                utc("2026-11-01T04:00:00Z"),
                utc("2026-11-01T05:00:00Z"),
                utc("2026-11-01T07:00:00Z"),
                utc("2026-11-01T08:00:00Z"),
            ]
        );
    }

    #[test]
    fn bookings_and_buffers_take_their_time() {
        let weekly = every_day(9 * 60, 12 * 60);
        let busy = [(utc("2026-06-10T08:00:00Z"), utc("2026-06-10T09:00:00Z"))]; // 10:00–11:00 local
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &busy };
        let mut q = query(chrono_tz::Europe::Madrid, day(2026, 6, 10), 30, 30);
        q.buffer_after = Duration::minutes(15);
        let starts: Vec<_> = slots(&calendar, &q).iter().map(|s| s.starts_at).collect();
        // 09:00 (ends 09:45 with clean-up); 09:30 runs into the 10:00 booking; 11:00
        // fits; 11:30 would clean up past closing time.
        assert_eq!(starts, vec![utc("2026-06-10T07:00:00Z"), utc("2026-06-10T09:00:00Z")]);
    }

    #[test]
    fn exceptions_close_days_and_windows_and_open_special_hours() {
        let weekly = every_day(9 * 60, 17 * 60);
        let date = day(2026, 6, 10);
        let exceptions = vec![
            ScheduleException {
                id: tessera_kernel::ScheduleExceptionId(uuid::Uuid::nil()),
                provider_id: None,
                date,
                kind: ExceptionKind::Closed,
                opening: None,
                window: Some(window(12 * 60, 13 * 60)),
                reason: None,
            },
            ScheduleException {
                id: tessera_kernel::ScheduleExceptionId(uuid::Uuid::nil()),
                provider_id: Some(provider()),
                date: day(2026, 6, 11),
                kind: ExceptionKind::Closed,
                opening: None,
                window: None,
                reason: None,
            },
            ScheduleException {
                id: tessera_kernel::ScheduleExceptionId(uuid::Uuid::nil()),
                provider_id: None,
                date: day(2026, 6, 14),
                kind: ExceptionKind::Open,
                opening: Some(OpeningMode::ReplaceWeeklyHours),
                window: Some(window(10 * 60, 12 * 60)),
                reason: None,
            },
            ScheduleException {
                id: tessera_kernel::ScheduleExceptionId(uuid::Uuid::nil()),
                provider_id: Some(provider()),
                date: day(2026, 6, 15),
                kind: ExceptionKind::Open,
                opening: Some(OpeningMode::AddToWeeklyHours),
                window: Some(window(17 * 60, 19 * 60)),
                reason: None,
            },
        ];
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &exceptions, busy: &[] };
        assert_eq!(local_windows(&calendar, date), vec![window(540, 720), window(780, 1020)]);
        assert!(local_windows(&calendar, day(2026, 6, 11)).is_empty());
        assert_eq!(local_windows(&calendar, day(2026, 6, 14)), vec![window(600, 720)]);
        assert_eq!(local_windows(&calendar, day(2026, 6, 15)), vec![window(540, 1140)], "an evening added on");
    }

    #[test]
    fn notice_and_horizon_bound_the_offer() {
        let weekly = every_day(9 * 60, 12 * 60);
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
        let mut q = query(chrono_tz::UTC, day(2026, 6, 10), 60, 60);
        q.earliest = utc("2026-06-10T10:00:00Z");
        q.latest = utc("2026-06-10T10:00:00Z");
        let starts: Vec<_> = slots(&calendar, &q).iter().map(|s| s.starts_at).collect();
        assert_eq!(starts, vec![utc("2026-06-10T10:00:00Z")]);
    }

    #[test]
    fn a_booking_must_fit_inside_working_time() {
        let weekly = every_day(9 * 60, 17 * 60);
        let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
        let tz = chrono_tz::UTC;
        assert!(within_working_time(&calendar, tz, utc("2026-06-10T16:00:00Z"), utc("2026-06-10T17:00:00Z")));
        assert!(!within_working_time(&calendar, tz, utc("2026-06-10T16:30:00Z"), utc("2026-06-10T17:30:00Z")));
        assert!(!within_working_time(&calendar, tz, utc("2026-06-10T07:00:00Z"), utc("2026-06-10T08:00:00Z")));
    }
}
