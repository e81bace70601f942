//! Classes and group sessions: a session of a class service (a yoga class
//! of 10, a workshop of 25) with its instructor, time and capacity, booked
//! seat by seat.
//!
//! A seat is a booking of the session (`bookings.class_session_id`): it has
//! the booking's status machine, notices, payments and audit, and is made
//! by `booking.rs` with the session's time ([`seat_placement`]). The
//! database keeps the count of seats taken and refuses one too many (see
//! the migration `class_sessions`); a customer holds one booking per
//! session, of as many seats as the session allows each customer. The
//! session holds its instructor's time; recurring classes generate sessions
//! (`class_schedules.rs`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    ClassScheduleId, ClassSessionId, DomainError, Permission, ProviderId, RequestContext, Result, ServiceId, TenantId,
    UserId,
};
use tessera_tenant::Tenant;

use crate::bookable::{Offer, minutes, timezone};
use crate::entity::{booking, class_session};
use crate::model::{MAX_PRICE_MINOR, NewBooking, parse_capacity, parse_text};
use crate::service::{SchedulingService, not_found};

/// The longest date range one sessions search covers.
pub const MAX_SESSION_SEARCH_DAYS: i64 = 31;

/// The most sessions one search answers.
pub const MAX_SESSIONS_LISTED: u64 = 200;

/// A session of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSession {
    /// Id.
    pub id: ClassSessionId,
    /// The class (a service with a class capacity).
    pub service_id: ServiceId,
    /// The instructor.
    pub provider_id: ProviderId,
    /// The recurring class that generated it, if any.
    pub schedule_id: Option<ClassScheduleId>,
    /// Whether it was cancelled (its seats with it).
    pub cancelled: bool,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Seats in all.
    pub capacity: i32,
    /// Seats booked (bookings waiting for their payment included).
    pub seats_taken: i32,
    /// The most seats one customer may book.
    pub seats_per_customer: i32,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why.
    pub cancellation_reason: Option<String>,
}

impl ClassSession {
    /// Seats still free.
    pub fn seats_left(&self) -> i32 {
        (self.capacity - self.seats_taken).max(0)
    }
}

impl From<class_session::Model> for ClassSession {
    fn from(row: class_session::Model) -> Self {
        Self {
            id: row.id,
            service_id: row.service_id,
            provider_id: row.provider_id,
            schedule_id: row.schedule_id,
            cancelled: row.status == CANCELLED,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            capacity: row.capacity,
            seats_taken: row.seats_taken,
            seats_per_customer: row.seats_per_customer,
            cancelled_at: row.cancelled_at,
            cancellation_reason: row.cancellation_reason,
        }
    }
}

pub(crate) const SCHEDULED: &str = "scheduled";
const CANCELLED: &str = "cancelled";

/// A session to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClassSession {
    /// The class.
    pub service_id: ServiceId,
    /// The instructor (who offers the service).
    pub provider_id: ProviderId,
    /// Start (whole minutes, in the future).
    pub starts_at: DateTime<Utc>,
    /// Seats; the service's class capacity when absent.
    pub capacity: Option<i32>,
    /// The most seats one customer may book (1 when absent).
    pub seats_per_customer: Option<i32>,
}

/// Which sessions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSessionQuery {
    /// First local date; today when absent.
    pub from: Option<NaiveDate>,
    /// Last local date (inclusive); a week from `from` when absent.
    pub to: Option<NaiveDate>,
    /// Of this class.
    pub service_id: Option<ServiceId>,
    /// Taught by this provider.
    pub provider_id: Option<ProviderId>,
    /// Cancelled ones too.
    pub include_cancelled: bool,
}

/// A seat (or several) to book in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeatBooking {
    /// The session.
    pub session_id: ClassSessionId,
    /// How many seats (up to the session's seats per customer).
    pub seats: i32,
    /// Who for, with notes and an idempotency key, as for an appointment.
    pub customer: crate::model::BookingCustomer,
    /// Notes.
    pub notes: Option<String>,
    /// A client-chosen key: the same key books once.
    pub idempotency_key: Option<String>,
}

/// Where a booking goes: its end and the window it blocks, and the session
/// and seats when it is a seat.
pub(crate) struct Placement {
    pub(crate) ends_at: DateTime<Utc>,
    pub(crate) blocked: (DateTime<Utc>, DateTime<Utc>),
    pub(crate) session: Option<ClassSessionId>,
    pub(crate) seats: i32,
}

