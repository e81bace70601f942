//! The waitlist: joining it for a service, the entries, and accepting,
//! declining or leaving. The time offered is a booking (`Booking.
//! offerExpiresAt`), so it shows in calendars, availability and live
//! events like any other.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_scheduling::{NewWaitlistEntry, WaitlistEntry, WaitlistFilter};

use super::{BookingObject, CustomerObject, ServiceObject};
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::{RequiresOrOwn, loaders, parse_id, request, services};

/// Where a waitlist entry stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "WaitlistStatus", remote = "tessera_scheduling::WaitlistStatus")]
pub(crate) enum WaitlistStatusEnum {
    /// Waiting for a time to free.
    Waiting,
    /// Offered a time (`booking`), held until `offerExpiresAt`.
    Offered,
    /// The offer was accepted: `booking` is theirs.
    Booked,
    /// The offer was turned down.
    Declined,
    /// The offer ran out before it was accepted.
    Expired,
    /// Taken off the waitlist.
    Left,
}

/// A customer's place on the waitlist of a service.
pub(crate) struct WaitlistEntryObject(WaitlistEntry);

#[Object(name = "WaitlistEntry")]
impl WaitlistEntryObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where it stands.
    async fn status(&self) -> WaitlistStatusEnum {
        self.0.status.into()
    }
    /// The customer's id.
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.to_string())
    }
    /// The customer.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<CustomerObject>> {
        Ok(loaders(ctx)?.customers().load_one(self.0.customer_id).await?.map(CustomerObject))
    }
    /// The service's id.
    async fn service_id(&self) -> ID {
        ID(self.0.service_id.to_string())
    }
    /// The service.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<ServiceObject>> {
        Ok(loaders(ctx)?.services().load_one(self.0.service_id).await?.map(ServiceObject))
    }
    /// The provider asked for; null for anyone who offers the service.
    async fn provider_id(&self) -> Option<ID> {
        self.0.provider_id.map(|id| ID(id.to_string()))
    }
    /// The first local date they can come on; today when null.
    async fn earliest_date(&self) -> Option<NaiveDate> {
        self.0.earliest_date
    }
    /// The last local date they can come on; a month on when null.
    async fn latest_date(&self) -> Option<NaiveDate> {
        self.0.latest_date
    }
    /// What they told the business.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The time offered (SCHEDULED until accepted), then booked.
    async fn booking(&self, ctx: &Context<'_>) -> ApiResult<Option<BookingObject>> {
        let Some(id) = self.0.offer_booking_id else { return Ok(None) };
        let mut found = services(ctx)?.scheduling.bookings_by_ids(request(ctx)?, &[id]).await?;
        Ok(found.remove(&id).map(BookingObject))
    }
    /// When the time was offered.
    async fn offered_at(&self) -> Option<DateTime<Utc>> {
        self.0.offered_at
    }
    /// Until when the offer holds.
    async fn offer_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.offer_expires_at
    }
    /// When they joined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stopped waiting (booked, declined, expired or left).
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// Who waits for what: a service (a seat, for a class), with one provider
/// or anyone who offers it, on some local dates (from `earliestDate`, today when omitted, to
/// `latestDate`, at most 31 days on; a month when omitted).
#[derive(InputObject)]
pub(crate) struct JoinWaitlistInput {
    /// The service; for a class, a seat in one of its sessions.
    service_id: ID,
    /// One provider; anyone who offers the service when omitted.
    provider_id: Option<ID>,
    /// Who waits; yourself when omitted (needs `booking:create` otherwise).
    customer_id: Option<ID>,
    /// The first local date they can come on.
    earliest_date: Option<NaiveDate>,
    /// The last local date they can come on.
    latest_date: Option<NaiveDate>,
    /// Notes for the business (at most 500 characters).
    notes: Option<String>,
}

