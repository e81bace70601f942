//! Making and changing bookings: creating one (idempotently, on the offer
//! `bookable.rs` checks), rescheduling it, moving it along its status machine and
//! cancelling it, each with its audit record, event and notices. Reading them is
//! in `booking_reads.rs`, reviews in `reviews.rs`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::event::EventKind;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::txn::Txn;
use tessera_kernel::{
    BookingId, BookingSeriesId, ClassSessionId, CustomerId, DomainError, Permission, ProviderId, RequestContext,
    Result, TenantId,
};
use tessera_tenant::Tenant;

use crate::bookable::{minutes, timezone};
use crate::booking_fees::FeeFor;
use crate::booking_keys::{find_by_key, fingerprint, repeat_of};
use crate::booking_record::{announce, announce_with};
use crate::classes::Placement;
use crate::entity::{booking, booking_addon, customer};
use crate::lifecycle::{check_customer_reschedule, check_status_timing};
use crate::model::{BookedAddon, Booking, BookingCustomer, BookingStatus, NewBooking, WaitlistStatus, parse_text};
use crate::notices::Parties;
use crate::payment_holds::free_window;
use crate::reach::{Own, Visible};
use crate::service::{SchedulingService, booking_write_error, not_found};
use crate::waitlist_offers::Freed;

/// The statuses whose bookings hold their provider's time, as the database's
/// no-overlap rule counts them.
pub(crate) const ACTIVE: [BookingStatus; 4] =
    [BookingStatus::Scheduled, BookingStatus::Confirmed, BookingStatus::InProgress, BookingStatus::Completed];

impl SchedulingService {
    /// Books an appointment. The server computes price and duration from the service
    /// and add-ons and keeps a snapshot of them. With an idempotency key, a repeat of
    /// the same request by the same user returns the booking it made instead of
    /// booking again. `booking:create` books for any customer (granted on one
    /// provider: with that provider); `booking:create_own` only for the actor.
    pub async fn create_booking(&self, ctx: &RequestContext, input: NewBooking) -> Result<Booking> {
        self.create_booking_with_addons(ctx, input).await.map(|(booking, _)| booking)
    }

    /// [`Self::create_booking`], with the add-ons it booked, as reading them
    /// back would give them, when this call made the booking (`None`: it
    /// answered a repeat), so the caller need not read them again.
    pub async fn create_booking_with_addons(
        &self,
        ctx: &RequestContext,
        input: NewBooking,
    ) -> Result<(Booking, Option<Vec<BookedAddon>>)> {
        self.create_placed_booking(ctx, input, Placing::default()).await
    }

