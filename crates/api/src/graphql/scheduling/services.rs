//! Services and their add-ons: what the business sells by time.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{Permission, ServiceId};
use tessera_scheduling::{Addon, AddonInput, AddonPatch, ResourceNeed, Service, ServiceInput, ServicePatch};

use crate::error::{ApiError, ApiResult};
use crate::graphql::billing::objects::PaymentTermsObject;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set};
use crate::graphql::{Requires, loaders, parse_id, request, services};

/// Something the tenant sells by time.
#[derive(Clone)]
pub(crate) struct ServiceObject(pub(crate) Service);

#[Object(name = "Service")]
impl ServiceObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Price.
    async fn price(&self) -> ApiResult<MoneyObject> {
        money(self.0.price_minor, &self.0.currency)
    }
    /// Length in minutes.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// Preparation time before, in minutes.
    async fn buffer_before_minutes(&self) -> i32 {
        self.0.buffer_before_minutes
    }
    /// Clean-up time after, in minutes.
    async fn buffer_after_minutes(&self) -> i32 {
        self.0.buffer_after_minutes
    }
    /// Whether it can be booked.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// What customers pay when they book it, when not the business's terms
    /// (`paymentAccount.terms`); null follows the business's.
    async fn payment_terms(&self) -> Option<PaymentTermsObject> {
        self.0.payment_terms.as_ref().map(PaymentTermsObject::from)
    }
    /// When it was deleted, if it was.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// Set for a class (a yoga class, a workshop): it is booked seat by
    /// seat in its sessions (`classSessions`, `bookClassSeat`), not at a
    /// free start; a new session has this many seats unless it names its
    /// own. Null for an appointment.
    async fn class_capacity(&self) -> Option<i32> {
        self.0.class_capacity
    }
    /// The resource it needs (a room, a basin for its first 30 minutes),
    /// booked with the person; null when it needs none.
    async fn resource_need(&self) -> Option<ResourceNeedObject> {
        self.0.resource_need.clone().map(ResourceNeedObject::from)
    }
    /// Its add-ons.
    async fn addons(&self, ctx: &Context<'_>) -> ApiResult<Vec<AddonObject>> {
        let found = loaders(ctx)?.addons().load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(AddonObject).collect())
    }
}

/// An optional extra to a service.
#[derive(Clone)]
pub(crate) struct AddonObject(pub(crate) Addon);

#[Object(name = "Addon")]
impl AddonObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Extra price, in the service's currency.
    async fn price_minor(&self) -> i32 {
        i32::try_from(self.0.price_minor).unwrap_or(i32::MAX)
    }
    /// Extra minutes.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// Whether it can be chosen.
    async fn active(&self) -> bool {
        self.0.active
    }
}

/// A service's details.
#[derive(InputObject)]
pub(crate) struct ServiceDetailsInput {
    /// Name.
    name: String,
    /// Description.
    description: Option<String>,
    /// Price in minor units (cents).
    price_minor: i32,
    /// ISO 4217 currency; the tenant's when omitted.
    currency: Option<String>,
    /// Length in minutes.
    duration_minutes: i32,
    /// Preparation time before, in minutes.
    #[graphql(default)]
    buffer_before_minutes: i32,
    /// Clean-up time after, in minutes.
    #[graphql(default)]
    buffer_after_minutes: i32,
    /// Whether it can be booked; true when omitted.
    active: Option<bool>,
    /// A class of this many seats (1 to 500), booked in its sessions; an
    /// appointment when omitted.
    class_capacity: Option<i32>,
    /// A resource it needs, booked with the person.
    resource_need: Option<ResourceNeedObject>,
}

/// A resource a service needs: one of a type (as resources name theirs:
/// `room`, `basin`), from `offsetMinutes` after the start for `minutes`
/// (to the service's end when omitted).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "ResourceNeed", input_name = "ResourceNeedInput")]
pub(crate) struct ResourceNeedObject {
    /// The type.
    resource_type: String,
    /// From this many minutes after the start.
    #[graphql(default)]
    offset_minutes: i32,
    /// For this many minutes (at least 5); to the end of the service when
    /// null.
    minutes: Option<i32>,
}

impl From<ResourceNeed> for ResourceNeedObject {
    fn from(need: ResourceNeed) -> Self {
        Self { resource_type: need.resource_type, offset_minutes: need.offset_minutes, minutes: need.minutes }
    }
}

impl From<ResourceNeedObject> for ResourceNeed {
    fn from(need: ResourceNeedObject) -> Self {
        Self { resource_type: need.resource_type, offset_minutes: need.offset_minutes, minutes: need.minutes }
    }
}

impl From<ServiceDetailsInput> for ServiceInput {
    fn from(i: ServiceDetailsInput) -> Self {
        Self {
            name: i.name,
            description: i.description,
            price_minor: i64::from(i.price_minor),
            currency: i.currency,
            duration_minutes: i.duration_minutes,
            buffer_before_minutes: i.buffer_before_minutes,
            buffer_after_minutes: i.buffer_after_minutes,
            active: i.active,
            class_capacity: i.class_capacity,
            resource_need: i.resource_need.map(Into::into),
        }
    }
}

/// An add-on's details.
#[derive(InputObject)]
pub(crate) struct AddonDetailsInput {
    /// Name.
    name: String,
    /// Extra price in minor units.
    price_minor: i32,
    /// Extra minutes.
    duration_minutes: i32,
    /// Whether it can be chosen; true when omitted.
    active: Option<bool>,
}

