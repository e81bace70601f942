//! Bookings as read: the booking object, its add-ons, cancellation and review, and the
//! `bookings` and `booking` queries.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tessera_api_macros::operations;
use tessera_kernel::paging::encode_time_cursor;
use tessera_kernel::{BookingId, Permission};
use tessera_scheduling::{BookedAddon, Booking, BookingFilter, Review};

use super::BookingStatusEnum;
use super::availability::instant_or_local_day;
use super::customers::CustomerObject;
use super::objects::ProviderObject;
use super::prefetch::prefetch_for_bookings;
use super::services::ServiceObject;
use crate::error::ApiResult;
use crate::graphql::billing::objects::{BookingPaymentObject, CardFeesObject};
use crate::graphql::connection::{page_cost, page_request};
use crate::graphql::identity::objects::UserObject;
use crate::graphql::local_time::{LocalTimeObject, local_time};
use crate::graphql::money::{MoneyObject, money};
use crate::graphql::{RequiresOrOwn, loaders, parse_id, request, services};

/// An appointment.
#[derive(Clone)]
pub(crate) struct BookingObject(pub(crate) Booking);

/// An add-on as it was when booked.
#[derive(SimpleObject)]
#[graphql(name = "BookedAddon")]
pub(crate) struct BookedAddonObject {
    /// The add-on.
    addon_id: ID,
    /// Its name then.
    name: String,
    /// Its price then, in the booking's currency.
    price_minor: i32,
    /// Its minutes then.
    duration_minutes: i32,
}

impl From<BookedAddon> for BookedAddonObject {
    fn from(a: BookedAddon) -> Self {
        Self {
            addon_id: ID(a.addon_id.to_string()),
            name: a.name,
            price_minor: i32::try_from(a.price_minor).unwrap_or(i32::MAX),
            duration_minutes: a.duration_minutes,
        }
    }
}

/// Who cancelled, when, why, and what is refunded.
#[derive(SimpleObject)]
#[graphql(name = "Cancellation", complex)]
pub(crate) struct CancellationObject {
    /// When.
    cancelled_at: DateTime<Utc>,
    /// Why.
    reason: Option<String>,
    /// What is given back of what was paid through the business's payment
    /// account, under its cancellation policy (zero when nothing was paid
    /// here).
    refund: MoneyObject,
    #[graphql(skip)]
    cancelled_by: Option<tessera_kernel::UserId>,
}

#[ComplexObject]
impl CancellationObject {
    /// Who cancelled.
    async fn cancelled_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        let Some(id) = self.cancelled_by else { return Ok(None) };
        Ok(loaders(ctx)?.users().load_one(id).await?.map(UserObject::seen))
    }
}

/// A customer's review of a completed booking.
#[derive(Clone, SimpleObject)]
#[graphql(name = "Review")]
pub(crate) struct ReviewObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// 1 to 5.
    rating: i32,
    /// Comment.
    comment: Option<String>,
    /// When.
    created_at: DateTime<Utc>,
}

impl From<Review> for ReviewObject {
    fn from(r: Review) -> Self {
        Self { id: ID(r.id.to_string()), rating: i32::from(r.rating), comment: r.comment, created_at: r.created_at }
    }
}

