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
use itertools::Itertools;
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
pub(crate) fn overlaps_busy(busy: &[Busy], from: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    // Busy ranges are sorted by start and never overlap each other (the database
    // guarantees it), so their ends are sorted too.
    let first_ending_after = busy.partition_point(|(_, end)| *end <= from);
    busy.get(first_ending_after).is_some_and(|(start, _)| *start < until)
}

/// The first `limit` bookable starts across several providers' searches, in
/// the order pages follow (start, then provider).
///
/// Each provider's starts are computed lazily, a day at a time, and merged as
/// they are taken: a search of fifty providers computes about as many starts
/// as it returns, where computing a page for each and sorting them computed
/// fifty pages to keep one.
#[cfg(test)]
pub(crate) fn first_slots<'a>(
    searches: impl IntoIterator<Item = (Calendar<'a>, SlotQuery)>,
    limit: usize,
) -> Vec<Slot> {
    first_slots_where(searches, limit, |_| true)
}

/// [`first_slots`], of the starts `keep` keeps (those a resource is free
/// for, say).
pub(crate) fn first_slots_where<'a>(
    searches: impl IntoIterator<Item = (Calendar<'a>, SlotQuery)>,
    limit: usize,
    keep: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    searches.into_iter().map(|(calendar, query)| slots(calendar, query)).kmerge().filter(keep).take(limit).collect()
}

/// The bookable starts of `calendar` for `query` after `query.after`, in
/// order, each day computed when the one before it is used up.
fn slots(calendar: Calendar<'_>, query: SlotQuery) -> impl Iterator<Item = Slot> + '_ {
    query
        .from
        .iter_days()
        .take_while(move |date| *date <= query.to)
        .flat_map(move |date| day_slots(&calendar, &query, date))
}

/// The bookable starts of `calendar` on the local `date`, in order.
fn day_slots(calendar: &Calendar<'_>, query: &SlotQuery, date: NaiveDate) -> Vec<Slot> {
    let provider = calendar.provider_id;
    let past_cursor = |start: DateTime<Utc>| {
        query.after.is_none_or(|(after_start, after_provider)| (start, provider) > (after_start, after_provider))
    };
    let step = i16::try_from(query.step_minutes.max(1)).unwrap_or(15);
    let mut found = Vec::new();
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
                if inside && allowed && past_cursor(start) && !overlaps_busy(calendar.busy, blocked_from, blocked_until)
                {
                    found.push(Slot {
                        starts_at: start,
                        provider_id: provider,
                        ends_at,
                        price_minor: query.price_minor,
                    });
                }
            }
            minute += step;
        }
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
mod tests;
