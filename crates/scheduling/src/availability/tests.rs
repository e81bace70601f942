//! Availability's rules, date by date and zone by zone.

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

fn all_slots(calendar: Calendar<'_>, query: SlotQuery) -> Vec<Slot> {
    slots(calendar, query).collect()
}

#[test]
fn providers_are_merged_by_start_then_provider_up_to_the_limit() {
    let (early, late) = (every_day(9 * 60, 12 * 60), every_day(10 * 60, 13 * 60));
    let (first, second) = (ProviderId(uuid::Uuid::from_u128(1)), ProviderId(uuid::Uuid::from_u128(2)));
    let busy = [(utc("2026-06-10T10:00:00Z"), utc("2026-06-10T11:00:00Z"))];
    let calendars = [
        Calendar { provider_id: second, weekly: &late, exceptions: &[], busy: &[] },
        Calendar { provider_id: first, weekly: &early, exceptions: &[], busy: &busy },
    ];
    let mut q = query(chrono_tz::UTC, day(2026, 6, 10), 60, 60);
    q.to = day(2026, 6, 12);
    let mut everything: Vec<Slot> = calendars.iter().flat_map(|c| all_slots(*c, q)).collect();
    everything.sort();
    assert_eq!(everything.len(), 3 * 3 + 3 * 3 - 1, "three starts a day each, one taken");
    for limit in [1, 4, 5, 17, 100] {
        let merged = first_slots(calendars.iter().map(|c| (*c, q)), limit);
        assert_eq!(merged, everything[..limit.min(everything.len())], "limit {limit}");
    }
    let starts: Vec<_> = first_slots(calendars.iter().map(|c| (*c, q)), 4)
        .iter()
        .map(|s| (s.starts_at, s.provider_id == first))
        .collect();
    assert_eq!(
        starts,
        vec![
            (utc("2026-06-10T09:00:00Z"), true),
            (utc("2026-06-10T10:00:00Z"), false),
            (utc("2026-06-10T11:00:00Z"), true),
            (utc("2026-06-10T11:00:00Z"), false),
        ],
        "the first provider's 10:00 is booked; equal starts go by provider"
    );
}

#[test]
fn starts_are_found_as_they_are_taken_however_far_the_search_reaches() {
    // Computing every start up to the last date first would not finish.
    let weekly = every_day(9 * 60, 17 * 60);
    let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
    let mut q = query(chrono_tz::Europe::Madrid, day(2026, 6, 10), 30, 15);
    q.to = NaiveDate::MAX;
    let first = slots(calendar, q).next().expect("a start");
    assert_eq!(first.starts_at, utc("2026-06-10T07:00:00Z"));
    assert_eq!(first_slots([(calendar, q)], 3).len(), 3);
}

#[test]
fn a_working_day_offers_every_step_that_fits() {
    let weekly = every_day(9 * 60, 17 * 60);
    let calendar = Calendar { provider_id: provider(), weekly: &weekly, exceptions: &[], busy: &[] };
    let found = all_slots(calendar, query(chrono_tz::Europe::Madrid, day(2026, 6, 10), 30, 15));
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
    let found = all_slots(calendar, query(chrono_tz::America::New_York, day(2026, 3, 8), 60, 60));
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
    let found = all_slots(calendar, query(chrono_tz::America::New_York, day(2026, 11, 1), 60, 60));
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
    let starts: Vec<_> = all_slots(calendar, q).iter().map(|s| s.starts_at).collect();
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
    let starts: Vec<_> = all_slots(calendar, q).iter().map(|s| s.starts_at).collect();
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
