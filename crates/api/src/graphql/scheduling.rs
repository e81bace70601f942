//! GraphQL for scheduling: providers and their hours, services, customers,
//! availability, bookings, and the live feed of booking changes.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use tessera_kernel::event::EventKind;
use tessera_kernel::paging::{decode_time_cursor, encode_time_cursor};
use tessera_kernel::{BookingId, DomainError, Permission, ProviderId, ServiceId};
use tessera_scheduling::{
    Addon, AddonInput, AvailabilityQuery, BookedAddon, Booking, BookingCustomer, BookingFilter, Customer,
    CustomerInput, CustomerProfile, ExceptionInput, MAX_AVAILABILITY_SLOTS, NewBooking, Provider, ProviderInput,
    Review, ScheduleException, Service, ServiceInput, Slot, WeeklyInterval,
};

use super::offering::{OfferingTermsInput, ServiceOffering, offerings_of};

use super::connection::{connection, page_cost, page_request};
use super::feed::watch;
use super::identity::UserObject;
use super::local_time::{LocalTime, local_time, start_of_day, tenant_zone};
use super::patch::{UpdateAddonInput, UpdateCustomerInput, UpdateProviderInput, UpdateServiceInput, parse_link};
use super::{
    Requires, RequiresOnSome, RequiresOrOwn, loaders, own_permission, parse_id, permission, request, services,
};
use crate::error::{ApiError, ApiResult};

// ---- shared shapes ---------------------------------------------------------------

/// An amount of money.
#[derive(SimpleObject, Clone)]
pub(crate) struct Money {
    /// In minor units (cents).
    amount_minor: i32,
    /// ISO 4217 code.
    currency: String,
}

/// An amount as the API shows it. Prices and booking totals are bounded when
/// they are entered (`MAX_PRICE_MINOR`), so this never fails; should a stored
/// amount not fit, the field fails rather than show a wrong number.
pub(crate) fn money(minor: i64, currency: &str) -> ApiResult<Money> {
    let amount_minor = i32::try_from(minor)
        .map_err(|_| ApiError::internal(format!("an amount of {minor} minor units does not fit")))?;
    Ok(Money { amount_minor, currency: currency.to_owned() })
}

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

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(crate) enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// How a provider works for the tenant.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "tessera_scheduling::ProviderType")]
pub(crate) enum ProviderType {
    Employee,
    Contractor,
    Consultant,
}

/// Whether an exception closes time or opens it.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "tessera_scheduling::ExceptionKind")]
pub(crate) enum ExceptionKind {
    /// Time off or a holiday.
    Closed,
    /// Special opening hours; `openingMode` says whether they replace the day's
    /// weekly hours or add to them.
    Open,
}

/// How special opening hours combine with the day's weekly hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "tessera_scheduling::OpeningMode")]
pub(crate) enum OpeningMode {
    /// Only the special hours apply that day (a short Saturday).
    ReplaceWeeklyHours,
    /// The special hours are worked besides the weekly hours (opening over lunch).
    AddToWeeklyHours,
}

/// Where a booking is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "tessera_scheduling::BookingStatus")]
pub(crate) enum BookingStatus {
    Scheduled,
    Confirmed,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

// ---- providers ---------------------------------------------------------------------

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

// ---- services ----------------------------------------------------------------------

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
    async fn price(&self) -> ApiResult<Money> {
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
    /// When it was deleted, if it was.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// Its add-ons.
    async fn addons(&self, ctx: &Context<'_>) -> ApiResult<Vec<AddonObject>> {
        let found = loaders(ctx)?.addons.load_one(self.0.id).await?.unwrap_or_default();
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

// ---- customers ---------------------------------------------------------------------

/// A tenant's customer.
#[derive(Clone)]
pub(crate) struct CustomerObject(pub(crate) Customer);

#[Object(name = "Customer")]
impl CustomerObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone (E.164).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Notes for staff (not shown to the customer reading their own profile).
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The member account linked to this customer, if any.
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id.map(|id| ID(id.to_string()))
    }
    /// When they were added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Their bookings, by start time: their whole history in one place.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, BookingObject>> {
        let filter = BookingFilter { customer_id: Some(self.0.id), ..BookingFilter::default() };
        bookings_page(ctx, &filter, first, after, last, before).await
    }
}

