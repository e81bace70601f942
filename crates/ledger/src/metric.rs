//! What is measured, how each measure is counted, and the period a use falls in.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// Something a tenant uses and a tier may limit. The stored and API names are
/// stable (`bookings`, `providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
pub enum Metric {
    /// Providers (staff and resources that take bookings), active ones.
    #[sea_orm(string_value = "providers")]
    Providers,
    /// Members of the tenant (staff seats).
    #[sea_orm(string_value = "staff_seats")]
    StaffSeats,
    /// Bookings made in the period (a cancelled one does not give its unit back).
    #[sea_orm(string_value = "bookings")]
    Bookings,
    /// Text messages sent in the period.
    #[sea_orm(string_value = "sms")]
    Sms,
    /// Emails sent in the period.
    #[sea_orm(string_value = "emails")]
    Emails,
    /// Webhook endpoints.
    #[sea_orm(string_value = "webhook_endpoints")]
    WebhookEndpoints,
    /// API keys and partner clients.
    #[sea_orm(string_value = "api_credentials")]
    ApiCredentials,
    /// API requests per minute (a rate, enforced by the gateway, not counted here).
    #[sea_orm(string_value = "requests_per_minute")]
    RequestsPerMinute,
    /// GraphQL query cost per minute (a rate, like requests).
    #[sea_orm(string_value = "complexity_per_minute")]
    ComplexityPerMinute,
    /// API requests made in the period, per credential (counted for the
    /// statistics; a tier sets no limit on it by default).
    #[sea_orm(string_value = "api_requests")]
    ApiRequests,
    /// Webhook deliveries sent in the period (each once, whatever its
    /// retries; a tier sets no limit on it by default).
    #[sea_orm(string_value = "webhook_deliveries")]
    WebhookDeliveries,
    /// Customers' booking payments that went through in the period (the
    /// business's payment volume; a tier sets no limit on it by default).
    #[sea_orm(string_value = "booking_payments")]
    BookingPayments,
}

/// How a metric is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Things that exist now (providers): adding one uses a unit, removing one
    /// gives it back; no period.
    Stock,
    /// Uses per period (the calendar month in the tenant's timezone until a
    /// subscription gives the tenant periods of its own).
    PerPeriod,
    /// A rate the gateway enforces per minute; nothing is stored.
    PerMinute,
}

impl Metric {
    /// Every metric, in the order they are shown.
    pub const ALL: [Metric; 12] = [
        Self::Providers,
        Self::StaffSeats,
        Self::Bookings,
        Self::Sms,
        Self::Emails,
        Self::WebhookEndpoints,
        Self::ApiCredentials,
        Self::RequestsPerMinute,
        Self::ComplexityPerMinute,
        Self::ApiRequests,
        Self::WebhookDeliveries,
        Self::BookingPayments,
    ];

    /// The stable name, as stored, configured and shown in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Providers => "providers",
            Self::StaffSeats => "staff_seats",
            Self::Bookings => "bookings",
            Self::Sms => "sms",
            Self::Emails => "emails",
            Self::WebhookEndpoints => "webhook_endpoints",
            Self::ApiCredentials => "api_credentials",
            Self::RequestsPerMinute => "requests_per_minute",
            Self::ComplexityPerMinute => "complexity_per_minute",
            Self::ApiRequests => "api_requests",
            Self::WebhookDeliveries => "webhook_deliveries",
            Self::BookingPayments => "booking_payments",
        }
    }

    /// The metric named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name.trim())
    }

    /// How it is counted.
    pub fn measure(self) -> Measure {
        match self {
            Self::Providers | Self::StaffSeats | Self::WebhookEndpoints | Self::ApiCredentials => Measure::Stock,
            Self::Bookings
            | Self::Sms
            | Self::Emails
            | Self::ApiRequests
            | Self::WebhookDeliveries
            | Self::BookingPayments => Measure::PerPeriod,
            Self::RequestsPerMinute | Self::ComplexityPerMinute => Measure::PerMinute,
        }
    }
}

/// What happens beyond a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum LimitMode {
    /// Refused (`QUOTA_EXCEEDED`); nothing is done.
    #[sea_orm(string_value = "hard")]
    Hard,
    /// Allowed and counted as overage.
    #[sea_orm(string_value = "soft")]
    Soft,
    /// A tenant's own limit withdrawn: the tier's applies again. Never the mode
    /// of a limit in force.
    #[sea_orm(string_value = "tier")]
    FollowTier,
}

/// The period a use is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The counter's key: `2026-12` for a month, `all` for a stock.
    pub key: String,
    /// When it began (`None` for a stock).
    pub starts_at: Option<DateTime<Utc>>,
    /// When the next one begins and counting starts again (`None` for a stock).
    pub resets_at: Option<DateTime<Utc>>,
}

/// The key of a stock's one counter.
pub(crate) const STOCK_PERIOD: &str = "all";

impl Period {
    /// The period of `metric` that the instant `at` falls in, in `timezone`.
    pub fn of(metric: Metric, at: DateTime<Utc>, timezone: Tz) -> Self {
        match metric.measure() {
            Measure::PerPeriod => Self::month_of(at, timezone),
            Measure::Stock | Measure::PerMinute => {
                Self { key: STOCK_PERIOD.to_owned(), starts_at: None, resets_at: None }
            }
        }
    }

    /// The calendar month `at` falls in, in `timezone`.
    pub fn month_of(at: DateTime<Utc>, timezone: Tz) -> Self {
        let local = at.with_timezone(&timezone).date_naive();
        let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
        let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
        Self {
            key: format!("{:04}-{:02}", first.year(), first.month()),
            starts_at: Some(start_of_day(first, timezone)),
            resets_at: Some(start_of_day(next, timezone)),
        }
    }
}

/// The first instant of `date` in `timezone` (midnight, or the first hour that
/// exists where a clock change skips midnight).
pub(crate) fn start_of_day(date: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|hour| {
            let local = date.and_hms_opt(hour, 0, 0)?;
            timezone.from_local_datetime(&local).earliest()
        })
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_the_tenants_calendar_month() {
        let tz: Tz = "America/Mexico_City".parse().unwrap();
        // 05:00 UTC on 1 January is still 31 December in Mexico City.
        let at = "2027-01-01T05:00:00Z".parse().unwrap();
        let period = Period::month_of(at, tz);
        assert_eq!(period.key, "2026-12");
        assert_eq!(period.starts_at, Some("2026-12-01T06:00:00Z".parse().unwrap()));
        assert_eq!(period.resets_at, Some("2027-01-01T06:00:00Z".parse().unwrap()));
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_its_first_hour() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2022, 9, 11).unwrap();
        assert_eq!(start_of_day(date, tz), "2022-09-11T04:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    #[test]
    fn names_round_trip() {
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Some(metric));
        }
        assert_eq!(Metric::parse("bananas"), None);
    }
}
