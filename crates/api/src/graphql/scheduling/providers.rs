//! Providers: who works when (weekly hours, time off and special hours) and which
//! services they offer.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_kernel::{DomainError, Permission, ProviderId};
use tessera_scheduling::{BookingFilter, ExceptionInput, Provider, ProviderInput, ScheduleException, WeeklyInterval};

use super::bookings::{BookingObject, bookings_page};
use super::offering::{OfferingTermsInput, ServiceOffering, offerings_of};
use super::prefetch::prefetch_for_providers;
use super::services::ServiceObject;
use super::{BookingStatus, ExceptionKind, OpeningMode, ProviderType, WEEKDAYS, Weekday, clock, parse_clock};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::{UpdateProviderInput, parse_link};
use crate::graphql::{
    Requires, RequiresOnSome, RequiresOrOwn, loaders, own_permission, parse_id, permission, request, services,
};

/// Staff who perform services.
#[derive(Clone)]
pub(crate) struct ProviderObject(pub(crate) Provider);

/// One window of a provider's weekly hours, in the tenant's timezone.
#[derive(SimpleObject)]
pub(crate) struct WorkingInterval {
    /// The day.
    weekday: Weekday,
    /// Start, `HH:MM`.
    start_time: String,
    /// End, `HH:MM` (`24:00` = midnight).
    end_time: String,
}

impl From<&WeeklyInterval> for WorkingInterval {
    fn from(i: &WeeklyInterval) -> Self {
        Self {
            weekday: WEEKDAYS[usize::from(i.weekday.min(6))],
            start_time: clock(i.window.start_minute),
            end_time: clock(i.window.end_minute),
        }
    }
}

#[Object(name = "Provider")]
impl ProviderObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Employment type.
    #[graphql(name = "type")]
    async fn provider_type(&self) -> ProviderType {
        self.0.provider_type.into()
    }
    /// Contact email.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Contact phone (E.164).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Whether they take bookings.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The member account linked to this provider (their own calendar), if any.
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id.map(|id| ID(id.to_string()))
    }
    /// Average review rating (1–5), once reviewed.
    async fn average_rating(&self) -> Option<f64> {
        self.0.average_rating
    }
    /// Number of reviews.
    async fn review_count(&self) -> i32 {
        self.0.review_count
    }
    /// Weekly working hours.
    async fn working_hours(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkingInterval>> {
        let hours = loaders(ctx)?.working_hours.load_one(self.0.id).await?.unwrap_or_default();
        Ok(hours.iter().map(WorkingInterval::from).collect())
    }
    /// The services they offer.
    async fn services(&self, ctx: &Context<'_>) -> ApiResult<Vec<ServiceObject>> {
        Ok(offerings_of(ctx, self.0.id).await?.into_iter().map(|o| ServiceObject(o.service)).collect())
    }
    /// The services they offer, with the price and time they charge and take for each.
    async fn offerings(&self, ctx: &Context<'_>) -> ApiResult<Vec<ServiceOffering>> {
        offerings_of(ctx, self.0.id).await
    }
    /// Their time off and special hours between two dates (with the tenant's holidays).
    async fn exceptions(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Vec<ScheduleExceptionObject>> {
        let found = services(ctx)?.scheduling.exceptions(request(ctx)?, Some(self.0.id), from, to).await?;
        Ok(found.into_iter().map(ScheduleExceptionObject).collect())
    }
    /// Their next upcoming (scheduled or confirmed) bookings, at most `first`
    /// (up to 20). Batched across a list of providers; use `bookings` to page
    /// through one provider's whole history.
    #[graphql(complexity = "usize::try_from(first).unwrap_or(5).max(1) * child_complexity + 1")]
    async fn upcoming_bookings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5)] first: i32,
    ) -> ApiResult<Vec<BookingObject>> {
        let limit = usize::try_from(first)
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| ApiError::from(DomainError::invalid("first", "must be between 1 and 20")))?;
        let found = loaders(ctx)?.upcoming_bookings.load_one((self.0.id, limit)).await?.unwrap_or_default();
        Ok(found.into_iter().map(BookingObject).collect())
    }
    /// Their bookings, by start time.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        status: Option<Vec<BookingStatus>>,
    ) -> ApiResult<Connection<String, BookingObject>> {
        let filter = BookingFilter {
            from,
            to,
            provider_id: Some(self.0.id),
            statuses: status.unwrap_or_default().into_iter().map(Into::into).collect(),
            ..BookingFilter::default()
        };
        bookings_page(ctx, &filter, first, after, last, before).await
    }
}

/// A dated change to the usual hours.
pub(crate) struct ScheduleExceptionObject(ScheduleException);