// ---- bookings ----------------------------------------------------------------------

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
#[graphql(complex)]
pub(crate) struct Cancellation {
    /// When.
    cancelled_at: DateTime<Utc>,
    /// Why.
    reason: Option<String>,
    /// Refund due under the tenant's cancellation policy.
    refund: Money,
    #[graphql(skip)]
    cancelled_by: Option<tessera_kernel::UserId>,
}

#[ComplexObject]
impl Cancellation {
    /// Who cancelled.
    async fn cancelled_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        let Some(id) = self.cancelled_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(UserObject::seen))
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
    async fn status(&self) -> BookingStatus {
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
    async fn starts_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTime> {
        local_time(ctx, self.0.starts_at).await
    }
    /// The end as the tenant's clocks show it.
    async fn ends_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTime> {
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
    async fn price(&self) -> ApiResult<Money> {
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
    async fn cancellation(&self) -> ApiResult<Option<Cancellation>> {
        let Some(cancelled_at) = self.0.cancelled_at else { return Ok(None) };
        Ok(Some(Cancellation {
            cancelled_at,
            reason: self.0.cancellation_reason.clone(),
            refund: money(self.0.refund_minor.unwrap_or(0), &self.0.currency)?,
            cancelled_by: self.0.cancelled_by,
        }))
    }
    /// Who performs it.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        Ok(loaders(ctx)?.providers.load_one(self.0.provider_id).await?.map(ProviderObject))
    }
    /// The service (as it is now; `serviceName`, `price` and `addons` are as booked).
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<ServiceObject>> {
        Ok(loaders(ctx)?.services.load_one(self.0.service_id).await?.map(ServiceObject))
    }
    /// The customer.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<CustomerObject>> {
        Ok(loaders(ctx)?.customers.load_one(self.0.customer_id).await?.map(CustomerObject))
    }
    /// The add-ons, as booked.
    async fn addons(&self, ctx: &Context<'_>) -> ApiResult<Vec<BookedAddonObject>> {
        let found = loaders(ctx)?.booked_addons.load_one(self.0.id).await?.unwrap_or_default();
        Ok(found.into_iter().map(BookedAddonObject::from).collect())
    }
    /// The customer's review, once completed and reviewed.
    async fn review(&self, ctx: &Context<'_>) -> ApiResult<Option<ReviewObject>> {
        Ok(loaders(ctx)?.reviews.load_one(self.0.id).await?.flatten().map(ReviewObject::from))
    }
}

