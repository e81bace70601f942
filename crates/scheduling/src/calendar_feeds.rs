//! Calendar feeds: a provider's or a customer's bookings as an iCalendar
//! (RFC 5545) feed at a secret URL that calendar apps subscribe to.
//!
//! A person who may read the provider's (or the customer's) bookings makes a
//! feed; its token (256 random bits) is shown once, in the URL, and only its
//! hash is kept. Anyone holding the URL reads the feed, so it carries no
//! more than its maker could read, and stops working when it is revoked or
//! its maker leaves the business. The feed holds the bookings that hold time
//! from 30 days back to a year ahead, at most [`MAX_FEED_EVENTS`], rendered
//! by `calendar_ics.rs`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::token::{hash_token, new_token};
use tessera_kernel::{CustomerId, DomainError, Permission, ProviderId, RequestContext, Result, UserId};

use crate::entity::{booking, calendar_feed, customer, provider};
use crate::model::BookingStatus;
use crate::reach::Own;
use crate::service::{SchedulingService, not_found};

/// The most active feeds one provider or customer has at once.
pub const MAX_FEEDS_PER_SUBJECT: u64 = 10;

/// The most bookings one feed lists.
pub const MAX_FEED_EVENTS: u64 = 1000;

/// The prefix of a feed's token, so a leaked URL is recognisable.
const TOKEN_PREFIX: &str = "tcal_";

/// Whose bookings a feed lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedSubject {
    /// A provider's (their working calendar).
    Provider(ProviderId),
    /// A customer's (their appointments).
    Customer(CustomerId),
}

/// A calendar feed, as its business sees it (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    /// Id.
    pub id: uuid::Uuid,
    /// Whose bookings it lists.
    pub subject: FeedSubject,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stopped working, if it did.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<calendar_feed::Model> for CalendarFeed {
    fn from(row: calendar_feed::Model) -> Self {
        let subject = match (row.provider_id, row.customer_id) {
            (Some(provider), _) => FeedSubject::Provider(provider),
            (None, Some(customer)) => FeedSubject::Customer(customer),
            // The table's CHECK keeps exactly one.
            (None, None) => FeedSubject::Customer(CustomerId(uuid::Uuid::nil())),
        };
        Self { id: row.id, subject, created_by: row.created_by, created_at: row.created_at, revoked_at: row.revoked_at }
    }
}

/// A feed just made, with the token its URL carries (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCalendarFeed {
    /// The feed.
    pub feed: CalendarFeed,
    /// The secret the URL carries.
    pub token: String,
}

/// The reach a subject's feed needs: the provider's calendar or the
/// customer's bookings.
fn own_of(subject: FeedSubject) -> Own {
    match subject {
        FeedSubject::Provider(_) => Own::Provider,
        FeedSubject::Customer(_) => Own::Customer,
    }
}

fn subject_filter(subject: FeedSubject) -> Condition {
    match subject {
        FeedSubject::Provider(id) => Condition::all().add(calendar_feed::Column::ProviderId.eq(id)),
        FeedSubject::Customer(id) => Condition::all().add(calendar_feed::Column::CustomerId.eq(id)),
    }
}

