//! Providers: who works when (weekly hours, time off and special hours) and which
//! services they offer.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;
use tessera_api_macros::operations;
use tessera_kernel::{DomainError, Permission, ProviderId};
use tessera_scheduling::{ExceptionInput, ProviderInput, ProviderPatch, WeeklyHours};

use super::objects::{ProviderObject, ScheduleExceptionObject};
use super::offering::OfferingTermsInput;
use super::prefetch::prefetch_for_providers;
use super::{ExceptionKindEnum, OpeningModeEnum, ProviderTypeEnum, WEEKDAYS, WeekdayEnum, parse_clock};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set, parse_link};
use crate::graphql::{Requires, RequiresOnSome, RequiresOrOwn, loaders, parse_id, request, services};

/// A provider's details.
#[derive(InputObject)]
pub(crate) struct ProviderDetailsInput {
    /// Name.
    name: String,
    /// Job title.
    title: Option<String>,
    /// Employment type; EMPLOYEE when omitted.
    #[graphql(name = "type")]
    provider_type: Option<ProviderTypeEnum>,
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
    /// Makes a resource of this type (`room`, `basin`, `chair`) instead of a
    /// person: it keeps hours and exceptions like anyone, and is booked
    /// with a person for the services whose `resourceNeed` names its type.
    /// Fixed once made.
    resource_type: Option<String>,
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
            resource_type: i.resource_type,
        })
    }
}

/// One window of weekly hours.
#[derive(InputObject)]
pub(crate) struct WorkingIntervalInput {
    /// The day.
    weekday: WeekdayEnum,
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
    kind: ExceptionKindEnum,
    /// For OPEN only: whether the hours replace the day's weekly hours (the
    /// default) or add to them.
    opening_mode: Option<OpeningModeEnum>,
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

/// Changes to a provider; omitted fields keep their value, null clears one that
/// may be empty.
#[derive(InputObject)]
pub(crate) struct UpdateProviderInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Job title.
    title: MaybeUndefined<String>,
    /// Employment type.
    #[graphql(name = "type")]
    provider_type: MaybeUndefined<ProviderTypeEnum>,
    /// Email.
    email: MaybeUndefined<String>,
    /// Phone, E.164 (`+15551234567`).
    phone: MaybeUndefined<String>,
    /// Whether they take bookings.
    active: MaybeUndefined<bool>,
    /// The member account this provider is; null unlinks it. Changing it needs
    /// `provider:manage` tenant-wide.
    user_id: MaybeUndefined<ID>,
}

impl TryFrom<UpdateProviderInput> for ProviderPatch {
    type Error = ApiError;

    fn try_from(i: UpdateProviderInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            title: kept_cleared_or_set(i.title),
            provider_type: kept_or_set("type", i.provider_type)?.map(Into::into),
            email: kept_cleared_or_set(i.email),
            phone: kept_cleared_or_set(i.phone),
            active: kept_or_set("active", i.active)?,
            user_id: parse_link(i.user_id)?,
        })
    }
}

/// Queries about providers.
#[derive(Default)]
pub(super) struct ProviderQueries;

#[operations]
#[Object]
impl ProviderQueries {
    /// The tenant's providers.
    #[access(Requires(Permission::ProviderRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn providers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        active: Option<bool>,
        #[graphql(default = false, desc = "The business's resources (rooms, equipment) instead of its people.")]
        resources: bool,
    ) -> ApiResult<Connection<String, ProviderObject>> {
        let page = services(ctx)?
            .scheduling
            .providers(request(ctx)?, &page_request(first, after, last, before), (active, resources))
            .await?;
        // Only warms the loaders; a nested field reports its own error (see `bookings_page`).
        let _ = prefetch_for_providers(ctx, &page.items).await;
        Ok(connection(page, |p| p.id.as_uuid(), ProviderObject))
    }

    /// A provider by id.
    #[access(Requires(Permission::ProviderRead))]
    async fn provider(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ProviderObject>> {
        let id: ProviderId = parse_id("id", &id)?;
        Ok(loaders(ctx)?.providers().load_one(id).await?.map(ProviderObject))
    }

    /// Exceptions between two dates: one provider's and the tenant's, or all.
    #[access(Requires(Permission::ProviderRead))]
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

#[operations]
#[Object]
impl ProviderMutations {
    /// Adds a provider.
    #[access(Requires(Permission::ProviderManage))]
    async fn create_provider(&self, ctx: &Context<'_>, input: ProviderDetailsInput) -> ApiResult<ProviderObject> {
        Ok(ProviderObject(services(ctx)?.scheduling.create_provider(request(ctx)?, input.try_into()?).await?))
    }

    /// Changes a provider's details.
    #[access(RequiresOnSome(Permission::ProviderManage))]
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
    #[access(RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn))]
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
            parsed.push(WeeklyHours::new(
                i32::try_from(weekday).unwrap_or(0),
                parse_clock("startTime", &interval.start_time)?,
                parse_clock("endTime", &interval.end_time)?,
            ));
        }
        services(ctx)?.scheduling.set_working_hours(request(ctx)?, provider_id, parsed).await?;
        provider_by_id(ctx, provider_id).await
    }

    /// Adds time off, a holiday or special opening hours.
    #[access(RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn))]
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
    #[access(RequiresOrOwn(Permission::ProviderManage, Permission::ProviderManageOwn))]
    async fn remove_schedule_exception(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        services(ctx)?.scheduling.remove_exception(request(ctx)?, parse_id("id", &id)?).await?;
        Ok(id)
    }

    /// Lets a provider perform a service, or changes what they charge and take for
    /// it: without `terms` (or with `null`), the terms in place are kept, the
    /// service's for a new offering. Bookings already made keep their price.
    #[access(Requires(Permission::ProviderManage))]
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
    #[access(Requires(Permission::ProviderManage))]
    async fn unassign_service(&self, ctx: &Context<'_>, provider_id: ID, service_id: ID) -> ApiResult<ProviderObject> {
        let provider_id: ProviderId = parse_id("providerId", &provider_id)?;
        services(ctx)?
            .scheduling
            .unassign_service(request(ctx)?, provider_id, parse_id("serviceId", &service_id)?)
            .await?;
        provider_by_id(ctx, provider_id).await
    }
}