async fn bookings_page(
    ctx: &Context<'_>,
    filter: &BookingFilter,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<Connection<String, BookingObject>> {
    let page =
        services(ctx)?.scheduling.bookings(request(ctx)?, filter, &page_request(first, after, last, before)).await?;
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

fn unique<K: Ord + Copy>(keys: impl Iterator<Item = K>) -> Vec<K> {
    let mut keys: Vec<K> = keys.collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Loads `keys` into a loader's cache when `wanted`.
async fn prefetch<L, K>(
    wanted: bool,
    loader: &async_graphql::dataloader::DataLoader<L, async_graphql::dataloader::HashMapCache>,
    keys: &[K],
) -> ApiResult<()>
where
    L: async_graphql::dataloader::Loader<K, Error = ApiError>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    if wanted {
        loader.load_many(keys.iter().cloned()).await?;
    }
    Ok(())
}

/// Loads, in one batch per kind, the hours, services and upcoming bookings a
/// query asks for under a page of providers (see [`prefetch_for_bookings`]).
async fn prefetch_for_providers(ctx: &Context<'_>, providers: &[Provider]) -> ApiResult<()> {
    if providers.is_empty() {
        return Ok(());
    }
    let node = ctx.look_ahead().field("edges").field("node");
    let loaders = loaders(ctx)?;
    let ids = unique(providers.iter().map(|p| p.id));
    let upcoming = node.field("upcomingBookings");
    let limit = upcoming_limit(ctx).unwrap_or(5);
    let upcoming_keys: Vec<(ProviderId, usize)> = ids.iter().map(|p| (*p, limit)).collect();
    let offered = async {
        if node.field("services").exists() || node.field("offerings").exists() {
            let offered = loaders.offerings.load_many(ids.iter().copied()).await?;
            loaders.services.load_many(unique(offered.into_values().flatten().map(|o| o.service_id))).await?;
        }
        Ok::<_, ApiError>(())
    };
    let (a, b, c) = futures_util::join!(
        prefetch(node.field("workingHours").exists(), &loaders.working_hours, &ids),
        prefetch(upcoming.exists() && (1..=20).contains(&limit), &loaders.upcoming_bookings, &upcoming_keys),
        offered,
    );
    a?;
    b?;
    c
}

/// The `first` argument of `edges.node.upcomingBookings` in the current selection.
fn upcoming_limit(ctx: &Context<'_>) -> Option<usize> {
    let field = ctx.field();
    let node = field.selection_set().find(|f| f.name() == "edges")?.selection_set().find(|f| f.name() == "node")?;
    let upcoming = node.selection_set().find(|f| f.name() == "upcomingBookings")?;
    let arguments = upcoming.arguments().ok()?;
    match arguments.into_iter().find(|(name, _)| name.as_str() == "first").map(|(_, value)| value) {
        None => Some(5),
        Some(async_graphql::Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(_) => None,
    }
}

/// Loads, in one batch per kind, the rows the query asks for under a page of
/// bookings. DataLoaders batch what is requested within a short window; on a large
/// page, late fields can miss it and cost another query. Loading up front from the
/// query's selection makes the number of statements independent of the page size;
/// the per-item fields then find the rows in the loaders' cache.
async fn prefetch_for_bookings(ctx: &Context<'_>, bookings: &[Booking]) -> ApiResult<()> {
    if bookings.is_empty() {
        return Ok(());
    }
    let node = ctx.look_ahead().field("edges").field("node");
    let (provider, service) = (node.field("provider"), node.field("service"));
    let loaders = loaders(ctx)?;
    let providers = unique(bookings.iter().map(|b| b.provider_id));
    let services = unique(bookings.iter().map(|b| b.service_id));
    let customers = unique(bookings.iter().map(|b| b.customer_id));
    let ids = unique(bookings.iter().map(|b| b.id));
    let offered = async {
        if provider.field("services").exists() || provider.field("offerings").exists() {
            loaders.offerings.load_many(providers.iter().copied()).await
        } else {
            Ok(Default::default())
        }
    };
    let (a, b, c, d, e, f, offered) = futures_util::join!(
        prefetch(provider.exists(), &loaders.providers, &providers),
        prefetch(provider.field("workingHours").exists(), &loaders.working_hours, &providers),
        prefetch(service.field("addons").exists(), &loaders.addons, &services),
        prefetch(node.field("customer").exists(), &loaders.customers, &customers),
        prefetch(node.field("addons").exists(), &loaders.booked_addons, &ids),
        prefetch(node.field("review").exists(), &loaders.reviews, &ids),
        offered,
    );
    for result in [a, b, c, d, e, f] {
        result?;
    }
    // One load of services: the bookings' own and those their providers offer.
    let offered: Vec<ServiceId> = offered?.into_values().flatten().map(|o| o.service_id).collect();
    let wanted = if service.exists() { services.clone() } else { Vec::new() };
    let all = unique(wanted.into_iter().chain(offered));
    prefetch(!all.is_empty(), &loaders.services, &all).await?;
    Ok(())
}

/// A bookable start.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct AvailableSlot {
    /// Start.
    starts_at: DateTime<Utc>,
    /// End of the service and add-ons.
    ends_at: DateTime<Utc>,
    /// The provider's id.
    provider_id: ID,
    #[graphql(skip)]
    provider: ProviderId,
    #[graphql(skip)]
    service: ServiceId,
    #[graphql(skip)]
    price_minor: i64,
}

/// A filter bound given as an instant or as a local date: the start of that
/// date plus `days_after` days in the tenant's timezone. Not both.
async fn instant_or_local_day(
    instant_field: &str,
    instant: Option<DateTime<Utc>>,
    date_field: &str,
    date: Option<NaiveDate>,
    ctx: &Context<'_>,
    days_after: i64,
) -> ApiResult<Option<DateTime<Utc>>> {
    match (instant, date) {
        (Some(_), Some(_)) => {
            Err(DomainError::invalid(date_field, format!("give {instant_field} or {date_field}, not both")).into())
        }
        (None, Some(date)) => {
            Ok(Some(start_of_day(date + chrono::Duration::days(days_after), tenant_zone(ctx).await?)))
        }
        (instant, None) => Ok(instant),
    }
}

/// How many starts `availability` returns when `first` is not given.
const DEFAULT_SLOTS: usize = 200;

/// The complexity of an availability search: its page size times one start's.
fn slot_page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let size = first.map_or(DEFAULT_SLOTS, |n| usize::try_from(n).unwrap_or(0));
    size.clamp(1, MAX_AVAILABILITY_SLOTS).saturating_mul(child_complexity).saturating_add(1)
}

#[ComplexObject]
impl AvailableSlot {
    /// Where this start stands in the list: pass it as `after` for the starts that follow.
    async fn cursor(&self) -> String {
        encode_time_cursor(self.starts_at, self.provider.as_uuid())
    }

    /// The provider.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<ProviderObject>> {
        Ok(loaders(ctx)?.providers.load_one(self.provider).await?.map(ProviderObject))
    }

    /// What the appointment costs with this provider, add-ons included.
    async fn price(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        let service = loaders(ctx)?.services.load_one(self.service).await?;
        let service = service.ok_or(DomainError::NotFound { entity: "service" })?;
        money(self.price_minor, &service.currency)
    }

    /// The start as the tenant's clocks show it.
    async fn starts_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTime> {
        local_time(ctx, self.starts_at).await
    }

    /// The end as the tenant's clocks show it.
    async fn ends_at_local(&self, ctx: &Context<'_>) -> ApiResult<LocalTime> {
        local_time(ctx, self.ends_at).await
    }
}

