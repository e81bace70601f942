//! Proration by day in the business's timezone, in integer minor units.
//!
//! Days are local calendar days: a period from 15 March 10:00 to 15 April
//! 10:00 in Madrid is 31 days, though one of them is 23 hours long. A change
//! on a day counts that day as unused: it is credited on the old plan and
//! paid on the new one. Every share is rounded down, so a credit is never more
//! than what was paid, and a prorated charge never more than the full price.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Local calendar days from `from` to `to` (0 when `to` is not later).
pub(crate) fn local_days(from: DateTime<Utc>, to: DateTime<Utc>, timezone: Tz) -> i64 {
    let days = to.with_timezone(&timezone).date_naive() - from.with_timezone(&timezone).date_naive();
    days.num_days().max(0)
}

/// `amount` for `part` of `whole` days, rounded down (`part` clamped to
/// `0..=whole`; nothing when `whole` is not positive).
pub(crate) fn share(amount: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 || amount <= 0 {
        return 0;
    }
    let part = i128::from(part.clamp(0, whole));
    // At most `amount`, so it fits.
    i64::try_from(i128::from(amount) * part / i128::from(whole)).unwrap_or(amount)
}

/// Something paid for part of the current period: what it cost (after
/// discounts) and the days it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paid {
    pub(crate) amount_minor: i64,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
}

/// The credit at `at` for what was paid and not yet used: each payment's
/// share for the days left of the days it covers.
pub(crate) fn unused_credit(paid: &[Paid], at: DateTime<Utc>, timezone: Tz) -> i64 {
    paid.iter()
        .map(|p| {
            let start = p.start.max(at.min(p.end));
            share(p.amount_minor, local_days(start, p.end, timezone), local_days(p.start, p.end, timezone))
        })
        .sum()
}

/// `amount` for the rest of the period `(start, end)` from `at`.
pub(crate) fn rest_of_period(
    amount: i64,
    at: DateTime<Utc>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    timezone: Tz,
) -> i64 {
    share(amount, local_days(at, end, timezone), local_days(start, end, timezone))
}

/// The part of an invoice line that was paid: its amount less its share of
/// the invoice's discount, rounded down.
pub(crate) fn after_discount(amount: i64, subtotal: i64, total: i64) -> i64 {
    if subtotal <= 0 {
        return 0;
    }
    share(amount, total, subtotal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_monthly_plan_changed_on_day_ten_credits_twenty_two_of_thirty_one_days() {
        // Paid 295.00 for 15 Jan – 15 Feb (31 days); changed on 24 Jan, day 10.
        let paid = Paid { amount_minor: 29_500, start: utc("2027-01-15T09:00:00Z"), end: utc("2027-02-15T09:00:00Z") };
        let credit = unused_credit(&[paid], utc("2027-01-24T11:00:00Z"), Tz::Europe__Madrid);
        assert_eq!(credit, 20_935, "29500 × 22 / 31, rounded down");
    }

    #[test]
    fn days_are_local_calendar_days_across_daylight_saving() {
        // 15 Mar 10:00 CET – 15 Apr 10:00 CEST: 743 hours, 31 local days.
        let period = (utc("2027-03-15T09:00:00Z"), utc("2027-04-15T08:00:00Z"));
        let at = utc("2027-03-30T10:00:00Z");
        assert_eq!(local_days(period.0, period.1, Tz::Europe__Madrid), 31);
        let paid = Paid { amount_minor: 29_500, start: period.0, end: period.1 };
        assert_eq!(unused_credit(&[paid], at, Tz::Europe__Madrid), 15_225, "29500 × 16 / 31, not by hours (15166)");
        // In UTC the same instants are 30 days apart at 08:00 from 09:00.
        assert_eq!(local_days(period.0, period.1, Tz::UTC), 31);
    }

    #[test]
    fn each_payment_is_credited_for_the_days_it_covers_and_never_more_than_it_cost() {
        let end = utc("2027-02-15T09:00:00Z");
        let plan = Paid { amount_minor: 3_000, start: utc("2027-01-15T09:00:00Z"), end };
        let seats = Paid { amount_minor: 1_419, start: utc("2027-01-24T11:00:00Z"), end };
        let at = utc("2027-02-05T11:00:00Z");
        assert_eq!(unused_credit(&[plan, seats], at, Tz::Europe__Madrid), 967 + 645);
        // Before the seats were bought (a clock out of order) they are credited whole.
        assert_eq!(unused_credit(&[seats], utc("2027-01-20T11:00:00Z"), Tz::Europe__Madrid), 1_419);
        // After the period: nothing left.
        assert_eq!(unused_credit(&[plan], utc("2027-03-01T00:00:00Z"), Tz::Europe__Madrid), 0);
    }

    #[test]
    fn shares_round_down_and_discounts_are_shared_by_amount() {
        assert_eq!(
            rest_of_period(
                2_000,
                utc("2027-01-24T11:00:00Z"),
                (utc("2027-01-15T09:00:00Z"), utc("2027-02-15T09:00:00Z")),
                Tz::Europe__Madrid
            ),
            1_419
        );
        assert_eq!(share(100, 5, 0), 0);
        assert_eq!(share(100, 9, 3), 100);
        assert_eq!(after_discount(3_000, 4_000, 3_000), 2_250);
        assert_eq!(after_discount(3_000, 0, 0), 0);
    }
}
