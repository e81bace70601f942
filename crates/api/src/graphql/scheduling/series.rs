//! Recurring appointments: a series booked in one request, and changes to
//! one occurrence, it and the following ones, or all of them.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_scheduling::{BookingSeries, MAX_SERIES_OCCURRENCES, NewBooking, NewBookingSeries, SeriesScope};

use super::classes::SkippedOccurrenceObject;
use super::{BookingObject, WeekdayEnum, clock, weekly_rule};
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::{RequiresOrOwn, parse_id, request, services};

/// A series of recurring appointments.
pub(crate) struct BookingSeriesObject(BookingSeries);

#[Object(name = "BookingSeries")]
impl BookingSeriesObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The service's id.
    async fn service_id(&self) -> ID {
        ID(self.0.service_id.to_string())
    }
    /// The provider's id.
    async fn provider_id(&self) -> ID {
        ID(self.0.provider_id.to_string())
    }
    /// The customer's id.
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.to_string())
    }
    /// How it repeats, as an RFC 5545 rule (`FREQ=WEEKLY;INTERVAL=2;…`)
    /// from `firstDate` at `startTime`.
    async fn rule(&self) -> &str {
        &self.0.rule
    }
    /// The first local date.
    async fn first_date(&self) -> NaiveDate {
        self.0.first_date
    }
    /// The local start time, `HH:MM`, as booked.
    async fn start_time(&self) -> String {
        clock(i16::try_from(self.0.start_minute).unwrap_or_default())
    }
    /// When it was booked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When all of it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
}

/// Which occurrences of a series a change takes.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SeriesScope", remote = "tessera_scheduling::SeriesScope")]
pub(crate) enum SeriesScopeEnum {
    /// The one named.
    This,
    /// The one named and every later one.
    ThisAndFollowing,
    /// Every upcoming one.
    All,
}

/// A series just booked.
#[derive(SimpleObject)]
#[graphql(name = "BookingSeriesPayload")]
pub(crate) struct BookingSeriesPayloadObject {
    /// The series.
    series: BookingSeriesObject,
    /// The occurrences booked, each an ordinary booking.
    booked: Vec<BookingObject>,
    /// The occurrences not booked, and why (the time taken, not bookable).
    conflicts: Vec<SkippedOccurrenceObject>,
}

/// What moving occurrences of a series did.
#[derive(SimpleObject)]
#[graphql(name = "SeriesReschedulePayload")]
pub(crate) struct SeriesReschedulePayloadObject {
    /// The occurrences moved.
    moved: Vec<BookingObject>,
    /// The occurrences left where they were (their new time is taken), and why.
    conflicts: Vec<SkippedOccurrenceObject>,
}

/// A series of recurring appointments: the first appointment, and every
/// `everyWeeks` weeks on `weekdays` (the first start's weekday when
/// omitted) until `lastDate` or for `count` appointments (one of them; at
/// most 52 appointments).
#[derive(InputObject)]
pub(crate) struct CreateBookingSeriesInput {
    /// The service.
    service_id: ID,
    /// The provider.
    provider_id: ID,
    /// Who for; yourself when omitted (needs `booking:create` otherwise).
    customer_id: Option<ID>,
    /// The first appointment's start; the others keep its local time.
    starts_at: DateTime<Utc>,
    /// The days of the week; the first start's when omitted.
    weekdays: Option<Vec<WeekdayEnum>>,
    /// 1 for every week, 2 for every other week, …
    #[graphql(default = 1)]
    every_weeks: i32,
    /// The last local date an appointment may fall on.
    last_date: Option<NaiveDate>,
    /// How many appointments in all.
    count: Option<i32>,
    /// Add-ons of the service, for every appointment.
    addon_ids: Option<Vec<ID>>,
    /// Notes, on every appointment.
    notes: Option<String>,
    /// Any unique string (a UUID): sending the same request again with it
    /// answers the series it made instead of booking another.
    idempotency_key: Option<String>,
}

/// Mutations about series of appointments.
#[derive(Default)]
pub(super) struct SeriesMutations;