impl AvailableSlot {
    fn new(s: Slot, service: ServiceId) -> Self {
        Self {
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            provider_id: ID(s.provider_id.to_string()),
            provider: s.provider_id,
            service,
            price_minor: s.price_minor,
        }
    }
}

// ---- inputs ------------------------------------------------------------------------

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

/// A customer's details.
#[derive(InputObject)]
pub(crate) struct CustomerDetailsInput {
    /// Name.
    name: String,
    /// Email.
    email: Option<String>,
    /// Phone, E.164.
    phone: Option<String>,
    /// Notes for staff.
    notes: Option<String>,
    /// The member account this customer is: they then see their own bookings and
    /// profile and book for themselves.
    user_id: MaybeUndefined<ID>,
}

impl TryFrom<CustomerDetailsInput> for CustomerInput {
    type Error = ApiError;

    fn try_from(i: CustomerDetailsInput) -> ApiResult<Self> {
        Ok(Self { name: i.name, email: i.email, phone: i.phone, notes: i.notes, user_id: parse_link(i.user_id)? })
    }
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
    status: Option<Vec<BookingStatus>>,
}

/// A booking to make.
#[derive(InputObject)]
pub(crate) struct CreateBookingInput {
    /// The service.
    service_id: ID,
    /// The provider.
    provider_id: ID,
    /// The customer. Omitted: the caller books for themselves (their customer
    /// profile in the tenant is made from their account on their first booking).
    customer_id: Option<ID>,
    /// Start, on a whole minute.
    starts_at: DateTime<Utc>,
    /// Add-ons of the service.
    addon_ids: Option<Vec<ID>>,
    /// Notes.
    notes: Option<String>,
    /// Any unique string (a UUID): sending the same request again with it returns
    /// the booking it made instead of booking twice.
    idempotency_key: Option<String>,
}

// ---- roots -------------------------------------------------------------------------

#[derive(Default)]
pub(crate) struct SchedulingQuery;

#[Object]
impl SchedulingQuery {
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

    /// The tenant's services (not deleted).
    #[graphql(guard = "Requires(Permission::ServiceRead)", directive = permission::apply(Permission::ServiceRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
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
    #[graphql(guard = "Requires(Permission::ServiceRead)", directive = permission::apply(Permission::ServiceRead.name().to_owned()))]
    async fn service(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ServiceObject>> {
        let id: ServiceId = parse_id("id", &id)?;
        Ok(loaders(ctx)?.services.load_one(id).await?.map(ServiceObject))
    }

    /// The tenant's customers; `search` matches name, email or phone.
    #[graphql(guard = "RequiresOrOwn(Permission::CustomerRead, Permission::CustomerReadOwn)", directive = permission::apply(Permission::CustomerRead.name().to_owned()), directive = own_permission::apply(Permission::CustomerReadOwn.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, CustomerObject>> {
        let page = services(ctx)?
            .scheduling
            .customers(request(ctx)?, &page_request(first, after, last, before), search.as_deref())
            .await?;
        Ok(connection(page, |c| c.id.as_uuid(), CustomerObject))
    }

