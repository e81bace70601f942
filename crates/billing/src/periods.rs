//! Billing time in the business's timezone. A period is counted from a fixed
//! anchor (`anchor + n months`, clamped to the month's end, never chained from
//! the last end, so Jan 31 → Feb 28 → Mar 31), and a trial is a number of
//! local days: 14 days from 10:00 end at 10:00 local, across a daylight-saving
//! change too.

use chrono::{DateTime, Days, LocalResult, Months, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use tessera_kernel::{DomainError, Result};

use crate::model::Interval;

/// The end of period `n` (from 0) of a subscription anchored at `anchor`:
/// `anchor + (n + 1) intervals`, in `timezone`.
pub fn period_end(anchor: DateTime<Utc>, timezone: Tz, interval: Interval, n: u32) -> Result<DateTime<Utc>> {
    let months = interval.months() * (n + 1);
    let local = anchor.with_timezone(&timezone).naive_local();
    let later = local.checked_add_months(Months::new(months)).ok_or_else(|| out_of_range(anchor))?;
    Ok(resolve(timezone, later))
}

/// `days` local days after `at`, at the same local time.
pub fn days_after(at: DateTime<Utc>, timezone: Tz, days: u32) -> Result<DateTime<Utc>> {
    let local = at.with_timezone(&timezone).naive_local();
    let later = local.checked_add_days(Days::new(u64::from(days))).ok_or_else(|| out_of_range(at))?;
    Ok(resolve(timezone, later))
}

/// The instant a local time names: the earlier of two when clocks go back,
/// and the first instant after the gap when they go forward (02:30 on a
/// spring-forward night is 03:30).
fn resolve(timezone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match timezone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // A gap is at most a few hours long; the first local time after it
            // that exists is the same wall-clock shifted by the gap.
            (1..=4)
                .find_map(|hours| timezone.from_local_datetime(&(local + chrono::Duration::hours(hours))).earliest())
                .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc))
        }
    }
}

fn out_of_range(at: DateTime<Utc>) -> DomainError {
    DomainError::Internal(format!("a billing period from {at} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn monthly_periods_count_from_the_anchor_and_clamp_to_the_month_end() {
        let anchor = utc("2027-01-31T10:00:00Z");
        let ends: Vec<_> = (0..3).map(|n| period_end(anchor, Tz::UTC, Interval::Monthly, n).ok()).collect();
        assert_eq!(
            ends,
            [Some(utc("2027-02-28T10:00:00Z")), Some(utc("2027-03-31T10:00:00Z")), Some(utc("2027-04-30T10:00:00Z"))]
        );
    }

    #[test]
    fn a_yearly_period_from_a_leap_day_ends_on_the_last_of_february() {
        let anchor = utc("2028-02-29T09:00:00Z");
        assert_eq!(period_end(anchor, Tz::UTC, Interval::Yearly, 0).ok(), Some(utc("2029-02-28T09:00:00Z")));
    }

    #[test]
    fn periods_and_trials_keep_the_local_time_across_daylight_saving() {
        // 10:00 in Madrid is 09:00 UTC in winter and 08:00 UTC in summer.
        let start = utc("2027-03-20T09:00:00Z");
        assert_eq!(days_after(start, Tz::Europe__Madrid, 14).ok(), Some(utc("2027-04-03T08:00:00Z")));
        assert_eq!(period_end(start, Tz::Europe__Madrid, Interval::Monthly, 0).ok(), Some(utc("2027-04-20T08:00:00Z")));
    }

    #[test]
    fn a_local_time_skipped_by_the_clocks_moves_past_the_gap() {
        // 02:30 on 2027-03-28 does not exist in Madrid (02:00 → 03:00).
        let start = utc("2027-02-28T01:30:00Z");
        assert_eq!(days_after(start, Tz::Europe__Madrid, 28).ok(), Some(utc("2027-03-28T01:30:00Z")));
    }
}