impl From<AddonDetailsInput> for AddonInput {
    fn from(i: AddonDetailsInput) -> Self {
        Self {
            name: i.name,
            price_minor: i64::from(i.price_minor),
            duration_minutes: i.duration_minutes,
            active: i.active,
        }
    }
}

/// Changes to a service; omitted fields keep their value. Existing bookings keep
/// what they were booked with.
#[derive(InputObject)]
pub(crate) struct UpdateServiceInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Description; null clears it.
    description: MaybeUndefined<String>,
    /// Price in minor units (cents).
    price_minor: MaybeUndefined<i32>,
    /// ISO 4217 currency.
    currency: MaybeUndefined<String>,
    /// Length in minutes.
    duration_minutes: MaybeUndefined<i32>,
    /// Preparation time before, in minutes.
    buffer_before_minutes: MaybeUndefined<i32>,
    /// Clean-up time after, in minutes.
    buffer_after_minutes: MaybeUndefined<i32>,
    /// Whether it can be booked.
    active: MaybeUndefined<bool>,
    /// A class of this many seats; null makes it an appointment again.
    class_capacity: MaybeUndefined<i32>,
    /// A resource it needs; null: none any more.
    resource_need: MaybeUndefined<ResourceNeedObject>,
}

impl TryFrom<UpdateServiceInput> for ServicePatch {
    type Error = ApiError;

    fn try_from(i: UpdateServiceInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            description: kept_cleared_or_set(i.description),
            price_minor: kept_or_set("priceMinor", i.price_minor)?.map(i64::from),
            currency: kept_or_set("currency", i.currency)?,
            duration_minutes: kept_or_set("durationMinutes", i.duration_minutes)?,
            buffer_before_minutes: kept_or_set("bufferBeforeMinutes", i.buffer_before_minutes)?,
            buffer_after_minutes: kept_or_set("bufferAfterMinutes", i.buffer_after_minutes)?,
            active: kept_or_set("active", i.active)?,
            class_capacity: kept_cleared_or_set(i.class_capacity),
            resource_need: kept_cleared_or_set(i.resource_need).map(|need| need.map(Into::into)),
        })
    }
}

/// Changes to an add-on; omitted fields keep their value.
#[derive(InputObject)]
pub(crate) struct UpdateAddonInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Extra price in minor units.
    price_minor: MaybeUndefined<i32>,
    /// Extra minutes.
    duration_minutes: MaybeUndefined<i32>,
    /// Whether it can be chosen.
    active: MaybeUndefined<bool>,
}

impl TryFrom<UpdateAddonInput> for AddonPatch {
    type Error = ApiError;

    fn try_from(i: UpdateAddonInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            price_minor: kept_or_set("priceMinor", i.price_minor)?.map(i64::from),
            duration_minutes: kept_or_set("durationMinutes", i.duration_minutes)?,
            active: kept_or_set("active", i.active)?,
        })
    }
}

/// Queries about services and add-ons.
#[derive(Default)]
pub(super) struct ServiceQueries;

#[operations]
#[Object]
impl ServiceQueries {
    /// The tenant's services (not deleted).
    #[access(Requires(Permission::ServiceRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn services(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        active: Option<bool>,
    ) -> ApiResult<Connection<String, ServiceObject>> {
        let page = services(ctx)?
            .scheduling
            .services(request(ctx)?, &page_request(first, after, last, before), active)
            .await?;
        Ok(connection(page, |s| s.id.as_uuid(), ServiceObject))
    }

    /// A service by id.
    #[access(Requires(Permission::ServiceRead))]
    async fn service(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ServiceObject>> {
        let id: ServiceId = parse_id("id", &id)?;
        Ok(loaders(ctx)?.services().load_one(id).await?.map(ServiceObject))
    }
}

/// Mutations about services and add-ons.
#[derive(Default)]
pub(super) struct ServiceMutations;

#[operations]
#[Object]
impl ServiceMutations {
    /// Adds a service.
    #[access(Requires(Permission::ServiceManage))]
    async fn create_service(&self, ctx: &Context<'_>, input: ServiceDetailsInput) -> ApiResult<ServiceObject> {
        Ok(ServiceObject(services(ctx)?.scheduling.create_service(request(ctx)?, input.into()).await?))
    }

    /// Changes a service; existing bookings keep what they were booked with.
    #[access(Requires(Permission::ServiceManage))]
    async fn update_service(&self, ctx: &Context<'_>, id: ID, input: UpdateServiceInput) -> ApiResult<ServiceObject> {
        let service =
            services(ctx)?.scheduling.update_service(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?;
        Ok(ServiceObject(service))
    }

    /// Deletes a service softly: it can no longer be booked; its bookings stay.
    #[access(Requires(Permission::ServiceManage))]
    async fn delete_service(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ServiceObject> {
        Ok(ServiceObject(services(ctx)?.scheduling.delete_service(request(ctx)?, parse_id("id", &id)?).await?))
    }

    /// Adds an add-on to a service.
    #[access(Requires(Permission::ServiceManage))]
    async fn create_addon(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        input: AddonDetailsInput,
    ) -> ApiResult<AddonObject> {
        let addon = services(ctx)?
            .scheduling
            .create_addon(request(ctx)?, parse_id("serviceId", &service_id)?, input.into())
            .await?;
        Ok(AddonObject(addon))
    }

    /// Changes an add-on.
    #[access(Requires(Permission::ServiceManage))]
    async fn update_addon(&self, ctx: &Context<'_>, id: ID, input: UpdateAddonInput) -> ApiResult<AddonObject> {
        Ok(AddonObject(
            services(ctx)?.scheduling.update_addon(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?,
        ))
    }
}