    /// Books an appointment, seats in a class session at its time
    /// (`classes.rs`), or an occurrence of a series (`booking_series.rs`),
    /// as `placing` says.
    pub(crate) async fn create_placed_booking(
        &self,
        ctx: &RequestContext,
        input: NewBooking,
        placing: Placing,
    ) -> Result<(Booking, Option<Vec<BookedAddon>>)> {
        let fingerprint = fingerprint(ctx, &input, placing);
        let key = match input.idempotency_key.as_deref().map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 100 => {
                return Err(DomainError::invalid("idempotencyKey", "must be 1 to 100 characters"));
            }
            other => other.map(str::to_owned),
        };
        match self.try_create_booking(ctx, (&input, placing), key.as_deref(), &fingerprint).await {
            // Two requests with one key raced; the other committed first. Answer as
            // if this one were the repeat.
            Err(DomainError::Conflict(_)) | Err(DomainError::Database(_)) if key.is_some() => {
                let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
                let existing = find_by_key(&txn, auth.tenant_id, key.as_deref().unwrap_or_default()).await?;
                txn.commit().await?;
                match existing {
                    Some(row) => Ok((repeat_of(row, &fingerprint)?, None)),
                    None => self.try_create_booking(ctx, (&input, placing), key.as_deref(), &fingerprint).await,
                }
            }
            other => other,
        }
    }

    async fn try_create_booking(
        &self,
        ctx: &RequestContext,
        (input, placing): (&NewBooking, Placing),
        key: Option<&str>,
        fingerprint: &str,
    ) -> Result<(Booking, Option<Vec<BookedAddon>>)> {
        let (auth, txn, visible) = self.open_booking_create(ctx, Access::Write).await?;
        if let Some(key) = key
            && let Some(row) = find_by_key(&txn, auth.tenant_id, key).await?
        {
            txn.commit().await?;
            return Ok((repeat_of(row, fingerprint)?, None));
        }
        let now = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        let mut offer =
            Self::bookable_offer(&txn, auth.tenant_id, input.service_id, Some(input.provider_id), &input.addon_ids)
                .await?;
        let (customer_id, customer) =
            booking_customer(&txn, &auth, &visible, (&input.customer, Some(input.provider_id)), now).await?;
        let place = match placing.seat {
            Some(seat) => crate::classes::seat_placement(&txn, &tenant, seat, &mut offer, now).await?,
            None => {
                offer.check_appointment()?;
                Self::check_start(input.starts_at, now, &tenant)?;
                let ends_at = input.starts_at + minutes(offer.duration_minutes());
                let blocked_from = input.starts_at - minutes(offer.service.buffer_before_minutes);
                let blocked_until = ends_at + minutes(offer.service.buffer_after_minutes);
                Self::check_working_time(&txn, auth.tenant_id, tz, input.provider_id, blocked_from, blocked_until)
                    .await?;
                let window = (blocked_from, blocked_until);
                free_window(&txn, &tenant, (input.provider_id, window, None), now, tz).await?;
                Placement { ends_at, blocked: window, session: None, seats: 1 }
            }
        };
        let due = crate::payment_holds::due_at_booking(&txn, auth.tenant_id, (&offer, customer_id), now).await?;
        // A booking waiting for its payment (or card) is confirmed by it.
        let waits = due.as_ref().is_some_and(|d| d.until.is_some());
        let confirmed = !waits && tenant.settings.confirm_bookings_automatically;

        let id = BookingId::generate(now);
        let mut row =
            fresh_row((auth.tenant_id, id), (input.provider_id, customer_id), input.starts_at, &offer, &place, now);
        if confirmed {
            row.status = Set(BookingStatus::Confirmed);
            row.confirmed_at = Set(Some(now));
        }
        row.notes = Set(parse_text("notes", input.notes.as_deref(), 2000)?);
        row.idempotency_key = Set(key.map(str::to_owned));
        row.request_fingerprint = Set(key.map(|_| fingerprint.to_owned()));
        row.created_by = Set(auth.actor.map(|a| a.user_id));
        row.payment_due_by = Set(due.as_ref().and_then(|d| d.until));
        row.card_fees = Set(due.as_ref().and_then(|d| d.fees).map(|f| f.to_json()));
        row.series_id = Set(placing.series);
        let row = row.insert(&txn).await.map_err(|e| match (crate::classes::seat_refusal(&e), e.sql_err()) {
            (Some(refusal), _) => refusal,
            (None, Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                DomainError::Conflict("this idempotency key is being used by another request".into())
            }
            (None, _) => booking_write_error(e),
        })?;
        if place.session.is_none() {
            crate::resource_holds::hold_resource(&txn, &tenant, &row, &offer.service, now).await?;
        }
        let mut snapshots: Vec<booking_addon::Model> = offer
            .addons
            .iter()
            .map(|a| booking_addon::Model {
                id: uuid_v7_at(now),
                tenant_id: auth.tenant_id,
                booking_id: id,
                addon_id: a.id,
                name: a.name.clone(),
                price_minor: a.price_minor,
                duration_minutes: a.duration_minutes,
            })
            .collect();
        // In the order a read gives them back.
        snapshots.sort_by_key(|a| a.id);
        if !snapshots.is_empty() {
            let rows = snapshots.iter().cloned().map(booking_addon::ActiveModel::from);
            booking_addon::Entity::insert_many(rows).exec(&txn).await?;
        }
        if let Some(due) = due {
            crate::payment_holds::open_payment(&txn, auth.tenant_id, &row, due, now).await?;
        }
        // The customer and provider were read above: the messages use them.
        let known = Parties { customer: customer.as_ref(), provider: offer.provider.as_ref() };
        let created = (EventKind::BookingCreated, None, &row);
        let mut placed = serde_json::json!({});
        if let Some(session) = place.session {
            placed = serde_json::json!({ "classSessionId": session, "seats": place.seats });
        }
        if let Some(series) = placing.series {
            placed["seriesId"] = serde_json::json!(series);
        }
        announce_with(&txn, ctx, &auth, &tenant, created, known, placed).await?;
        // Last: the counter's row stays locked until the commit.
        crate::quota::count_booking(&txn, &tenant, &*self.usage_notices, id, now).await?;
        txn.commit().await?;
        Ok((row.into(), Some(snapshots.into_iter().map(BookedAddon::from).collect())))
    }

    pub(crate) async fn booking_for_update(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
    ) -> Result<booking::Model> {
        booking::Entity::find_by_id((tenant_id, id)).one(txn).await?.ok_or(not_found("booking"))
    }

    /// One booking for a change, `NOT_FOUND` unless within `visible`.
    pub(crate) async fn booking_within(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
        visible: &Visible,
    ) -> Result<booking::Model> {
        let row = Self::booking_for_update(txn, tenant_id, id).await?;
        if visible.allows_booking(row.provider_id, row.customer_id) { Ok(row) } else { Err(not_found("booking")) }
    }

    pub(crate) async fn open_bookings(&self, ctx: &RequestContext) -> Result<(Authorized, Txn, Visible)> {
        self.open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, Own::Either, Access::Read).await
    }

    pub(crate) async fn open_booking_create(
        &self,
        ctx: &RequestContext,
        access: Access,
    ) -> Result<(Authorized, Txn, Visible)> {
        self.open_reach(ctx, Permission::BookingCreate, Permission::BookingCreateOwn, Own::Customer, access).await
    }

    /// Moves an upcoming booking to another start (and optionally provider). The
    /// price stays as booked; so does the length, unless the booking moves to
    /// another provider: then it takes that provider's time for the service, plus
    /// the booked add-ons. `booking:reschedule_own` moves the
    /// actor's own bookings as a customer, up to the tenant's reschedule notice;
    /// others' are `NOT_FOUND` to them.
    pub async fn reschedule_booking(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        starts_at: DateTime<Utc>,
        provider_id: Option<ProviderId>,
    ) -> Result<Booking> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingRescheduleOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let current = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        if !current.status.is_upcoming() {
            return Err(DomainError::invalid(
                "status",
                format!("a {} booking cannot be rescheduled", current.status.as_str()),
            ));
        }
        if current.class_session_id.is_some() {
            return Err(DomainError::invalid(
                "id",
                "a seat in a class keeps its session: cancel it and book a seat in another session",
            ));
        }
        crate::waitlist_ends::check_not_offered(&current)?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        if !ctx.has(Permission::BookingManage) {
            check_customer_reschedule(&current, now, &tenant)?;
        }
        let tz = timezone(&tenant)?;
        Self::check_start(starts_at, now, &tenant)?;
        let provider_id = provider_id.unwrap_or(current.provider_id);
        let offer = Self::bookable_offer(&txn, auth.tenant_id, current.service_id, Some(provider_id), &[]).await?;
        let duration_minutes = if provider_id == current.provider_id {
            current.duration_minutes
        } else {
            let booked_addons: i32 = booking_addon::Entity::find()
                .filter(booking_addon::Column::TenantId.eq(auth.tenant_id))
                .filter(booking_addon::Column::BookingId.eq(id))
                .all(&txn)
                .await?
                .iter()
                .map(|a| a.duration_minutes)
                .sum();
            offer.duration_minutes() + booked_addons
        };
        let ends_at = starts_at + minutes(duration_minutes);
        let blocked_from = starts_at - minutes(offer.service.buffer_before_minutes);
        let blocked_until = ends_at + minutes(offer.service.buffer_after_minutes);
        Self::check_working_time(&txn, auth.tenant_id, tz, provider_id, blocked_from, blocked_until).await?;
        let window = (blocked_from, blocked_until);
        free_window(&txn, &tenant, (provider_id, window, Some(id)), now, tz).await?;
        let previous_start = current.starts_at;
        let before = current.clone();
        let mut row = current.into_active_model();
        row.provider_id = Set(provider_id);
        row.starts_at = Set(starts_at);
        row.ends_at = Set(ends_at);
        row.duration_minutes = Set(duration_minutes);
        row.blocked_from = Set(blocked_from);
        row.blocked_until = Set(blocked_until);
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(booking_write_error)?;
        crate::resource_holds::move_resource_hold(&txn, &tenant, &row, &offer.service, now).await?;
        let payload = serde_json::json!({ "previousStartsAt": previous_start });
        let kind = EventKind::BookingRescheduled;
        announce_with(&txn, ctx, &auth, &tenant, (kind, Some(&before), &row), Parties::default(), payload).await?;
        txn.commit().await?;
        self.offer_freed(auth.tenant_id, Freed::of(&before), now).await;
        Ok(row.into())
    }

    /// Moves a booking along its status machine (confirm, start, complete, no-show).
    pub async fn change_booking_status(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        to: BookingStatus,
    ) -> Result<Booking> {
        if to == BookingStatus::Cancelled {
            return Err(DomainError::invalid("status", "use cancelBooking to cancel"));
        }
        let (auth, txn) = self.open(ctx, Permission::BookingManage, Access::Write).await?;
        let now = ctx.now();
        let current = Self::booking_for_update(&txn, auth.tenant_id, id).await?;
        let status = current.status.transition(to)?;
        if current.payment_due_by.is_some() && current.status == BookingStatus::Scheduled {
            return Err(DomainError::invalid("status", "the booking waits for its payment; its payment confirms it"));
        }
        crate::waitlist_ends::check_not_offered(&current)?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        check_status_timing(&current, status, now, timezone(&tenant)?)?;
        let before = current.clone();
        let mut row = current.into_active_model();
        row.status = Set(status);
        match status {
            BookingStatus::Confirmed => row.confirmed_at = Set(Some(now)),
            BookingStatus::InProgress => row.started_at = Set(Some(now)),
            BookingStatus::Completed => row.completed_at = Set(Some(now)),
            BookingStatus::NoShow => row.no_show_at = Set(Some(now)),
            BookingStatus::Scheduled | BookingStatus::Cancelled => {}
        }
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(booking_write_error)?;
        if status == BookingStatus::NoShow {
            crate::booking_fees::charge_fee(&txn, &row, FeeFor::NoShow, now).await?;
        }
        announce(&txn, ctx, &auth, &tenant, EventKind::BookingStatusChanged, Some(&before), &row).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Cancels an upcoming booking, recording who, when and why, and the refund due
    /// under the tenant's cancellation policy. `booking:cancel_own` cancels the
    /// actor's own bookings as a customer; others' are `NOT_FOUND` to them.
    pub async fn cancel_booking(&self, ctx: &RequestContext, id: BookingId, reason: Option<String>) -> Result<Booking> {
        let reason = parse_text("reason", reason.as_deref(), 500)?;
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingCancelOwn, Own::Customer, Access::Write)
            .await?;
        let current = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let customers_own = !ctx.has(Permission::BookingManage);
        let freed = Freed::of(&current);
        let row = cancel_row(&txn, (ctx, &auth, &tenant), current, reason, customers_own).await?;
        txn.commit().await?;
        self.offer_freed(auth.tenant_id, freed, ctx.now()).await;
        Ok(row.into())
    }
}

