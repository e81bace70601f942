//! Classes: sessions of a class service booked seat by seat, and the
//! recurring classes that generate them.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_scheduling::{
    ClassSchedule, ClassSession, ClassSessionQuery, MAX_OCCURRENCES, NewClassSchedule, NewClassSession, NewSeatBooking,
    ScheduledClasses, SkippedOccurrence,
};

use super::objects::ProviderObject;
use super::{BookingObject, ServiceObject, WeekdayEnum, clock, parse_clock, weekly_rule};
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::local_time::{LocalTimeObject, local_time};
use crate::graphql::{Requires, RequiresOnSome, RequiresOrOwn, loaders, parse_id, request, services};

/// Whether a session takes place.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ClassSessionStatus")]
pub(crate) enum ClassSessionStatusEnum {
    /// It takes place; its free seats can be booked.
    Scheduled,
    /// It was cancelled, its seats with it.
    Cancelled,
}

/// A session of a class: its instructor, time and seats.
pub(crate) struct ClassSessionObject(ClassSession);

#[Object(name = "ClassSession")]
impl ClassSessionObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Whether it takes place.
    async fn status(&self) -> ClassSessionStatusEnum {
        if self.0.cancelled { ClassSessionStatusEnum::Cancelled } else { ClassSessionStatusEnum::Scheduled }
    }
    /// The class's id.
    async fn service_id(&self) -> ID {
        ID(self.0.service_id.to_string())
    }
    /// The class.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<ServiceObject>> {
        Ok(loaders(ctx)?.services().load_one(self.0.service_id).await?.map(ServiceObject))
    }
    /// The instructor's id.
    async fn provider_id(&self) -> ID {
        ID(self.0.provider_id.to_string())
    }
    /// The instructor.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        Ok(loaders(ctx)?.providers().load_one(self.0.provider_id).await?.map(ProviderObject))
    }
    /// The recurring class that generated it, if any.
    async fn schedule_id(&self) -> Option<ID> {
        self.0.schedule_id.map(|id| ID(id.to_string()))
    }
    /// Start.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// End.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// The start as the business's clocks show it.
    async fn starts_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTimeObject> {
        local_time(ctx, self.0.starts_at).await
    }
    /// Seats in all.
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }
    /// Seats booked (seats still waiting for their payment included).
    async fn seats_taken(&self) -> i32 {
        self.0.seats_taken
    }
    /// Seats still free.
    async fn seats_left(&self) -> i32 {
        self.0.seats_left()
    }
    /// The most seats one customer books in it.
    async fn seats_per_customer(&self) -> i32 {
        self.0.seats_per_customer
    }
    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    /// Why.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation_reason.as_deref()
    }
}

/// A recurring class.
pub(crate) struct ClassScheduleObject(ClassSchedule);

#[Object(name = "ClassSchedule")]
impl ClassScheduleObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The class's id.
    async fn service_id(&self) -> ID {
        ID(self.0.service_id.to_string())
    }
    /// The instructor's id.
    async fn provider_id(&self) -> ID {
        ID(self.0.provider_id.to_string())
    }
    /// When it repeats, as an RFC 5545 rule (`FREQ=WEEKLY;BYDAY=MO,WE;…`)
    /// from `firstDate` at `startTime`.
    async fn rule(&self) -> &str {
        &self.0.rule
    }
    /// The first local date.
    async fn first_date(&self) -> NaiveDate {
        self.0.first_date
    }
    /// The local start time, `HH:MM`.
    async fn start_time(&self) -> String {
        clock(i16::try_from(self.0.start_minute).unwrap_or_default())
    }
    /// Seats of each session.
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }
    /// The most seats one customer books in a session.
    async fn seats_per_customer(&self) -> i32 {
        self.0.seats_per_customer
    }
    /// Sessions exist for its occurrences before this instant (the rest
    /// are generated as days pass).
    async fn generated_until(&self) -> Option<DateTime<Utc>> {
        self.0.generated_until
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stopped generating sessions.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
}

/// An occurrence of a recurring class or series that got no session or
/// booking (or was not moved).
#[derive(SimpleObject)]
#[graphql(name = "SkippedOccurrence")]
pub(crate) struct SkippedOccurrenceObject {
    /// When it would have started.
    starts_at: DateTime<Utc>,
    /// Why not: the provider does not work then, or is booked or teaching.
    reason: String,
}

