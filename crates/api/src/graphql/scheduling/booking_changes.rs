//! Booking changes: creating, moving, moving along the status machine, cancelling and
//! reviewing a booking, and the live feed of booking events.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tessera_api_macros::operations;
use tessera_kernel::event::EventKind;
use tessera_kernel::{BookingId, DomainError, Permission, ProviderId};
use tessera_scheduling::NewBooking;

use super::bookings::BookingObject;
use crate::error::{ApiError, ApiResult};
use crate::flows;
use crate::graphql::feed::watch;
use crate::graphql::{Requires, RequiresOrOwn, loaders, parse_id, request, services};

/// A booking to make.
#[derive(InputObject)]
pub(crate) struct CreateBookingInput {
    /// The service.
    service_id: ID,
    /// The provider. Omitted: any available staff, whoever offers the
    /// service and is free then, chosen by the business's
    /// `settings.staffAssignment` (the least booked that day, or in turn).
    provider_id: Option<ID>,
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

async fn change_status(ctx: &Context<'_>, id: &ID, to: tessera_scheduling::BookingStatus) -> ApiResult<BookingObject> {
    let booking = services(ctx)?.scheduling.change_booking_status(request(ctx)?, parse_id("id", id)?, to).await?;
    Ok(BookingObject(booking))
}

/// What happened to a booking.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "BookingEventKind")]
pub(crate) enum BookingEventKindEnum {
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
#[graphql(name = "BookingEvent")]
pub(crate) struct BookingEventObject {
    /// Unique per event.
    event_id: ID,
    /// What happened.
    kind: BookingEventKindEnum,
    /// When.
    occurred_at: DateTime<Utc>,
    /// The booking as it is now.
    booking: BookingObject,
}

#[derive(Default)]
pub(crate) struct SchedulingSubscription;

#[operations]
#[Subscription]
impl SchedulingSubscription {
    /// Changes to the tenant's bookings (optionally one provider's), as they are
    /// committed, from every gateway replica. Rights are checked again for each
    /// event; the feed ends when the session ends or access is lost.
    #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
    async fn booking_events(
        &self,
        ctx: &Context<'_>,
        provider_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<BookingEventObject>> + use<>, ApiError> {
        let provider_filter: Option<ProviderId> =
            provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let services = services(ctx)?.clone();
        watch(ctx, Permission::BookingRead, Permission::BookingReadOwn, move |item| {
            let services = services.clone();
            async move {
                let kind = match item.event.kind {
                    EventKind::BookingCreated => BookingEventKindEnum::Created,
                    EventKind::BookingRescheduled => BookingEventKindEnum::Rescheduled,
                    EventKind::BookingStatusChanged => BookingEventKindEnum::StatusChanged,
                    EventKind::BookingCancelled => BookingEventKindEnum::Cancelled,
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
                Some(BookingEventObject {
                    event_id: ID(item.event.id.to_string()),
                    kind,
                    occurred_at: item.event.occurred_at,
                    booking: BookingObject(booking),
                })
            }
        })
    }
}

/// Mutations about bookings.
#[derive(Default)]
pub(super) struct BookingMutations;

#[operations]
#[Object]
impl BookingMutations {
    /// Books an appointment. Price and duration come from the service and add-ons.
    /// Fails with CONFLICT when the provider is already booked then (without
    /// `providerId`: when nobody who offers the service is free). When the
    /// business asks a deposit or prepayment, the booking is made
    /// `awaitingPayment`, holding its time until `paymentDueBy`: pay it with
    /// `payBooking`.
    #[access(RequiresOrOwn(Permission::BookingCreate, Permission::BookingCreateOwn))]
    async fn create_booking(&self, ctx: &Context<'_>, input: CreateBookingInput) -> ApiResult<BookingObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let customer_id = input.customer_id.as_ref().map(|id| parse_id("customerId", id)).transpose()?;
        let customer = flows::bookings::customer(services, request, customer_id).await?;
        let provider_id = input.provider_id.as_ref().map(|id| parse_id("providerId", id)).transpose()?;
        let booking = NewBooking {
            service_id: parse_id("serviceId", &input.service_id)?,
            // Chosen below when omitted.
            provider_id: provider_id.unwrap_or(tessera_kernel::ProviderId(uuid::Uuid::nil())),
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
        let (booking, addons) = match provider_id {
            Some(_) => services.scheduling.create_booking_with_addons(request, booking).await?,
            None => services.scheduling.create_booking_any_provider(request, booking).await?,
        };
        // The answer's `addons` are the ones just booked: no read to find them.
        if let Some(addons) = addons {
            loaders(ctx)?.booked_addons().feed_one(booking.id, addons).await;
            // Made just now and waiting for its payment: the provider's
            // payment is made after the booking committed, so `payBooking`
            // finds it ready. A provider that is down changes nothing:
            // `payBooking` (or the payment job) makes it later.
            if booking.awaits_payment()
                && let Err(err) = services.billing.checkout_if_due(request, &booking).await
            {
                tracing::warn!(booking = %booking.id, error = %err, "the booking's payment will be made when paid");
            }
        }
        Ok(BookingObject(booking))
    }

    /// Moves an upcoming booking to another start (and optionally provider). A
    /// customer with `booking:reschedule_own` moves their own bookings, up to the
    /// tenant's `customerRescheduleNoticeHours` before the current start.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingRescheduleOwn))]
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
    #[access(Requires(Permission::BookingManage))]
    async fn confirm_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::Confirmed).await
    }

    /// Marks a booking as under way.
    #[access(Requires(Permission::BookingManage))]
    async fn start_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::InProgress).await
    }