/// Which entries to list.
#[derive(InputObject, Default)]
pub(crate) struct WaitlistFilterInput {
    /// Of this service.
    service_id: Option<ID>,
    /// Of this provider (entries for anyone are not included).
    provider_id: Option<ID>,
    /// Of this customer.
    customer_id: Option<ID>,
    /// In these statuses; WAITING and OFFERED when omitted.
    statuses: Option<Vec<WaitlistStatusEnum>>,
}

impl WaitlistFilterInput {
    fn parse(self) -> ApiResult<WaitlistFilter> {
        Ok(WaitlistFilter {
            service_id: self.service_id.as_ref().map(|id| parse_id("serviceId", id)).transpose()?,
            provider_id: self.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            customer_id: self.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?,
            statuses: self.statuses.unwrap_or_default().into_iter().map(Into::into).collect(),
        })
    }
}

/// Mutations about the waitlist.
#[derive(Default)]
pub(super) struct WaitlistMutations;

#[operations]
#[Object]
impl WaitlistMutations {
    /// Puts a customer on the waitlist of a service. When a time they wait
    /// for frees (a cancellation, a move, new hours), the first one waiting
    /// is offered it, held for the business's `waitlistOfferMinutes`, and
    /// told (`waitlist.offered`); a time free already is offered at once
    /// (the entry answers OFFERED). One open entry per customer and service.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn join_waitlist(&self, ctx: &Context<'_>, input: JoinWaitlistInput) -> ApiResult<WaitlistEntryObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let customer_id = input.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?;
        let entry = NewWaitlistEntry {
            service_id: parse_id("serviceId", &input.service_id)?,
            provider_id: input.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            customer: flows::bookings::customer(services, request, customer_id).await?,
            earliest_date: input.earliest_date,
            latest_date: input.latest_date,
            notes: input.notes,
        };
        Ok(WaitlistEntryObject(services.scheduling.join_waitlist(request, entry).await?))
    }

    /// Accepts the time an entry is offered: the booking is the customer's,
    /// as if booked now (confirmed, or waiting for the payment the
    /// business asks). Again after it is accepted answers the same.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn accept_waitlist_offer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WaitlistEntryObject> {
        let id = parse_id("id", &id)?;
        Ok(WaitlistEntryObject(services(ctx)?.scheduling.accept_waitlist_offer(request(ctx)?, id).await?))
    }

    /// Turns down the time an entry is offered: it goes to the next person
    /// waiting at once.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingCancelOwn))]
    async fn decline_waitlist_offer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WaitlistEntryObject> {
        let id = parse_id("id", &id)?;
        Ok(WaitlistEntryObject(services(ctx)?.scheduling.decline_waitlist_offer(request(ctx)?, id).await?))
    }

    /// Takes an entry off the waitlist, freeing the time it is offered, if
    /// any.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingCancelOwn))]
    async fn leave_waitlist(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WaitlistEntryObject> {
        let id = parse_id("id", &id)?;
        Ok(WaitlistEntryObject(services(ctx)?.scheduling.leave_waitlist(request(ctx)?, id).await?))
    }
}

/// Queries about the waitlist.
#[derive(Default)]
pub(super) struct WaitlistQueries;

#[operations]
#[Object]
impl WaitlistQueries {
    /// The waitlist, in the order people joined: every entry with
    /// `booking:read`; with `booking:read_own`, your own and those asking
    /// for you as the provider.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn waitlist_entries(
        &self,
        ctx: &Context<'_>,
        filter: Option<WaitlistFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, WaitlistEntryObject>> {
        let filter = filter.unwrap_or_default().parse()?;
        let page = page_request(first, after, last, before);
        let found = services(ctx)?.scheduling.waitlist_entries(request(ctx)?, &filter, &page).await?;
        Ok(connection(found, |e| e.id.as_uuid(), WaitlistEntryObject))
    }

    /// One entry, if within reach.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn waitlist_entry(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<WaitlistEntryObject>> {
        let found = services(ctx)?.scheduling.waitlist_entry(request(ctx)?, parse_id("id", &id)?).await?;
        Ok(found.map(WaitlistEntryObject))
    }
}