#[operations]
#[Object]
impl SeriesMutations {
    /// Books a series of appointments in one request: each occurrence is an
    /// ordinary booking (the same no-overlap rule, messages, payments);
    /// those whose time is taken are reported in `conflicts`, not booked.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn create_booking_series(
        &self,
        ctx: &Context<'_>,
        input: CreateBookingSeriesInput,
    ) -> ApiResult<BookingSeriesPayloadObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let customer_id = input.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?;
        let tz = crate::graphql::local_time::tenant_zone(ctx).await?;
        let first_day = chrono::Datelike::weekday(&input.starts_at.with_timezone(&tz));
        let booking = NewBooking {
            service_id: parse_id("serviceId", &input.service_id)?,
            provider_id: parse_id("providerId", &input.provider_id)?,
            customer: flows::bookings::customer(services, request, customer_id).await?,
            starts_at: input.starts_at,
            addon_ids: input
                .addon_ids
                .unwrap_or_default()
                .iter()
                .map(|id| parse_id("addonIds", id))
                .collect::<ApiResult<_>>()?,
            notes: input.notes,
            idempotency_key: input.idempotency_key,
        };
        let weekdays = match input.weekdays {
            Some(days) => days.into_iter().map(chrono::Weekday::from).collect(),
            None => vec![first_day],
        };
        let most = (input.count, MAX_SERIES_OCCURRENCES);
        let rule = weekly_rule(weekdays, input.every_weeks, input.last_date, most)?;
        let made = services.scheduling.create_booking_series(request, NewBookingSeries { booking, rule }).await?;
        Ok(BookingSeriesPayloadObject {
            series: BookingSeriesObject(made.series),
            booked: made.booked.into_iter().map(BookingObject).collect(),
            conflicts: made.conflicts.into_iter().map(SkippedOccurrenceObject::from).collect(),
        })
    }

    /// Cancels an occurrence of a series, it and the following ones, or
    /// every upcoming one, each as `cancelBooking` would (the customer's
    /// own, under the cancellation policy); answers the bookings cancelled.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingCancelOwn))]
    async fn cancel_booking_series(
        &self,
        ctx: &Context<'_>,
        booking_id: ID,
        scope: SeriesScopeEnum,
        reason: Option<String>,
    ) -> ApiResult<Vec<BookingObject>> {
        let id = parse_id("bookingId", &booking_id)?;
        let done = services(ctx)?.scheduling.cancel_booking_series(request(ctx)?, id, scope.into(), reason).await?;
        Ok(done.into_iter().map(BookingObject).collect())
    }

    /// Moves an occurrence of a series to `startsAt`, and with it the
    /// following ones or every upcoming one (`scope`): each moves by as
    /// many days, to the same new local time, as `rescheduleBooking` would;
    /// those whose new time is taken stay and are reported.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingRescheduleOwn))]
    async fn reschedule_booking_series(
        &self,
        ctx: &Context<'_>,
        booking_id: ID,
        scope: SeriesScopeEnum,
        starts_at: DateTime<Utc>,
    ) -> ApiResult<SeriesReschedulePayloadObject> {
        let id = parse_id("bookingId", &booking_id)?;
        let scope: SeriesScope = scope.into();
        let done = services(ctx)?.scheduling.reschedule_booking_series(request(ctx)?, id, scope, starts_at).await?;
        Ok(SeriesReschedulePayloadObject {
            moved: done.moved.into_iter().map(BookingObject).collect(),
            conflicts: done.conflicts.into_iter().map(SkippedOccurrenceObject::from).collect(),
        })
    }
}

/// Queries about series of appointments.
#[derive(Default)]
pub(super) struct SeriesQueries;

#[operations]
#[Object]
impl SeriesQueries {
    /// A series by id, for whoever may read its customer's bookings (its
    /// occurrences: `bookings(filter: {seriesId})`).
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn booking_series(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<BookingSeriesObject>> {
        let found = services(ctx)?.scheduling.booking_series(request(ctx)?, parse_id("id", &id)?).await?;
        Ok(found.map(BookingSeriesObject))
    }
}