#[Object(name = "ScheduleException")]
impl ScheduleExceptionObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The provider, or null for the whole tenant (a holiday).
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        let Some(id) = self.0.provider_id else { return Ok(None) };
        Ok(loaders(ctx)?.providers.load_one(id).await?.map(ProviderObject))
    }
    /// The local date.
    async fn date(&self) -> NaiveDate {
        self.0.date
    }
    /// Closed (time off) or open (special hours).
    async fn kind(&self) -> ExceptionKind {
        self.0.kind.into()
    }
    /// For special hours, whether they replace or add to the day's weekly hours;
    /// null for a closure.
    async fn opening_mode(&self) -> Option<OpeningMode> {
        self.0.opening.map(Into::into)
    }
    /// Start of the window, or null for the whole day.
    async fn start_time(&self) -> Option<String> {
        self.0.window.map(|w| clock(w.start_minute))
    }
    /// End of the window, or null for the whole day.
    async fn end_time(&self) -> Option<String> {
        self.0.window.map(|w| clock(w.end_minute))
    }
    /// Why.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

/// A provider's details.
#[derive(InputObject)]
pub(crate) struct ProviderDetailsInput {
    /// Name.
    name: String,
    /// Job title.
    title: Option<String>,
    /// Employment type; EMPLOYEE when omitted.
    #[graphql(name = "type")]
    provider_type: Option<ProviderType>,
    /// Email.
    email: Option<String>,
    /// Phone, E.164 (`+15551234567`).
    phone: Option<String>,
    /// Whether they take bookings; true when omitted.
    active: Option<bool>,
    /// The member account this provider is: they then keep their own hours and see
    /// their own bookings (`provider:manage_own`, `booking:read_own`). Linking
    /// needs `provider:manage` tenant-wide.
    user_id: MaybeUndefined<ID>,
}

impl TryFrom<ProviderDetailsInput> for ProviderInput {
    type Error = ApiError;

    fn try_from(i: ProviderDetailsInput) -> ApiResult<Self> {
        Ok(Self {
            name: i.name,
            title: i.title,
            provider_type: i.provider_type.map(Into::into),
            email: i.email,
            phone: i.phone,
            active: i.active,
            user_id: parse_link(i.user_id)?,
        })
    }
}

/// One window of weekly hours.
#[derive(InputObject)]
pub(crate) struct WorkingIntervalInput {
    /// The day.
    weekday: Weekday,
    /// Start, `HH:MM`.
    start_time: String,
    /// End, `HH:MM` (`24:00` = midnight).
    end_time: String,
}

/// Time off, a holiday (without provider) or special opening hours.
#[derive(InputObject)]
pub(crate) struct ScheduleExceptionInput {
    /// The provider; omit for the whole tenant.
    provider_id: Option<ID>,
    /// The local date.
    date: NaiveDate,
    /// CLOSED or OPEN.
    kind: ExceptionKind,
    /// For OPEN only: whether the hours replace the day's weekly hours (the
    /// default) or add to them.
    opening_mode: Option<OpeningMode>,
    /// Start, `HH:MM`; omit with endTime to close the whole day.
    start_time: Option<String>,
    /// End, `HH:MM`.
    end_time: Option<String>,
    /// Why.
    reason: Option<String>,
}

async fn provider_by_id(ctx: &Context<'_>, id: ProviderId) -> ApiResult<ProviderObject> {
    let mut found = services(ctx)?.scheduling.providers_by_ids(request(ctx)?, &[id]).await?;
    found.remove(&id).map(ProviderObject).ok_or_else(|| DomainError::NotFound { entity: "provider" }.into())
}

/// Queries about providers.
#[derive(Default)]
pub(super) struct ProviderQueries;