impl SchedulingService {
    /// Makes a feed of `subject`'s bookings (audited): a provider's needs
    /// `booking:read` on them, or being that provider; a customer's,
    /// `booking:read`, or being that customer. Made by a person only (a
    /// partner client's token is not one). At most
    /// [`MAX_FEEDS_PER_SUBJECT`] active feeds per subject.
    pub async fn create_calendar_feed(&self, ctx: &RequestContext, subject: FeedSubject) -> Result<NewCalendarFeed> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, own_of(subject), Access::Write)
            .await?;
        let actor = match auth.actor {
            Some(actor) if ctx.client().is_none() => actor,
            _ => {
                return Err(DomainError::Forbidden("a calendar feed is made by a person, not a partner client".into()));
            }
        };
        let tenant_id = auth.tenant_id;
        let (provider_id, customer_id) = match subject {
            FeedSubject::Provider(id) if visible.allows_provider(id) => {
                provider::Entity::find_by_id((tenant_id, id)).one(&txn).await?.ok_or(not_found("provider"))?;
                (Some(id), None)
            }
            FeedSubject::Customer(id) if visible.allows_customer(id) => {
                customer::Entity::find_by_id((tenant_id, id)).one(&txn).await?.ok_or(not_found("customer"))?;
                (None, Some(id))
            }
            FeedSubject::Provider(_) => return Err(not_found("provider")),
            FeedSubject::Customer(_) => return Err(not_found("customer")),
        };
        let active = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TenantId.eq(tenant_id))
            .filter(subject_filter(subject))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .count(&txn)
            .await?;
        if active >= MAX_FEEDS_PER_SUBJECT {
            return Err(DomainError::Conflict(format!(
                "at most {MAX_FEEDS_PER_SUBJECT} calendar feeds at once; revoke one first"
            )));
        }
        let now = ctx.now();
        let token = new_token(TOKEN_PREFIX);
        let row = calendar_feed::Model {
            tenant_id,
            id: tessera_kernel::id::uuid_v7_at(now),
            provider_id,
            customer_id,
            token_hash: hash_token(&token),
            created_by: Some(actor.user_id),
            created_at: now,
            revoked_at: None,
        };
        calendar_feed::Entity::insert(calendar_feed::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        let snapshot = serde_json::json!({ "providerId": provider_id, "customerId": customer_id });
        let entry = AuditEntry::change("calendar_feed.created", "calendar_feed", row.id, None, Some(&snapshot))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(NewCalendarFeed { feed: row.into(), token })
    }

    /// The feeds of `subject` (the same reach as making one), newest first,
    /// revoked ones too, at most [`MAX_FEEDS_PER_SUBJECT`] times two.
    pub async fn calendar_feeds(&self, ctx: &RequestContext, subject: FeedSubject) -> Result<Vec<CalendarFeed>> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, own_of(subject), Access::Read)
            .await?;
        let reached = match subject {
            FeedSubject::Provider(id) => visible.allows_provider(id),
            FeedSubject::Customer(id) => visible.allows_customer(id),
        };
        if !reached {
            txn.commit().await?;
            return Ok(Vec::new());
        }
        let rows = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TenantId.eq(auth.tenant_id))
            .filter(subject_filter(subject))
            .order_by_desc(calendar_feed::Column::Id)
            .limit(MAX_FEEDS_PER_SUBJECT * 2)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(CalendarFeed::from).collect())
    }

    /// Stops a feed working (audited), for whoever may make one of its
    /// subject; revoking again answers it as it is. Others' are `NOT_FOUND`.
    pub async fn revoke_calendar_feed(&self, ctx: &RequestContext, id: uuid::Uuid) -> Result<CalendarFeed> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, Own::Either, Access::Write)
            .await?;
        if ctx.client().is_some() {
            return Err(DomainError::Forbidden("a calendar feed is revoked by a person, not a partner client".into()));
        }
        let row = calendar_feed::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(not_found("calendar feed"))?;
        let feed = CalendarFeed::from(row);
        let reached = match feed.subject {
            FeedSubject::Provider(p) => visible.allows_provider(p),
            FeedSubject::Customer(c) => visible.allows_customer(c),
        };
        if !reached {
            return Err(not_found("calendar feed"));
        }
        if feed.revoked_at.is_some() {
            txn.commit().await?;
            return Ok(feed);
        }
        let now = ctx.now();
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::RevokedAt, Expr::value(now))
            .filter(calendar_feed::Column::TenantId.eq(auth.tenant_id))
            .filter(calendar_feed::Column::Id.eq(id))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let entry = AuditEntry::change("calendar_feed.revoked", "calendar_feed", id, None, None::<&()>)?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(CalendarFeed { revoked_at: Some(now), ..feed })
    }

    /// The feed a URL's token opens, as iCalendar text; `None` for a token
    /// that opens nothing (unknown, revoked, or made by someone who left the
    /// business), so the answer says nothing of which tokens exist.
    pub async fn calendar_feed_text(&self, token: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        let plausible = token.len() <= 80
            && token.starts_with(TOKEN_PREFIX)
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return Ok(None);
        }
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let feed = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TokenHash.eq(hash_token(token)))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .one(&txn)
            .await?;
        let Some(feed) = feed else { return Ok(None) };
        if let Some(maker) = feed.created_by
            && !tessera_tenant::is_member(&txn, feed.tenant_id, maker).await?
        {
            return Ok(None);
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, feed.tenant_id).await?;
        let subject = CalendarFeed::from(feed.clone()).subject;
        let mut found = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(feed.tenant_id))
            .filter(booking::Column::Status.is_in(crate::booking::ACTIVE))
            // Not one still waiting for its payment or card: not made yet.
            .filter(
                Condition::any()
                    .add(booking::Column::Status.ne(BookingStatus::Scheduled))
                    .add(booking::Column::PaymentDueBy.is_null()),
            )
            .filter(booking::Column::StartsAt.gte(now - Duration::days(30)))
            .filter(booking::Column::StartsAt.lt(now + Duration::days(365)));
        found = match subject {
            FeedSubject::Provider(id) => found.filter(booking::Column::ProviderId.eq(id)),
            FeedSubject::Customer(id) => found.filter(booking::Column::CustomerId.eq(id)),
        };
        let bookings = found.order_by_asc(booking::Column::StartsAt).limit(MAX_FEED_EVENTS).all(&txn).await?;
        let names = crate::calendar_ics::Names::read(&txn, feed.tenant_id, &bookings).await?;
        txn.commit().await?;
        Ok(Some(crate::calendar_ics::render(&tenant, subject, &bookings, &names, now)))
    }
}