/// The placement of a seat booking in its session, checked: a scheduled
/// session not started yet (with the business's notice), seats within what
/// one customer may take and an affordable total. Frees on the way the
/// session's seats whose payment hold ran out, so neither the count nor the
/// one-booking-per-customer rule counts them.
pub(crate) async fn seat_placement(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    (session_id, seats): (ClassSessionId, i32),
    offer: &mut Offer,
    now: DateTime<Utc>,
) -> Result<Placement> {
    let session =
        class_session::Entity::find_by_id((tenant.id, session_id)).one(txn).await?.ok_or(not_found("class session"))?;
    if session.status != SCHEDULED {
        return Err(DomainError::invalid("sessionId", "this session was cancelled"));
    }
    SchedulingService::check_start(session.starts_at, now, tenant).map_err(|err| match err {
        DomainError::InvalidInput { message, .. } => DomainError::invalid("sessionId", format!("its start {message}")),
        other => other,
    })?;
    if !(1..=session.seats_per_customer).contains(&seats) {
        let most = session.seats_per_customer;
        return Err(DomainError::invalid("seats", format!("one customer books 1 to {most} seats in this session")));
    }
    offer.seats = seats;
    if offer.price_minor() > MAX_PRICE_MINOR {
        return Err(DomainError::invalid("seats", "these seats would cost more than one booking may carry"));
    }
    let lapsed = booking::Entity::find()
        .filter(booking::Column::TenantId.eq(tenant.id))
        .filter(booking::Column::ClassSessionId.eq(session_id))
        .filter(crate::payment_holds::hold_ended_by(now))
        .all(txn)
        .await?;
    for row in lapsed {
        crate::payment_holds::release_lapsed(txn, tenant, row, now).await?;
    }
    Ok(Placement {
        ends_at: session.ends_at,
        blocked: (session.blocked_from, session.blocked_until),
        session: Some(session_id),
        seats,
    })
}

/// The refusal a person understands when the database refuses a seat:
/// the session is full, or the customer holds a seat in it already.
pub(crate) fn seat_refusal(err: &DbErr) -> Option<DomainError> {
    let text = err.to_string();
    if text.contains("class_sessions_capacity") {
        Some(DomainError::Conflict("this session is full: no seat is left".into()))
    } else if text.contains("bookings_one_seat_key") || text.contains("bookings.class_session_id") {
        Some(DomainError::Conflict("the customer already holds a seat in this session; cancel it to book again".into()))
    } else if text.contains("class_sessions_missing") {
        Some(not_found("class session"))
    } else {
        None
    }
}