#[Object(name = "Booking")]
impl BookingObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Status.
    async fn status(&self) -> BookingStatusEnum {
        self.0.status.into()
    }
    /// Start.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// End of the service and add-ons (buffers not included).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// The start as the tenant's clocks show it.
    async fn starts_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTimeObject> {
        local_time(ctx, self.0.starts_at).await
    }
    /// The end as the tenant's clocks show it.
    async fn ends_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTimeObject> {
        local_time(ctx, self.0.ends_at).await
    }
    /// Total minutes booked (service and add-ons).
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// The service's name when booked.
    async fn service_name(&self) -> &str {
        &self.0.service_name
    }
    /// Total price when booked (service and add-ons).
    async fn price(&self) -> ApiResult<MoneyObject> {
        money(self.0.price_minor, &self.0.currency)
    }
    /// Notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// When it was booked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was confirmed.
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When it was marked a no-show.
    async fn no_show_at(&self) -> Option<DateTime<Utc>> {
        self.0.no_show_at
    }
    /// The cancellation, if cancelled.
    async fn cancellation(&self) -> ApiResult<Option<CancellationObject>> {
        let Some(cancelled_at) = self.0.cancelled_at else { return Ok(None) };
        Ok(Some(CancellationObject {
            cancelled_at,
            reason: self.0.cancellation_reason.clone(),
            refund: money(self.0.refund_minor.unwrap_or(0), &self.0.currency)?,
            cancelled_by: self.0.cancelled_by,
        }))
    }
    /// While set on a SCHEDULED booking, it waits for its payment
    /// (`payBooking`) and holds its time only until then; paid, it is
    /// CONFIRMED; unpaid by then, CANCELLED and its time freed.
    async fn payment_due_by(&self) -> Option<DateTime<Utc>> {
        self.0.payment_due_by.filter(|_| self.0.awaits_payment())
    }
    /// While set on a SCHEDULED booking, it is a time offered from the
    /// waitlist to its customer, held for them until then:
    /// `acceptWaitlistOffer` makes it theirs; otherwise it is CANCELLED and
    /// offered to the next person waiting.
    async fn offer_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.offer_expires_at.filter(|_| self.0.status == tessera_scheduling::BookingStatus::Scheduled)
    }
    /// Whether it waits for its payment.
    async fn awaiting_payment(&self) -> bool {
        self.0.awaits_payment()
    }
    /// The fees its customer agreed to when booking with a kept card (a
    /// no-show, a late cancellation); null when the business keeps no card.
    /// While it waits (`awaitingPayment`) and the customer has no card kept
    /// at the business, `keepBookingCard` asks for it.
    async fn card_fees(&self) -> Option<CardFeesObject> {
        self.0.card_fees.map(|fees| CardFeesObject { fees, currency: self.0.currency.clone() })
    }
    /// The class session a seat booking is in (`classSession`); null for an
    /// appointment.
    async fn class_session_id(&self) -> Option<ID> {
        self.0.class_session_id.map(|id| ID(id.to_string()))
    }
    /// The series of recurring appointments it is part of
    /// (`bookingSeries`); null for a single booking.
    async fn series_id(&self) -> Option<ID> {
        self.0.series_id.map(|id| ID(id.to_string()))
    }
    /// Seats it takes: 1 for an appointment, up to the session's seats per
    /// customer for a class (its price is for all of them).
    async fn seats(&self) -> i32 {
        self.0.seats
    }
    /// What was asked of the customer for it (a deposit, a prepayment, a
    /// fee), oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> ApiResult<Vec<BookingPaymentObject>> {
        let found = loaders(ctx)?.booking_payments().load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(BookingPaymentObject).collect())
    }
    /// Who performs it.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        Ok(loaders(ctx)?.providers().load_one(self.0.provider_id).await?.map(ProviderObject))
    }
    /// The resources it holds (the room, the basin its service needs), or
    /// held once it ended.
    async fn resources(&self, ctx: &Context<'_>) -> ApiResult<Vec<ProviderObject>> {
        let ids = services(ctx)?.scheduling.resources_of_booking(request(ctx)?, self.0.id).await?;
        let mut found = loaders(ctx)?.providers().load_many(ids.iter().copied()).await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).map(ProviderObject).collect())
    }
    /// The service (as it is now; `serviceName`, `price` and `addons` are as booked).
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<ServiceObject>> {
        Ok(loaders(ctx)?.services().load_one(self.0.service_id).await?.map(ServiceObject))
    }
    /// The customer.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<CustomerObject>> {
        Ok(loaders(ctx)?.customers().load_one(self.0.customer_id).await?.map(CustomerObject))
    }
    /// The add-ons, as booked.
    async fn addons(&self, ctx: &Context<'_>) -> ApiResult<Vec<BookedAddonObject>> {
        let found = loaders(ctx)?.booked_addons().load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(BookedAddonObject::from).collect())
    }
    /// The customer's review, once completed and reviewed.
    async fn review(&self, ctx: &Context<'_>) -> ApiResult<Option<ReviewObject>> {
        Ok(loaders(ctx)?.reviews().load_one(self.0.id).await?.flatten().map(ReviewObject::from))
    }
}

