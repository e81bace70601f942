//! GraphQL for scheduling, one file per area: providers and their hours
//! (`providers`), services and add-ons (`services`, with a provider's own terms in
//! `offering`), customers (`customers`), availability (`availability`), bookings as
//! read (`bookings`) and as changed, with their live feed (`booking_changes`),
//! calendar feeds (`calendar_feeds`), classes booked seat by seat
//! (`classes`), series of recurring appointments (`series`), and the
//! waitlist (`waitlist`).
//! This module holds the shapes they share and merges their roots.

mod availability;
mod booking_changes;
mod bookings;
mod calendar_feeds;
mod classes;
mod customers;
pub(crate) mod objects;
mod offering;
mod prefetch;
mod providers;
mod series;
mod services;
mod waitlist;

use async_graphql::{Enum, MergedObject};
use tessera_kernel::DomainError;

use crate::error::{ApiError, ApiResult};

pub(crate) use booking_changes::SchedulingSubscription;
pub(crate) use bookings::{BookingObject, ReviewObject};
pub(crate) use customers::CustomerObject;
pub(crate) use objects::ProviderObject;
pub(crate) use services::{AddonObject, ServiceObject};

/// Formats minutes since midnight as `HH:MM` (`24:00` for the end of the day).
fn clock(minute: i16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Parses `HH:MM` (`00:00`–`24:00`) into minutes since midnight.
fn parse_clock(field: &str, text: &str) -> ApiResult<i32> {
    let invalid =
        || ApiError::from(DomainError::invalid(field, "must be a time of day such as 09:30 (24:00 ends the day)"));
    let (h, m) = text.trim().split_once(':').ok_or_else(invalid)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// A weekly rule from its input fields: every `every_weeks` weeks on
/// `weekdays`, until `last_date` or for `count` (at most `most`).
fn weekly_rule(
    weekdays: Vec<chrono::Weekday>,
    every_weeks: i32,
    last_date: Option<chrono::NaiveDate>,
    (count, most): (Option<i32>, u16),
) -> ApiResult<tessera_scheduling::WeeklyRule> {
    let invalid = |field: &str, message: String| ApiError::from(DomainError::invalid(field, message));
    Ok(tessera_scheduling::WeeklyRule {
        weekdays,
        every_weeks: u16::try_from(every_weeks)
            .map_err(|_| invalid("everyWeeks", "must be between 1 and 52".into()))?,
        last_date,
        count: count
            .map(|n| u32::try_from(n).map_err(|_| invalid("count", format!("must be between 1 and {most}"))))
            .transpose()?,
    })
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Weekday")]
pub(crate) enum WeekdayEnum {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<WeekdayEnum> for chrono::Weekday {
    fn from(day: WeekdayEnum) -> Self {
        match day {
            WeekdayEnum::Monday => Self::Mon,
            WeekdayEnum::Tuesday => Self::Tue,
            WeekdayEnum::Wednesday => Self::Wed,
            WeekdayEnum::Thursday => Self::Thu,
            WeekdayEnum::Friday => Self::Fri,
            WeekdayEnum::Saturday => Self::Sat,
            WeekdayEnum::Sunday => Self::Sun,
        }
    }
}

const WEEKDAYS: [WeekdayEnum; 7] = [
    WeekdayEnum::Monday,
    WeekdayEnum::Tuesday,
    WeekdayEnum::Wednesday,
    WeekdayEnum::Thursday,
    WeekdayEnum::Friday,
    WeekdayEnum::Saturday,
    WeekdayEnum::Sunday,
];

/// How a provider works for the tenant.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ProviderType", remote = "tessera_scheduling::ProviderType")]
pub(crate) enum ProviderTypeEnum {
    Employee,
    Contractor,
    Consultant,
}

/// Whether an exception closes time or opens it.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ExceptionKind", remote = "tessera_scheduling::ExceptionKind")]
pub(crate) enum ExceptionKindEnum {
    /// Time off or a holiday.
    Closed,
    /// Special opening hours; `openingMode` says whether they replace the day's
    /// weekly hours or add to them.
    Open,
}

/// How special opening hours combine with the day's weekly hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "OpeningMode", remote = "tessera_scheduling::OpeningMode")]
pub(crate) enum OpeningModeEnum {
    /// Only the special hours apply that day (a short Saturday).
    ReplaceWeeklyHours,
    /// The special hours are worked besides the weekly hours (opening over lunch).
    AddToWeeklyHours,
}

/// Where a booking is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BookingStatus", remote = "tessera_scheduling::BookingStatus")]
pub(crate) enum BookingStatusEnum {
    Scheduled,
    Confirmed,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

/// Scheduling's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct SchedulingQuery(
    providers::ProviderQueries,
    services::ServiceQueries,
    customers::CustomerQueries,
    availability::AvailabilityQueries,
    bookings::BookingQueries,
    calendar_feeds::CalendarFeedQueries,
    classes::ClassQueries,
    series::SeriesQueries,
    waitlist::WaitlistQueries,
);

/// Scheduling's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct SchedulingMutation(
    providers::ProviderMutations,
    services::ServiceMutations,
    customers::CustomerMutations,
    booking_changes::BookingMutations,
    calendar_feeds::CalendarFeedMutations,
    classes::ClassMutations,
    series::SeriesMutations,
    waitlist::WaitlistMutations,
);

#[cfg(test)]
mod tests {
    use super::{clock, parse_clock};

    #[test]
    fn a_time_of_day_reads_from_midnight_to_the_end_of_the_day() {
        assert_eq!(parse_clock("start", "00:00").unwrap(), 0);
        assert_eq!(parse_clock("start", "09:30").unwrap(), 570);
        assert_eq!(parse_clock("start", " 9:05 ").unwrap(), 545);
        assert_eq!(parse_clock("end", "24:00").unwrap(), 1440);
    }

    #[test]
    fn anything_else_is_refused_naming_the_field() {
        for text in ["24:01", "25:00", "12:60", "-1:00", "12", "12:3x", "", "noon"] {
            let refused = parse_clock("startTime", text).unwrap_err();
            assert!(format!("{refused:?}").contains("startTime"), "{text:?}: {refused:?}");
        }
    }

    #[test]
    fn minutes_print_back_as_they_were_written() {
        for text in ["00:00", "09:30", "23:59", "24:00"] {
            let minutes = i16::try_from(parse_clock("t", text).unwrap()).unwrap();
            assert_eq!(clock(minutes), text);
        }
    }
}
