//! Recurrence: weekly rules (every N weeks on some weekdays, until a date or
//! for a count) as RFC 5545 `RRULE`s, expanded in the business's timezone
//! through the `rrule` crate, so a class at 18:00 stays at 18:00 local time
//! across daylight-saving changes.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule, Unvalidated};
use tessera_kernel::{DomainError, Result};

/// The most occurrences one rule may have, and one expansion answers.
pub const MAX_OCCURRENCES: u16 = 200;

/// Every `every_weeks` weeks on `weekdays`, from a first local date, until
/// a last local date or for a count (at most one of them; neither: open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyRule {
    /// The days of the week (at least one).
    pub weekdays: Vec<Weekday>,
    /// 1 for every week, 2 for every other week, … (at most 52).
    pub every_weeks: u16,
    /// The last local date an occurrence may fall on.
    pub last_date: Option<NaiveDate>,
    /// How many occurrences (1 to [`MAX_OCCURRENCES`]).
    pub count: Option<u32>,
}

/// The first instant a local date and time names in `tz` (in a
/// daylight-saving gap, the first instant after it).
pub(crate) fn local_instant(tz: Tz, date: NaiveDate, minute: i32) -> Result<DateTime<Utc>> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(minute * 60).unwrap_or(u32::MAX), 0)
        .ok_or_else(|| DomainError::invalid("startTime", "must be a time of day before 24:00"))?;
    let local = date.and_time(time);
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| DomainError::invalid("startTime", "is not a time on that date in the business's timezone"))
}

impl WeeklyRule {
    /// The rule as an `RRULE` value (without `DTSTART`), checked.
    pub(crate) fn to_rrule(&self, tz: Tz, first: DateTime<Utc>) -> Result<String> {
        if self.weekdays.is_empty() {
            return Err(DomainError::invalid("weekdays", "name at least one day of the week"));
        }
        if !(1..=52).contains(&self.every_weeks) {
            return Err(DomainError::invalid("everyWeeks", "must be between 1 and 52"));
        }
        let mut rule = RRule::new(Frequency::Weekly)
            .interval(self.every_weeks)
            .week_start(Weekday::Mon)
            .by_weekday(self.weekdays.iter().map(|day| NWeekday::Every(*day)).collect());
        match (self.count, self.last_date) {
            (Some(_), Some(_)) => {
                return Err(DomainError::invalid("count", "give a last date or a count, not both"));
            }
            (Some(count), None) if !(1..=u32::from(MAX_OCCURRENCES)).contains(&count) => {
                return Err(DomainError::invalid("count", format!("must be between 1 and {MAX_OCCURRENCES}")));
            }
            (Some(count), None) => rule = rule.count(count),
            (None, Some(last)) => {
                let end = local_instant(tz, last.succ_opt().unwrap_or(last), 0)? - chrono::Duration::seconds(1);
                if end < first {
                    return Err(DomainError::invalid("lastDate", "must be on or after the first date"));
                }
                // RFC 5545: with a zoned start, UNTIL is in UTC.
                rule = rule.until(end.with_timezone(&rrule::Tz::UTC));
            }
            (None, None) => {}
        }
        let validated = rule
            .validate(first.with_timezone(&rrule::Tz::Tz(tz)))
            .map_err(|err| DomainError::invalid("weekdays", format!("is not a rule that can repeat: {err}")))?;
        Ok(validated.to_string())
    }
}

