//! Scheduling's types that other domains show: providers, with their hours and
//! exceptions (a role granted on one provider names it). Other domains import these, never scheduling's resolver files.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_kernel::DomainError;
use tessera_scheduling::{BookingFilter, Provider, ScheduleException, WeeklyInterval};

use super::bookings::{BookingObject, bookings_page};
use super::offering::{ServiceOfferingObject, offerings_of};
use super::services::ServiceObject;
use super::{BookingStatusEnum, ExceptionKindEnum, OpeningModeEnum, ProviderTypeEnum, WEEKDAYS, WeekdayEnum, clock};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::page_cost;
use crate::graphql::{loaders, request, services};

/// Staff who perform services.
#[derive(Clone)]
pub(crate) struct ProviderObject(pub(crate) Provider);

/// One window of a provider's weekly hours, in the tenant's timezone.
#[derive(SimpleObject)]
#[graphql(name = "WorkingInterval")]
pub(crate) struct WorkingIntervalObject {
    /// The day.
    weekday: WeekdayEnum,
    /// Start, `HH:MM`.
    start_time: String,
    /// End, `HH:MM` (`24:00` = midnight).
    end_time: String,
}

impl From<&WeeklyInterval> for WorkingIntervalObject {
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
    async fn provider_type(&self) -> ProviderTypeEnum {
        self.0.provider_type.into()
    }
    /// Set for a resource (`room`, `basin`): booked with a person for the
    /// services that need its type; null for a person.
    async fn resource_type(&self) -> Option<&str> {
        self.0.resource_type.as_deref()
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
    async fn working_hours(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkingIntervalObject>> {
        let hours = loaders(ctx)?.working_hours().load_one(self.0.id).await?.unwrap_or_default();
        Ok(hours.iter().map(WorkingIntervalObject::from).collect())
    }
    /// The services they offer.
    async fn services(&self, ctx: &Context<'_>) -> ApiResult<Vec<ServiceObject>> {
        Ok(offerings_of(ctx, self.0.id).await?.into_iter().map(|o| ServiceObject(o.service)).collect())
    }
    /// The services they offer, with the price and time they charge and take for each.
    async fn offerings(&self, ctx: &Context<'_>) -> ApiResult<Vec<ServiceOfferingObject>> {
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
        let found = loaders(ctx)?.upcoming_bookings().load_one((self.0.id, limit)).await?.unwrap_or_default();
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
        status: Option<Vec<BookingStatusEnum>>,
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
pub(crate) struct ScheduleExceptionObject(pub(super) ScheduleException);

#[Object(name = "ScheduleException")]
impl ScheduleExceptionObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The provider, or null for the whole tenant (a holiday).
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        let Some(id) = self.0.provider_id else { return Ok(None) };
        Ok(loaders(ctx)?.providers().load_one(id).await?.map(ProviderObject))
    }
    /// The local date.
    async fn date(&self) -> NaiveDate {
        self.0.date
    }
    /// Closed (time off) or open (special hours).
    async fn kind(&self) -> ExceptionKindEnum {
        self.0.kind.into()
    }
    /// For special hours, whether they replace or add to the day's weekly hours;
    /// null for a closure.
    async fn opening_mode(&self) -> Option<OpeningModeEnum> {
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