#[Object]
impl ProviderQueries {
    /// The tenant's providers.
    #[graphql(guard = "Requires(Permission::ProviderRead)", directive = permission::apply(Permission::ProviderRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn providers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        active: Option<bool>,
    ) -> ApiResult<Connection<String, ProviderObject>> {
        let page = services(ctx)?
            .scheduling
            .providers(request(ctx)?, &page_request(first, after, last, before), active)
            .await?;
        // Only warms the loaders; a nested field reports its own error (see `bookings_page`).
        let _ = prefetch_for_providers(ctx, &page.items).await;
        Ok(connection(page, |p| p.id.as_uuid(), ProviderObject))
    }

    /// A provider by id.
    #[graphql(guard = "Requires(Permission::ProviderRead)", directive = permission::apply(Permission::ProviderRead.name().to_owned()))]
    async fn provider(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ProviderObject>> {
        let id: ProviderId = parse_id("id", &id)?;
        Ok(loaders(ctx)?.providers.load_one(id).await?.map(ProviderObject))
    }

    /// Exceptions between two dates: one provider's and the tenant's, or all.
    #[graphql(guard = "Requires(Permission::ProviderRead)", directive = permission::apply(Permission::ProviderRead.name().to_owned()))]
    async fn schedule_exceptions(
        &self,
        ctx: &Context<'_>,
        provider_id: Option<ID>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Vec<ScheduleExceptionObject>> {
        let provider_id = provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let found = services(ctx)?.scheduling.exceptions(request(ctx)?, provider_id, from, to).await?;
        Ok(found.into_iter().map(ScheduleExceptionObject).collect())
    }
}

/// Mutations about providers.
#[derive(Default)]
pub(super) struct ProviderMutations;

#[Object]
impl ProviderMutations {
    /// Adds a provider.
    #[graphql(guard = "Requires(Permission::ProviderManage)", directive = permission::apply(Permission::ProviderManage.name().to_owned()))]
    async fn create_provider(&self, ctx: &Context<'_>, input: ProviderDetailsInput) -> ApiResult<ProviderObject> {
        Ok(ProviderObject(services(ctx)?.scheduling.create_provider(request(ctx)?, input.try_into()?).await?))
    }

    /// Changes a provider's details.
    #[graphql(guard = "RequiresOnSome(Permission::ProviderManage)", directive = permission::apply(Permission::ProviderManage.name().to_owned()))]
    async fn update_provider(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProviderInput,
    ) -> ApiResult<ProviderObject> {
        let provider =
            services(ctx)?.scheduling.update_provider(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?;
        Ok(ProviderObject(provider))
    }

    /// Replaces a provider's weekly hours (several windows a day allowed).
    #[graphql(guard = "RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn)", directive = permission::apply(Permission::ProviderManage.name().to_owned()), directive = own_permission::apply(Permission::ProviderManageOwn.name().to_owned()))]
    async fn set_working_hours(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        intervals: Vec<WorkingIntervalInput>,
    ) -> ApiResult<ProviderObject> {
        let provider_id: ProviderId = parse_id("providerId", &provider_id)?;
        let mut parsed = Vec::with_capacity(intervals.len());
        for interval in intervals {
            let weekday = WEEKDAYS.iter().position(|d| *d == interval.weekday).unwrap_or(0);
            parsed.push((
                i32::try_from(weekday).unwrap_or(0),
                parse_clock("startTime", &interval.start_time)?,
                parse_clock("endTime", &interval.end_time)?,
            ));
        }
        services(ctx)?.scheduling.set_working_hours(request(ctx)?, provider_id, parsed).await?;
        provider_by_id(ctx, provider_id).await
    }

    /// Adds time off, a holiday or special opening hours.
    #[graphql(guard = "RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn)", directive = permission::apply(Permission::ProviderManage.name().to_owned()), directive = own_permission::apply(Permission::ProviderManageOwn.name().to_owned()))]
    async fn add_schedule_exception(
        &self,
        ctx: &Context<'_>,
        input: ScheduleExceptionInput,
    ) -> ApiResult<ScheduleExceptionObject> {
        let window = match (&input.start_time, &input.end_time) {
            (Some(start), Some(end)) => Some((parse_clock("startTime", start)?, parse_clock("endTime", end)?)),
            (None, None) => None,
            _ => return Err(DomainError::invalid("endTime", "give both startTime and endTime, or neither").into()),
        };
        let exception = ExceptionInput {
            provider_id: input.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            date: input.date,
            kind: input.kind.into(),
            opening: input.opening_mode.map(Into::into),
            window,
            reason: input.reason,
        };
        Ok(ScheduleExceptionObject(services(ctx)?.scheduling.add_exception(request(ctx)?, exception).await?))
    }

    /// Removes an exception.
    #[graphql(guard = "RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn)", directive = permission::apply(Permission::ProviderManage.name().to_owned()), directive = own_permission::apply(Permission::ProviderManageOwn.name().to_owned()))]
    async fn remove_schedule_exception(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        services(ctx)?.scheduling.remove_exception(request(ctx)?, parse_id("id", &id)?).await?;
        Ok(id)
    }

    /// Lets a provider perform a service, or changes what they charge and take for
    /// it: without `terms` (or with `null`), the terms in place are kept, the
    /// service's for a new offering. Bookings already made keep their price.
    #[graphql(guard = "Requires(Permission::ProviderManage)", directive = permission::apply(Permission::ProviderManage.name().to_owned()))]
    async fn assign_service(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        service_id: ID,
        terms: Option<OfferingTermsInput>,
    ) -> ApiResult<ProviderObject> {
        let provider_id: ProviderId = parse_id("providerId", &provider_id)?;
        let service_id = parse_id("serviceId", &service_id)?;
        let terms = terms.unwrap_or_default().into();
        services(ctx)?.scheduling.assign_service(request(ctx)?, provider_id, service_id, terms).await?;
        provider_by_id(ctx, provider_id).await
    }

    /// Stops a provider performing a service; existing bookings stay.
    #[graphql(guard = "Requires(Permission::ProviderManage)", directive = permission::apply(Permission::ProviderManage.name().to_owned()))]
    async fn unassign_service(&self, ctx: &Context<'_>, provider_id: ID, service_id: ID) -> ApiResult<ProviderObject> {
        let provider_id: ProviderId = parse_id("providerId", &provider_id)?;
        services(ctx)?
            .scheduling
            .unassign_service(request(ctx)?, provider_id, parse_id("serviceId", &service_id)?)
            .await?;
        provider_by_id(ctx, provider_id).await
    }
}