    /// Completes a booking that is under way.
    #[access(Requires(Permission::BookingManage))]
    async fn complete_booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        change_status(ctx, &id, tessera_scheduling::BookingStatus::Completed).await
    }

    /// Records that the customer did not come. A booking made with a kept
    /// card (`cardFees`) charges its no-show fee to it, once: marking it
    /// again is refused and charges nothing more.
    #[access(Requires(Permission::BookingManage))]
    async fn mark_booking_no_show(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BookingObject> {
        let booking = change_status(ctx, &id, tessera_scheduling::BookingStatus::NoShow).await?;
        let (services, request) = (services(ctx)?, request(ctx)?);
        let fee = booking.0.card_fees.is_some_and(|fees| fees.no_show_fee_minor > 0);
        if fee && let Some(tenant) = request.tenant() {
            services.billing.charge_booking_fees(tenant.tenant_id, booking.0.id, request.now()).await;
        }
        Ok(booking)
    }

    /// Cancels an upcoming booking. What was paid for it through the
    /// business's payment account is given back under the business's
    /// cancellation policy (all, a part, or nothing, by the notice given):
    /// `cancellation.refund`, and a refund on its payment, sent to the
    /// provider once the booking is cancelled. A customer cancelling their
    /// own booking later than its `cardFees` allow is charged the late
    /// cancellation fee on their kept card.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::BookingCancelOwn))]
    async fn cancel_booking(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> ApiResult<BookingObject> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let booking = services.scheduling.cancel_booking(request, parse_id("id", &id)?, reason).await?;
        // Only a booking that was paid, or waited for its payment, has
        // anything at the provider: the others cost no read.
        let at_provider = booking.refund_minor.is_some_and(|r| r > 0)
            || booking.payment_due_by.is_some()
            || booking.card_fees.is_some_and(|fees| fees.late_cancellation_fee_minor > 0);
        if at_provider && let Some(tenant) = request.tenant() {
            services.billing.after_cancel(tenant.tenant_id, booking.id, request.now()).await;
        }
        Ok(BookingObject(booking))
    }

    /// Records the customer's review (1–5) of a completed booking.
    #[access(RequiresOrOwn(Permission::BookingManage, Permission::ReviewCreateOwn))]
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