/// The first scheduled session of `provider_id` taking time in `window`.
pub(crate) async fn session_taking(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    provider_id: ProviderId,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Option<class_session::Model>> {
    Ok(class_session::Entity::find()
        .filter(class_session::Column::TenantId.eq(tenant_id))
        .filter(class_session::Column::ProviderId.eq(provider_id))
        .filter(class_session::Column::Status.eq(SCHEDULED))
        .filter(class_session::Column::BlockedFrom.lt(until))
        .filter(class_session::Column::BlockedUntil.gt(from))
        .order_by_asc(class_session::Column::BlockedFrom)
        .one(txn)
        .await?)
}

/// What a new session is: who, when, how many seats.
pub(crate) struct SessionSpec {
    pub(crate) input: NewClassSession,
    pub(crate) schedule_id: Option<ClassScheduleId>,
    pub(crate) created_by: Option<UserId>,
}

/// The class `service_id` taught by `provider_id`, and the capacity and
/// seats per customer its sessions get: those asked, else the service's
/// class capacity and one seat each, checked.
pub(crate) async fn class_terms(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    (service_id, provider_id): (ServiceId, ProviderId),
    (capacity, per_customer): (Option<i32>, Option<i32>),
) -> Result<(Offer, i32, i32)> {
    let offer = SchedulingService::bookable_offer(txn, tenant_id, service_id, Some(provider_id), &[]).await?;
    let Some(default_capacity) = offer.service.class_capacity else {
        return Err(DomainError::invalid("serviceId", "this service is an appointment: give it a classCapacity first"));
    };
    let capacity = parse_capacity("capacity", capacity.unwrap_or(default_capacity))?;
    let per_customer = per_customer.unwrap_or(1);
    if !(1..=capacity).contains(&per_customer) {
        return Err(DomainError::invalid("seatsPerCustomer", "must be between 1 and the capacity"));
    }
    Ok((offer, capacity, per_customer))
}

/// Adds a session in `txn`, checked like an appointment of its instructor
/// (working time, nothing else holding it); the database refuses an
/// overlap whatever was checked.
pub(crate) async fn insert_session(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    spec: SessionSpec,
    now: DateTime<Utc>,
) -> Result<class_session::Model> {
    let SessionSpec { input, schedule_id, created_by } = spec;
    let tz = timezone(tenant)?;
    if input.starts_at <= now {
        return Err(DomainError::invalid("startsAt", "is in the past"));
    }
    let horizon = tenant.settings.booking_horizon_days;
    if input.starts_at > now + Duration::days(i64::from(horizon)) {
        return Err(DomainError::invalid("startsAt", format!("must be within {horizon} days from now")));
    }
    let (offer, capacity, per_customer) =
        class_terms(txn, tenant.id, (input.service_id, input.provider_id), (input.capacity, input.seats_per_customer))
            .await?;
    let ends_at = input.starts_at + minutes(offer.duration_minutes());
    let blocked = (
        input.starts_at - minutes(offer.service.buffer_before_minutes),
        ends_at + minutes(offer.service.buffer_after_minutes),
    );
    SchedulingService::check_working_time(txn, tenant.id, tz, input.provider_id, blocked.0, blocked.1).await?;
    crate::payment_holds::free_window(txn, tenant, (input.provider_id, blocked, None), now, tz).await?;
    let row = class_session::Model {
        tenant_id: tenant.id,
        id: ClassSessionId::generate(now),
        service_id: input.service_id,
        provider_id: input.provider_id,
        schedule_id,
        status: SCHEDULED.to_owned(),
        starts_at: input.starts_at,
        ends_at,
        blocked_from: blocked.0,
        blocked_until: blocked.1,
        capacity,
        seats_taken: 0,
        seats_per_customer: per_customer,
        created_by,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
        cancellation_reason: None,
    };
    class_session::Entity::insert(class_session::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(session_write_error)?;
    Ok(row)
}

/// Maps a session write's error: an overlap becomes `CONFLICT`.
pub(crate) fn session_write_error(err: DbErr) -> DomainError {
    let text = err.to_string();
    if text.contains("no_overlap") {
        DomainError::Conflict("the instructor is already booked or teaching then; choose another time".into())
    } else if text.contains("class_sessions_occurrence_key") || text.contains("class_sessions.schedule_id") {
        DomainError::Conflict("this occurrence of the class has its session already".into())
    } else {
        DomainError::from(err)
    }
}

/// The audit record of a session.
fn audited(row: &class_session::Model) -> serde_json::Value {
    serde_json::json!({
        "serviceId": row.service_id,
        "providerId": row.provider_id,
        "scheduleId": row.schedule_id,
        "status": row.status,
        "startsAt": row.starts_at,
        "endsAt": row.ends_at,
        "capacity": row.capacity,
        "seatsPerCustomer": row.seats_per_customer,
        "cancellationReason": row.cancellation_reason,
    })
}

impl SchedulingService {
    /// Adds one session of a class (`provider:manage`, tenant-wide or on
    /// the instructor). `CONFLICT` when the instructor is booked or teaching
    /// then. Audited.
    pub async fn create_class_session(&self, ctx: &RequestContext, input: NewClassSession) -> Result<ClassSession> {
        let (auth, txn) =
            self.open_on_provider(ctx, Permission::ProviderManage, input.provider_id, Access::Write).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let created_by = auth.actor.map(|a| a.user_id);
        let spec = SessionSpec { input, schedule_id: None, created_by };
        let row = insert_session(&txn, &tenant, spec, ctx.now()).await?;
        let entry = AuditEntry::change("class_session.created", "class_session", row.id, None, Some(&audited(&row)))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Cancels a session that has not started, and every seat booked in it
    /// as the business's cancellation (the customers are told, and refunded
    /// by the business's policy): `booking:manage`. Audited.
    pub async fn cancel_class_session(
        &self,
        ctx: &RequestContext,
        id: ClassSessionId,
        reason: Option<String>,
    ) -> Result<ClassSession> {
        let reason = parse_text("reason", reason.as_deref(), 500)?;
        let (auth, txn) = self.open(ctx, Permission::BookingManage, Access::Write).await?;
        let now = ctx.now();
        let current = class_session::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(not_found("class session"))?;
        if current.status != SCHEDULED {
            return Err(DomainError::invalid("id", "this session was cancelled already"));
        }
        if current.starts_at <= now {
            return Err(DomainError::invalid("id", "this session has started"));
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let seats = booking::Entity::find()
            .filter(booking::Column::TenantId.eq(auth.tenant_id))
            .filter(booking::Column::ClassSessionId.eq(id))
            .filter(booking::Column::Status.is_in(crate::booking::ACTIVE))
            .all(&txn)
            .await?;
        for seat in seats {
            let why = reason.clone().or_else(|| Some("The class session was cancelled.".to_owned()));
            crate::booking::cancel_row(&txn, (ctx, &auth, &tenant), seat, why, false).await?;
        }
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.status = Set(CANCELLED.to_owned());
        row.cancelled_at = Set(Some(now));
        row.cancellation_reason = Set(reason);
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        let entry =
            AuditEntry::change("class_session.cancelled", "class_session", id, Some(&before), Some(&audited(&row)))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Books seats in a session: a booking of the session's class, time and
    /// instructor, priced per seat, made like an appointment (idempotency
    /// key, payment terms, notices, audit). `CONFLICT` when the session is
    /// full or the customer holds a seat in it already.
    pub async fn book_class_seat(&self, ctx: &RequestContext, input: NewSeatBooking) -> Result<crate::Booking> {
        let session = {
            let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
            let found = class_session::Entity::find_by_id((auth.tenant_id, input.session_id)).one(&txn).await?;
            txn.commit().await?;
            found.ok_or(not_found("class session"))?
        };
        let booking = NewBooking {
            service_id: session.service_id,
            provider_id: session.provider_id,
            customer: input.customer,
            starts_at: session.starts_at,
            addon_ids: Vec::new(),
            notes: input.notes,
            idempotency_key: input.idempotency_key,
        };
        let placing = crate::booking::Placing { seat: Some((input.session_id, input.seats)), series: None };
        self.create_placed_booking(ctx, booking, placing).await.map(|(b, _)| b)
    }

    /// One session, for whoever may book (as availability).
    pub async fn class_session(&self, ctx: &RequestContext, id: ClassSessionId) -> Result<Option<ClassSession>> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingCreate, Permission::BookingCreateOwn)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let row = class_session::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?;
        txn.commit().await?;
        Ok(row.map(ClassSession::from))
    }

    /// Sessions over a range of local dates (at most
    /// [`MAX_SESSION_SEARCH_DAYS`]), by start, at most
    /// [`MAX_SESSIONS_LISTED`]: for whoever may book (as availability).
    pub async fn class_sessions(&self, ctx: &RequestContext, query: ClassSessionQuery) -> Result<Vec<ClassSession>> {
        let (auth, _) = ctx.authorize_reach(Permission::BookingCreate, Permission::BookingCreateOwn)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        let from = query.from.unwrap_or_else(|| ctx.now().with_timezone(&tz).date_naive());
        let to = query.to.unwrap_or(from + Duration::days(6));
        if to < from || (to - from).num_days() >= MAX_SESSION_SEARCH_DAYS {
            let most = MAX_SESSION_SEARCH_DAYS;
            return Err(DomainError::invalid("to", format!("must be on or after from, at most {most} days on")));
        }
        let start = crate::recurrence::local_instant(tz, from, 0)?;
        let end = crate::recurrence::local_instant(tz, to.succ_opt().unwrap_or(to), 0)?;
        let mut select = class_session::Entity::find()
            .filter(class_session::Column::TenantId.eq(auth.tenant_id))
            .filter(class_session::Column::StartsAt.gte(start))
            .filter(class_session::Column::StartsAt.lt(end));
        if let Some(service_id) = query.service_id {
            select = select.filter(class_session::Column::ServiceId.eq(service_id));
        }
        if let Some(provider_id) = query.provider_id {
            select = select.filter(class_session::Column::ProviderId.eq(provider_id));
        }
        if !query.include_cancelled {
            select = select.filter(class_session::Column::Status.eq(SCHEDULED));
        }
        let rows = select
            .order_by_asc(class_session::Column::StartsAt)
            .order_by_asc(class_session::Column::Id)
            .limit(MAX_SESSIONS_LISTED)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(ClassSession::from).collect())
    }
}

/// The time scheduled sessions of `providers` block in `(from, until)`, for
/// availability: `(provider, blocked from, blocked until)`.
pub(crate) async fn sessions_blocking(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    providers: Option<&[ProviderId]>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(ProviderId, DateTime<Utc>, DateTime<Utc>)>> {
    let mut select = class_session::Entity::find()
        .select_only()
        .columns([
            class_session::Column::ProviderId,
            class_session::Column::BlockedFrom,
            class_session::Column::BlockedUntil,
        ])
        .filter(class_session::Column::TenantId.eq(tenant_id))
        .filter(class_session::Column::Status.eq(SCHEDULED))
        .filter(class_session::Column::BlockedUntil.gt(from))
        .filter(class_session::Column::BlockedFrom.lt(until));
    if let Some(ids) = providers {
        select = select.filter(class_session::Column::ProviderId.is_in(ids.iter().copied()));
    }
    Ok(select.into_tuple().all(txn).await?)
}