    /// A customer by id.
    #[graphql(guard = "RequiresOrOwn(Permission::CustomerRead, Permission::CustomerReadOwn)", directive = permission::apply(Permission::CustomerRead.name().to_owned()), directive = own_permission::apply(Permission::CustomerReadOwn.name().to_owned()))]
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<CustomerObject>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx)?.customers.load_one(id).await?.map(CustomerObject))
    }

    /// The tenant's bookings by start time, optionally filtered.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn)", directive = permission::apply(Permission::BookingRead.name().to_owned()), directive = own_permission::apply(Permission::BookingReadOwn.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
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
            },
            None => BookingFilter::default(),
        };
        bookings_page(ctx, &filter, first, after, last, before).await
    }

    /// A booking by id.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn)", directive = permission::apply(Permission::BookingRead.name().to_owned()), directive = own_permission::apply(Permission::BookingReadOwn.name().to_owned()))]
    async fn booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<BookingObject>> {
        let id: BookingId = parse_id("id", &id)?;
        let mut found = services(ctx)?.scheduling.bookings_by_ids(request(ctx)?, &[id]).await?;
        Ok(found.remove(&id).map(BookingObject))
    }

    /// Bookable starts for a service between two local dates (at most 31 days;
    /// this week from today when omitted), for
    /// one provider or all who offer it, honouring hours, exceptions, bookings,
    /// buffers, notice, horizon and the tenant's slot step and timezone. Sorted
    /// by start, then provider; at most `first` (default 200, at most 500): for
    /// more, ask again with `after` set to the last one's `cursor`.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn)", directive = permission::apply(Permission::BookingCreate.name().to_owned()), directive = own_permission::apply(Permission::BookingCreateOwn.name().to_owned()), complexity = "slot_page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn availability(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        provider_id: Option<ID>,
        addon_ids: Option<Vec<ID>>,
        #[graphql(desc = "First local date; today in the tenant's timezone when omitted.")] from: Option<NaiveDate>,
        #[graphql(desc = "Last local date (inclusive); a week from `from` when omitted.")] to: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Vec<AvailableSlot>> {
        let addon_ids = addon_ids.unwrap_or_default();
        let after = after
            .map(|cursor| decode_time_cursor("after", &cursor).map(|(at, provider)| (at, ProviderId(provider))))
            .transpose()?;
        let service_id = parse_id("serviceId", &service_id)?;
        let query = AvailabilityQuery {
            service_id,
            provider_id: provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?,
            addon_ids: addon_ids.iter().map(|id| parse_id("addonIds", id)).collect::<ApiResult<_>>()?,
            from,
            to,
            after,
            limit: first.map_or(DEFAULT_SLOTS, |n| usize::try_from(n).unwrap_or(0)),
        };
        let slots = services(ctx)?.scheduling.availability(request(ctx)?, query).await?;
        Ok(slots.into_iter().map(|slot| AvailableSlot::new(slot, service_id)).collect())
    }
}

#[derive(Default)]
pub(crate) struct SchedulingMutation;

async fn provider_by_id(ctx: &Context<'_>, id: ProviderId) -> ApiResult<ProviderObject> {
    let mut found = services(ctx)?.scheduling.providers_by_ids(request(ctx)?, &[id]).await?;
    found.remove(&id).map(ProviderObject).ok_or_else(|| DomainError::NotFound { entity: "provider" }.into())
}

#[Object]
impl SchedulingMutation {
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

    /// Adds a service.
    #[graphql(guard = "Requires(Permission::ServiceManage)", directive = permission::apply(Permission::ServiceManage.name().to_owned()))]
    async fn create_service(&self, ctx: &Context<'_>, input: ServiceDetailsInput) -> ApiResult<ServiceObject> {
        Ok(ServiceObject(services(ctx)?.scheduling.create_service(request(ctx)?, input.into()).await?))
    }