/// A new booking of `offer` for a customer with a provider at `starts_at`,
/// placed as `place` says: scheduled, made by nobody, with nothing else
/// set (the caller sets what its kind of booking adds).
pub(crate) fn fresh_row(
    (tenant_id, id): (TenantId, BookingId),
    (provider_id, customer_id): (ProviderId, CustomerId),
    starts_at: DateTime<Utc>,
    offer: &crate::bookable::Offer,
    place: &Placement,
    now: DateTime<Utc>,
) -> booking::ActiveModel {
    booking::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        provider_id: Set(provider_id),
        service_id: Set(offer.service.id),
        customer_id: Set(customer_id),
        status: Set(BookingStatus::Scheduled),
        starts_at: Set(starts_at),
        ends_at: Set(place.ends_at),
        blocked_from: Set(place.blocked.0),
        blocked_until: Set(place.blocked.1),
        service_name: Set(offer.service.name.clone()),
        price_minor: Set(offer.price_minor()),
        currency: Set(offer.service.currency.clone()),
        duration_minutes: Set(offer.duration_minutes()),
        notes: Set(None),
        idempotency_key: Set(None),
        request_fingerprint: Set(None),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        confirmed_at: Set(None),
        started_at: Set(None),
        completed_at: Set(None),
        no_show_at: Set(None),
        cancelled_at: Set(None),
        cancelled_by: Set(None),
        cancellation_reason: Set(None),
        refund_minor: Set(None),
        payment_due_by: Set(None),
        card_fees: Set(None),
        class_session_id: Set(place.session),
        seats: Set(place.seats),
        series_id: Set(None),
        offer_expires_at: Set(None),
    }
}