/// The starts of `rule` (as [`WeeklyRule::to_rrule`] wrote it) from `first`
/// in `tz`, after `after` and before `before`, at most `limit` of them.
pub(crate) fn occurrences(
    rule: &str,
    tz: Tz,
    first: DateTime<Utc>,
    (after, before): (DateTime<Utc>, DateTime<Utc>),
    limit: u16,
) -> Result<Vec<DateTime<Utc>>> {
    let zone = rrule::Tz::Tz(tz);
    let parsed: RRule<Unvalidated> =
        rule.parse().map_err(|err| DomainError::Internal(format!("a stored recurrence rule is invalid: {err}")))?;
    let set = parsed
        .build(first.with_timezone(&zone))
        .map_err(|err| DomainError::Internal(format!("a stored recurrence rule is invalid: {err}")))?;
    // `after` and `before` are exclusive; the first start is an occurrence.
    let found = set
        .after(after.with_timezone(&zone) - chrono::Duration::seconds(1))
        .before(before.with_timezone(&zone))
        .all(limit);
    Ok(found.dates.into_iter().map(|at| at.with_timezone(&Utc)).filter(|at| *at >= after && *at < before).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    #[test]
    fn a_weekly_class_keeps_its_local_time_across_daylight_saving() {
        let tz: Tz = "Europe/Madrid".parse().expect("a zone");
        let date = NaiveDate::from_ymd_opt(2026, 3, 23).expect("a date");
        let first = local_instant(tz, date, 18 * 60).expect("a start");
        let rule = WeeklyRule { weekdays: vec![Weekday::Mon], every_weeks: 1, last_date: None, count: Some(3) };
        let text = rule.to_rrule(tz, first).expect("a rule");
        let starts = occurrences(&text, tz, first, (first, utc("2027-01-01T00:00:00Z")), 50).expect("starts");
        // 18:00 in Madrid is 17:00 UTC before the change on 29 March and 16:00 after.
        assert_eq!(starts, vec![utc("2026-03-23T17:00:00Z"), utc("2026-03-30T16:00:00Z"), utc("2026-04-06T16:00:00Z")]);
    }

    #[test]
    fn every_other_week_on_two_days_until_a_last_date() {
        let tz: Tz = "UTC".parse().expect("a zone");
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a Monday");
        let first = local_instant(tz, date, 9 * 60).expect("a start");
        let last = NaiveDate::from_ymd_opt(2026, 3, 18);
        let rule =
            WeeklyRule { weekdays: vec![Weekday::Mon, Weekday::Wed], every_weeks: 2, last_date: last, count: None };
        let text = rule.to_rrule(tz, first).expect("a rule");
        let window = (utc("2026-03-03T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
        let starts = occurrences(&text, tz, first, window, 50).expect("starts");
        assert_eq!(starts, vec![utc("2026-03-04T09:00:00Z"), utc("2026-03-16T09:00:00Z"), utc("2026-03-18T09:00:00Z")]);
    }

    #[test]
    fn a_last_date_ends_the_rule_in_the_businesss_timezone() {
        let tz: Tz = "America/New_York".parse().expect("a zone");
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a Monday");
        let first = local_instant(tz, date, 20 * 60).expect("a start");
        let last = NaiveDate::from_ymd_opt(2026, 3, 9);
        let rule = WeeklyRule { weekdays: vec![Weekday::Mon], every_weeks: 1, last_date: last, count: None };
        let text = rule.to_rrule(tz, first).expect("a rule");
        let starts = occurrences(&text, tz, first, (first, utc("2027-01-01T00:00:00Z")), 50).expect("starts");
        // 20:00 on 9 March in New York is already 10 March in UTC: still in.
        assert_eq!(starts, vec![utc("2026-03-03T01:00:00Z"), utc("2026-03-10T00:00:00Z")]);
    }

    #[test]
    fn a_rule_needs_a_day_and_at_most_one_end() {
        let tz: Tz = "UTC".parse().expect("a zone");
        let first = utc("2026-03-02T09:00:00Z");
        let none = WeeklyRule { weekdays: vec![], every_weeks: 1, last_date: None, count: None };
        assert!(none.to_rrule(tz, first).is_err());
        let both = WeeklyRule {
            weekdays: vec![Weekday::Mon],
            every_weeks: 1,
            last_date: NaiveDate::from_ymd_opt(2026, 4, 1),
            count: Some(2),
        };
        assert!(both.to_rrule(tz, first).is_err());
    }
}