impl From<SkippedOccurrence> for SkippedOccurrenceObject {
    fn from(skipped: SkippedOccurrence) -> Self {
        Self { starts_at: skipped.starts_at, reason: skipped.reason }
    }
}

/// A recurring class just made.
#[derive(SimpleObject)]
#[graphql(name = "ClassSchedulePayload")]
pub(crate) struct ClassSchedulePayloadObject {
    /// The recurring class.
    schedule: ClassScheduleObject,
    /// The sessions generated now (up to the business's booking horizon).
    sessions: Vec<ClassSessionObject>,
    /// The occurrences skipped, with why.
    skipped: Vec<SkippedOccurrenceObject>,
}

impl From<ScheduledClasses> for ClassSchedulePayloadObject {
    fn from(made: ScheduledClasses) -> Self {
        Self {
            schedule: ClassScheduleObject(made.schedule),
            sessions: made.sessions.into_iter().map(ClassSessionObject).collect(),
            skipped: made.skipped.into_iter().map(SkippedOccurrenceObject::from).collect(),
        }
    }
}

/// One session of a class.
#[derive(InputObject)]
pub(crate) struct CreateClassSessionInput {
    /// The class (a service with a `classCapacity`).
    service_id: ID,
    /// The instructor, who offers the service.
    provider_id: ID,
    /// Start (a whole minute, in the future).
    starts_at: DateTime<Utc>,
    /// Seats; the service's `classCapacity` when omitted.
    capacity: Option<i32>,
    /// The most seats one customer may book; 1 when omitted.
    seats_per_customer: Option<i32>,
}

/// A recurring class: every `everyWeeks` weeks on `weekdays` at
/// `startTime` (the business's timezone), from `firstDate`, until
/// `lastDate` or for `count` sessions (or on, while it runs).
#[derive(InputObject)]
pub(crate) struct CreateClassScheduleInput {
    /// The class.
    service_id: ID,
    /// The instructor.
    provider_id: ID,
    /// The days of the week.
    weekdays: Vec<WeekdayEnum>,
    /// The local start time, `HH:MM`.
    start_time: String,
    /// 1 for every week, 2 for every other week, …
    #[graphql(default = 1)]
    every_weeks: i32,
    /// The first local date.
    first_date: NaiveDate,
    /// The last local date a session may fall on.
    last_date: Option<NaiveDate>,
    /// How many sessions in all (at most 200).
    count: Option<i32>,
    /// Seats of each session; the service's `classCapacity` when omitted.
    capacity: Option<i32>,
    /// The most seats one customer may book; 1 when omitted.
    seats_per_customer: Option<i32>,
}

/// Seats to book in a session.
#[derive(InputObject)]
pub(crate) struct BookClassSeatInput {
    /// The session.
    session_id: ID,
    /// How many seats; 1 when omitted (more only where the session allows).
    #[graphql(default = 1)]
    seats: i32,
    /// Who for; yourself when omitted (needs `booking:create` otherwise).
    customer_id: Option<ID>,
    /// Notes.
    notes: Option<String>,
    /// A key of your choosing: the same key books once, however often sent.
    idempotency_key: Option<String>,
}

/// Queries about classes.
#[derive(Default)]
pub(super) struct ClassQueries;

#[operations]
#[Object]
impl ClassQueries {
    /// The sessions of classes between two local dates (at most 31 days; a
    /// week from today when omitted), by start, at most 200: for whoever may
    /// book, with their free seats.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn class_sessions(
        &self,
        ctx: &Context<'_>,
        service_id: Option<ID>,
        provider_id: Option<ID>,
        #[graphql(desc = "First local date; today in the tenant's timezone when omitted.")] from: Option<NaiveDate>,
        #[graphql(desc = "Last local date (inclusive); a week from `from` when omitted.")] to: Option<NaiveDate>,
        #[graphql(default)] include_cancelled: bool,
    ) -> ApiResult<Vec<ClassSessionObject>> {
        let query = ClassSessionQuery {
            from,
            to,
            service_id: service_id.as_ref().map(|id| parse_id("serviceId", id)).transpose()?,
            provider_id: provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            include_cancelled,
        };
        let found = services(ctx)?.scheduling.class_sessions(request(ctx)?, query).await?;
        Ok(found.into_iter().map(ClassSessionObject).collect())
    }

    /// A session by id.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn class_session(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ClassSessionObject>> {
        let found = services(ctx)?.scheduling.class_session(request(ctx)?, parse_id("id", &id)?).await?;
        Ok(found.map(ClassSessionObject))
    }

    /// The recurring classes, of one instructor or all, newest first (at
    /// most 100).
    #[access(Requires(Permission::ProviderRead))]
    async fn class_schedules(&self, ctx: &Context<'_>, provider_id: Option<ID>) -> ApiResult<Vec<ClassScheduleObject>> {
        let provider_id = provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let found = services(ctx)?.scheduling.class_schedules(request(ctx)?, provider_id).await?;
        Ok(found.into_iter().map(ClassScheduleObject).collect())
    }
}