pub(super) async fn bookings_page(
    ctx: &Context<'_>,
    filter: &BookingFilter,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<Connection<String, BookingObject>> {
    let page = page_with_parties(ctx, filter, &page_request(first, after, last, before)).await?;
    // A prefetch only warms the loaders. What it could not load (a nested field
    // the caller may not read), the nested field loads again and reports at its
    // own path, so the page itself still answers.
    let _ = prefetch_for_bookings(ctx, &page.items).await;
    let mut result = Connection::new(page.has_previous_page, page.has_next_page);
    result.edges.extend(page.items.into_iter().map(|b| {
        async_graphql::connection::Edge::new(encode_time_cursor(b.starts_at, b.id.as_uuid()), BookingObject(b))
    }));
    Ok(result)
}

/// The page, with the providers, services and customers the query asks for
/// under it read in the same statement and handed to their loaders, so the
/// nested fields find them there.
async fn page_with_parties(
    ctx: &Context<'_>,
    filter: &BookingFilter,
    page: &tessera_kernel::PageRequest,
) -> ApiResult<tessera_kernel::Page<tessera_scheduling::Booking>> {
    let node = ctx.look_ahead().field("edges").field("node");
    let scheduling = &services(ctx)?.scheduling;
    if !(node.field("provider").exists() || node.field("service").exists() || node.field("customer").exists()) {
        return Ok(scheduling.bookings(request(ctx)?, filter, page).await?);
    }
    let (page, parties) = scheduling.bookings_with_parties(request(ctx)?, filter, page).await?;
    let loaders = loaders(ctx)?;
    futures_util::join!(
        loaders.providers().feed_many(parties.providers),
        loaders.services().feed_many(parties.services),
        loaders.customers().feed_many(parties.customers),
    );
    Ok(page)
}

/// Which bookings to list.
#[derive(InputObject, Default)]
pub(crate) struct BookingFilterInput {
    /// Starting at or after.
    from: Option<DateTime<Utc>>,
    /// Starting before.
    to: Option<DateTime<Utc>>,
    /// Starting on or after this local date (the tenant's timezone); instead of
    /// `from`.
    from_date: Option<NaiveDate>,
    /// Starting on or before this local date (the tenant's timezone); instead
    /// of `to`.
    to_date: Option<NaiveDate>,
    /// Of this provider.
    provider_id: Option<ID>,
    /// Of this customer.
    customer_id: Option<ID>,
    /// In one of these statuses.
    status: Option<Vec<BookingStatusEnum>>,
    /// The seats of this class session (its roster, for the staff).
    class_session_id: Option<ID>,
    /// The occurrences of this series of recurring appointments.
    series_id: Option<ID>,
}

/// Queries about bookings.
#[derive(Default)]
pub(super) struct BookingQueries;

#[operations]
#[Object]
impl BookingQueries {
    /// The tenant's bookings by start time, optionally filtered.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<BookingFilterInput>,
    ) -> ApiResult<Connection<String, BookingObject>> {
        let filter = match filter {
            Some(f) => BookingFilter {
                from: instant_or_local_day("from", f.from, "fromDate", f.from_date, ctx, 0).await?,
                to: instant_or_local_day("to", f.to, "toDate", f.to_date, ctx, 1).await?,
                provider_id: f.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
                customer_id: f.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?,
                statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
                class_session_id: f.class_session_id.as_ref().map(|id| parse_id("classSessionId", id)).transpose()?,
                series_id: f.series_id.as_ref().map(|id| parse_id("seriesId", id)).transpose()?,
            },
            None => BookingFilter::default(),
        };
        bookings_page(ctx, &filter, first, after, last, before).await
    }

    /// A booking by id.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<BookingObject>> {
        let id: BookingId = parse_id("id", &id)?;
        let mut found = services(ctx)?.scheduling.bookings_by_ids(request(ctx)?, &[id]).await?;
        Ok(found.remove(&id).map(BookingObject))
    }
}