/// Where a new booking goes besides its provider and start: seats in a
/// class session (the session and how many), or an occurrence of a series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Placing {
    pub(crate) seat: Option<(ClassSessionId, i32)>,
    pub(crate) series: Option<BookingSeriesId>,
}

/// The customer a new booking is for, within what the actor may book for
/// (`booking:create_own`: themselves, their record made on their first
/// booking), with the record when it was read.
pub(crate) async fn booking_customer(
    txn: &DatabaseTransaction,
    auth: &Authorized,
    visible: &Visible,
    (wanted, provider_id): (&BookingCustomer, Option<ProviderId>),
    now: DateTime<Utc>,
) -> Result<(CustomerId, Option<customer::Model>)> {
    match wanted {
        BookingCustomer::Existing(id) => {
            if !(visible.allows_customer(*id) || provider_id.is_some_and(|p| visible.allows_provider(p))) {
                return Err(DomainError::Forbidden(
                    "booking:create_own books only for yourself: leave customerId out".into(),
                ));
            }
            let found =
                customer::Entity::find_by_id((auth.tenant_id, *id)).one(txn).await?.ok_or(not_found("customer"))?;
            Ok((found.id, Some(found)))
        }
        BookingCustomer::Myself(profile) => {
            Ok((crate::customers::own_customer_record(txn, auth, profile, now).await?, None))
        }
    }
}