    /// Changes a service; existing bookings keep what they were booked with.
    #[graphql(guard = "Requires(Permission::ServiceManage)", directive = permission::apply(Permission::ServiceManage.name().to_owned()))]
    async fn update_service(&self, ctx: &Context<'_>, id: ID, input: UpdateServiceInput) -> ApiResult<ServiceObject> {
        let service =
            services(ctx)?.scheduling.update_service(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?;
        Ok(ServiceObject(service))
    }

    /// Deletes a service softly: it can no longer be booked; its bookings stay.
    #[graphql(guard = "Requires(Permission::ServiceManage)", directive = permission::apply(Permission::ServiceManage.name().to_owned()))]
    async fn delete_service(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ServiceObject> {
        Ok(ServiceObject(services(ctx)?.scheduling.delete_service(request(ctx)?, parse_id("id", &id)?).await?))
    }

    /// Adds an add-on to a service.
    #[graphql(guard = "Requires(Permission::ServiceManage)", directive = permission::apply(Permission::ServiceManage.name().to_owned()))]
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
    #[graphql(guard = "Requires(Permission::ServiceManage)", directive = permission::apply(Permission::ServiceManage.name().to_owned()))]
    async fn update_addon(&self, ctx: &Context<'_>, id: ID, input: UpdateAddonInput) -> ApiResult<AddonObject> {
        Ok(AddonObject(
            services(ctx)?.scheduling.update_addon(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?,
        ))
    }

    /// Adds a customer.
    #[graphql(guard = "Requires(Permission::CustomerManage)", directive = permission::apply(Permission::CustomerManage.name().to_owned()))]
    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerDetailsInput) -> ApiResult<CustomerObject> {
        Ok(CustomerObject(services(ctx)?.scheduling.create_customer(request(ctx)?, input.try_into()?).await?))
    }

    /// Changes a customer.
    #[graphql(guard = "Requires(Permission::CustomerManage)", directive = permission::apply(Permission::CustomerManage.name().to_owned()))]
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCustomerInput,
    ) -> ApiResult<CustomerObject> {
        Ok(CustomerObject(
            services(ctx)?.scheduling.update_customer(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?,
        ))
    }

    /// Books an appointment. Price and duration come from the service and add-ons.
    /// Fails with CONFLICT when the provider is already booked then.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn)", directive = permission::apply(Permission::BookingCreate.name().to_owned()), directive = own_permission::apply(Permission::BookingCreateOwn.name().to_owned()))]
    async fn create_booking(&self, ctx: &Context<'_>, input: CreateBookingInput) -> ApiResult<BookingObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let customer = match &input.customer_id {
            Some(id) => BookingCustomer::Existing(parse_id("customerId", id)?),
            None => {
                let me = services.identity.me(request).await?;
                BookingCustomer::Myself(CustomerProfile { name: me.display_name, email: Some(me.email) })
            }
        };
        let booking = NewBooking {
            service_id: parse_id("serviceId", &input.service_id)?,
            provider_id: parse_id("providerId", &input.provider_id)?,
            customer,
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
        let booking = services.scheduling.create_booking(request, booking).await?;
        Ok(BookingObject(booking))
    }

    /// Moves an upcoming booking to another start (and optionally provider). A
    /// customer with `booking:reschedule_own` moves their own bookings, up to the
    /// tenant's `customerRescheduleNoticeHours` before the current start.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingManage, Permission::BookingRescheduleOwn)", directive = permission::apply(Permission::BookingManage.name().to_owned()), directive = own_permission::apply(Permission::BookingRescheduleOwn.name().to_owned()))]
    async fn reschedule_booking(
        &self,
        ctx: &Context<'_>,
        id: ID,
        starts_at: DateTime<Utc>,
        provider_id: Option<ID>,
    ) -> ApiResult<BookingObject> {
        let provider_id = provider_id.as_ref().map(|p| parse_id("providerId", p)).transpose()?;
        let booking = services(ctx)?
            .scheduling
            .reschedule_booking(request(ctx)?, parse_id("id", &id)?, starts_at, provider_id)
            .await?;
        Ok(BookingObject(booking))
    }

    /// Confirms a scheduled booking.
    #[graphql(guard = "Requires(Permission::BookingManage)", directive = permission::apply(Permission::BookingManage.name().to_owned()))]
    async fn confirm_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::Confirmed).await
    }