/// Mutations about classes.
#[derive(Default)]
pub(super) struct ClassMutations;

#[operations]
#[Object]
impl ClassMutations {
    /// Adds one session of a class (`provider:manage`, on the instructor
    /// at least). CONFLICT when the instructor is booked or teaching then.
    #[access(RequiresOnSome(Permission::ProviderManage))]
    async fn create_class_session(
        &self,
        ctx: &Context<'_>,
        input: CreateClassSessionInput,
    ) -> ApiResult<ClassSessionObject> {
        let session = NewClassSession {
            service_id: parse_id("serviceId", &input.service_id)?,
            provider_id: parse_id("providerId", &input.provider_id)?,
            starts_at: input.starts_at,
            capacity: input.capacity,
            seats_per_customer: input.seats_per_customer,
        };
        Ok(ClassSessionObject(services(ctx)?.scheduling.create_class_session(request(ctx)?, session).await?))
    }

    /// Cancels a session that has not started, and every seat booked in it
    /// (the customers are told and refunded by the business's policy).
    #[access(Requires(Permission::BookingManage))]
    async fn cancel_class_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> ApiResult<ClassSessionObject> {
        let id = parse_id("id", &id)?;
        Ok(ClassSessionObject(services(ctx)?.scheduling.cancel_class_session(request(ctx)?, id, reason).await?))
    }

    /// Makes a recurring class and generates its sessions as far ahead as
    /// the business takes bookings (more are generated as days pass);
    /// occurrences the instructor cannot teach are skipped and reported.
    #[access(RequiresOnSome(Permission::ProviderManage))]
    async fn create_class_schedule(
        &self,
        ctx: &Context<'_>,
        input: CreateClassScheduleInput,
    ) -> ApiResult<ClassSchedulePayloadObject> {
        let schedule = NewClassSchedule {
            service_id: parse_id("serviceId", &input.service_id)?,
            provider_id: parse_id("providerId", &input.provider_id)?,
            rule: weekly_rule(
                input.weekdays.into_iter().map(chrono::Weekday::from).collect(),
                input.every_weeks,
                input.last_date,
                (input.count, MAX_OCCURRENCES),
            )?,
            first_date: input.first_date,
            start_minute: parse_clock("startTime", &input.start_time)?,
            capacity: input.capacity,
            seats_per_customer: input.seats_per_customer,
        };
        let made = services(ctx)?.scheduling.create_class_schedule(request(ctx)?, schedule).await?;
        Ok(made.into())
    }

    /// Stops a recurring class: no more sessions are generated, and its
    /// future sessions nobody booked are cancelled (those with seats booked
    /// stay: cancel them one by one).
    #[access(RequiresOnSome(Permission::ProviderManage))]
    async fn end_class_schedule(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ClassScheduleObject> {
        let id = parse_id("id", &id)?;
        Ok(ClassScheduleObject(services(ctx)?.scheduling.end_class_schedule(request(ctx)?, id).await?))
    }

    /// Books seats in a class session: a booking of the session's class,
    /// time and instructor (priced per seat; with the business's payment
    /// terms, notices and live events as any booking). Cancel it with
    /// `cancelBooking`, which frees the seats. CONFLICT when the session is
    /// full or the customer holds a seat in it already.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn book_class_seat(&self, ctx: &Context<'_>, input: BookClassSeatInput) -> ApiResult<BookingObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let customer_id = input.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?;
        let seat = NewSeatBooking {
            session_id: parse_id("sessionId", &input.session_id)?,
            seats: input.seats,
            customer: flows::bookings::customer(services, request, customer_id).await?,
            notes: input.notes,
            idempotency_key: input.idempotency_key,
        };
        let booking = services.scheduling.book_class_seat(request, seat).await?;
        if booking.awaits_payment()
            && let Err(err) = services.billing.checkout_if_due(request, &booking).await
        {
            tracing::warn!(booking = %booking.id, error = %err, "the seat's payment will be made when paid");
        }
        Ok(BookingObject(booking))
    }
}