/// Cancels `current` in `txn` as `auth`'s actor, with the refund the
/// business's policy gives; a customer's own late cancellation of a
/// booking they hold (not one still waiting for its payment or card) costs
/// the agreed fee. Recorded, announced and told.
pub(crate) async fn cancel_row(
    txn: &DatabaseTransaction,
    (ctx, auth, tenant): (&RequestContext, &Authorized, &Tenant),
    current: booking::Model,
    reason: Option<String>,
    customers_own: bool,
) -> Result<booking::Model> {
    let now = ctx.now();
    current.status.transition(BookingStatus::Cancelled)?;
    let by = auth.actor.map(|a| a.user_id);
    // An offer cancelled is an offer declined: nothing was paid or agreed.
    let offered = crate::waitlist_ends::is_offer(&current);
    if offered {
        crate::waitlist_ends::close_offer(txn, Some(ctx), (tenant.id, current.id), WaitlistStatus::Declined, now)
            .await?;
    }
    let refund = crate::payment_holds::refund_on_cancel(txn, tenant, &current, by, now).await?;
    if customers_own && current.payment_due_by.is_none() && !offered {
        crate::booking_fees::charge_fee(txn, &current, FeeFor::LateCancellation, now).await?;
    }
    let before = current.clone();
    let mut row = current.into_active_model();
    row.status = Set(BookingStatus::Cancelled);
    row.cancelled_at = Set(Some(now));
    row.cancelled_by = Set(by);
    row.cancellation_reason = Set(reason);
    row.refund_minor = Set(Some(refund));
    row.updated_at = Set(now);
    let row = row.update(txn).await?;
    announce(txn, ctx, auth, tenant, EventKind::BookingCancelled, Some(&before), &row).await?;
    Ok(row)
}