    /// Marks a booking as under way.
    #[graphql(guard = "Requires(Permission::BookingManage)", directive = permission::apply(Permission::BookingManage.name().to_owned()))]
    async fn start_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::InProgress).await
    }

    /// Completes a booking that is under way.
    #[graphql(guard = "Requires(Permission::BookingManage)", directive = permission::apply(Permission::BookingManage.name().to_owned()))]
    async fn complete_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::Completed).await
    }

    /// Records that the customer did not come.
    #[graphql(guard = "Requires(Permission::BookingManage)", directive = permission::apply(Permission::BookingManage.name().to_owned()))]
    async fn mark_booking_no_show(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::NoShow).await
    }

    /// Cancels an upcoming booking; the refund due follows the tenant's policy.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingManage, Permission::BookingCancelOwn)", directive = permission::apply(Permission::BookingManage.name().to_owned()), directive = own_permission::apply(Permission::BookingCancelOwn.name().to_owned()))]
    async fn cancel_booking(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> ApiResult<BookingObject> {
        let booking = services(ctx)?.scheduling.cancel_booking(request(ctx)?, parse_id("id", &id)?, reason).await?;
        Ok(BookingObject(booking))
    }

    /// Records the customer's review (1–5) of a completed booking.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingManage, Permission::ReviewCreateOwn)", directive = permission::apply(Permission::BookingManage.name().to_owned()), directive = own_permission::apply(Permission::ReviewCreateOwn.name().to_owned()))]
    async fn review_booking(
        &self,
        ctx: &Context<'_>,
        id: ID,
        rating: i32,
        comment: Option<String>,
    ) -> ApiResult<BookingObject> {
        let id: BookingId = parse_id("id", &id)?;
        let (services, request) = (services(ctx)?, request(ctx)?);
        services.scheduling.review_booking(request, id, rating, comment).await?;
        let mut found = services.scheduling.bookings_by_ids(request, &[id]).await?;
        found.remove(&id).map(BookingObject).ok_or_else(|| DomainError::NotFound { entity: "booking" }.into())
    }
}

async fn change_status(ctx: &Context<'_>, id: &ID, to: tessera_scheduling::BookingStatus) -> ApiResult<BookingObject> {
    let booking = services(ctx)?.scheduling.change_booking_status(request(ctx)?, parse_id("id", id)?, to).await?;
    Ok(BookingObject(booking))
}

/// What happened to a booking.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(crate) enum BookingEventKind {
    /// Booked.
    Created,
    /// Moved to another time or provider.
    Rescheduled,
    /// Confirmed, started, completed or marked a no-show.
    StatusChanged,
    /// Cancelled.
    Cancelled,
}

/// A change to one of the tenant's bookings.
#[derive(SimpleObject)]
pub(crate) struct BookingEvent {
    /// Unique per event.
    event_id: ID,
    /// What happened.
    kind: BookingEventKind,
    /// When.
    occurred_at: DateTime<Utc>,
    /// The booking as it is now.
    booking: BookingObject,
}

#[derive(Default)]
pub(crate) struct SchedulingSubscription;

#[Subscription]
impl SchedulingSubscription {
    /// Changes to the tenant's bookings (optionally one provider's), as they are
    /// committed, from every gateway replica. Rights are checked again for each
    /// event; the feed ends when the session ends or access is lost.
    #[graphql(guard = "RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn)", directive = permission::apply(Permission::BookingRead.name().to_owned()), directive = own_permission::apply(Permission::BookingReadOwn.name().to_owned()))]
    async fn booking_events(
        &self,
        ctx: &Context<'_>,
        provider_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<BookingEvent>> + use<>, ApiError> {
        let provider_filter: Option<ProviderId> =
            provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let services = services(ctx)?.clone();
        watch(ctx, Permission::BookingRead, Permission::BookingReadOwn, move |item| {
            let services = services.clone();
            async move {
                let kind = match item.event.kind {
                    EventKind::BookingCreated => BookingEventKind::Created,
                    EventKind::BookingRescheduled => BookingEventKind::Rescheduled,
                    EventKind::BookingStatusChanged => BookingEventKind::StatusChanged,
                    EventKind::BookingCancelled => BookingEventKind::Cancelled,
                    _ => return None,
                };
                // Read with the subscriber's current rights.
                let booking_id = BookingId(item.event.subject_id);
                let booking = services
                    .scheduling
                    .bookings_by_ids(&item.request, &[booking_id])
                    .await
                    .ok()?
                    .remove(&booking_id)?;
                if provider_filter.is_some_and(|p| p != booking.provider_id) {
                    return None;
                }
                Some(BookingEvent {
                    event_id: ID(item.event.id.to_string()),
                    kind,
                    occurred_at: item.event.occurred_at,
                    booking: BookingObject(booking),
                })
            }
        })
    }
}
