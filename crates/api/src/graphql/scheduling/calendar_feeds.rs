//! Calendar feeds: a provider's or a customer's bookings at a secret URL
//! calendar apps subscribe to (`GET /calendar/{token}.ics`, served by
//! `http/calendar.rs`).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{DomainError, Permission};
use tessera_scheduling::{CalendarFeed, FeedSubject};

use crate::error::ApiResult;
use crate::graphql::{RequiresOrOwn, parse_id, request, services};

/// A calendar feed (never its secret URL, shown once when made).
pub(crate) struct CalendarFeedObject(CalendarFeed);

#[Object(name = "CalendarFeed")]
impl CalendarFeedObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The provider whose bookings it lists, if a provider's.
    async fn provider_id(&self) -> Option<ID> {
        match self.0.subject {
            FeedSubject::Provider(id) => Some(ID(id.to_string())),
            FeedSubject::Customer(_) => None,
        }
    }
    /// The customer whose bookings it lists, if a customer's.
    async fn customer_id(&self) -> Option<ID> {
        match self.0.subject {
            FeedSubject::Customer(id) => Some(ID(id.to_string())),
            FeedSubject::Provider(_) => None,
        }
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stopped working; null while it works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A feed just made, with its URL.
#[derive(SimpleObject)]
#[graphql(name = "NewCalendarFeed")]
pub(crate) struct NewCalendarFeedObject {
    /// The feed.
    feed: CalendarFeedObject,
    /// The URL calendar apps subscribe to (`https://…/calendar/tcal_….ics`).
    /// Secret: whoever holds it reads the feed until it is revoked. Shown
    /// only now.
    url: String,
}

/// Exactly one of a provider and a customer.
fn subject(provider_id: Option<ID>, customer_id: Option<ID>) -> ApiResult<FeedSubject> {
    match (provider_id, customer_id) {
        (Some(id), None) => Ok(FeedSubject::Provider(parse_id("providerId", &id)?)),
        (None, Some(id)) => Ok(FeedSubject::Customer(parse_id("customerId", &id)?)),
        _ => Err(DomainError::invalid("providerId", "name exactly one of providerId and customerId").into()),
    }
}

/// Queries of calendar feeds.
#[derive(Default)]
pub(super) struct CalendarFeedQueries;

#[operations]
#[Object]
impl CalendarFeedQueries {
    /// The feeds of one provider or one customer (exactly one), newest
    /// first, revoked ones too (at most 20): for whoever may read their
    /// bookings, or is that provider or customer.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn calendar_feeds(
        &self,
        ctx: &Context<'_>,
        provider_id: Option<ID>,
        customer_id: Option<ID>,
    ) -> ApiResult<Vec<CalendarFeedObject>> {
        let subject = subject(provider_id, customer_id)?;
        let feeds = services(ctx)?.scheduling.calendar_feeds(request(ctx)?, subject).await?;
        Ok(feeds.into_iter().map(CalendarFeedObject).collect())
    }
}

/// Mutations of calendar feeds.
#[derive(Default)]
pub(super) struct CalendarFeedMutations;

#[operations]
#[Object]
impl CalendarFeedMutations {
    /// Makes an iCalendar feed of one provider's or one customer's bookings
    /// (exactly one; audited) and answers its secret URL, once. For a person
    /// who may read those bookings, or is that provider or customer; not for
    /// partner clients. At most 10 working feeds each (`CONFLICT`).
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn create_calendar_feed(
        &self,
        ctx: &Context<'_>,
        provider_id: Option<ID>,
        customer_id: Option<ID>,
    ) -> ApiResult<NewCalendarFeedObject> {
        let subject = subject(provider_id, customer_id)?;
        let services = services(ctx)?;
        let made = services.scheduling.create_calendar_feed(request(ctx)?, subject).await?;
        let url = format!("{}/calendar/{}.ics", services.public_url.trim_end_matches('/'), made.token);
        Ok(NewCalendarFeedObject { feed: CalendarFeedObject(made.feed), url })
    }

    /// Stops a feed working at once (audited); its URL then answers 404.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn revoke_calendar_feed(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CalendarFeedObject> {
        let id: uuid::Uuid = parse_id("id", &id)?;
        Ok(CalendarFeedObject(services(ctx)?.scheduling.revoke_calendar_feed(request(ctx)?, id).await?))
    }
}
