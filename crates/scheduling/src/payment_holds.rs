//! Bookings that wait for their payment.
//!
//! When the business asks a deposit or prepayment (its payment terms, or
//! the service's own) and has an enabled payment account, a new booking is
//! made `SCHEDULED` with `payment_due_by` set: it holds its provider's time
//! (the database's no-overlap rule counts it) only until then, and its
//! payment row is written in the same transaction (`tessera_ledger::payments`).
//! Billing asks the provider after the commit, never inside it.
//!
//! The payment settling ends the wait, in billing's transaction that records
//! it: succeeded confirms the booking ([`SchedulingService::confirm_paid`]);
//! failed or given up frees its time
//! ([`SchedulingService::release_unpaid`]). A hold that runs out frees the
//! time too: the next booking wanting it releases it in its own transaction
//! ([`free_window`]: the slot is free the moment the hold ends, whatever the
//! job's pace),
//! availability stops counting it, and the payment job releases the rest.
//! Every change is audited, announced and told to the customer as the
//! system's.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::EventKind;
use tessera_kernel::{BookingId, CustomerId, DomainError, Permission, ProviderId, RequestContext, Result, TenantId};
use tessera_ledger::payments::{self, BookingPaymentKind, BookingPaymentStatus, NewBookingPayment, PaymentAccount};
use tessera_ledger::refunds::{self, NewRefund, RefundKind};
use tessera_ledger::{CardFees, PaymentTerms};
use tessera_tenant::Tenant;

use crate::bookable::Offer;
use crate::booking::ACTIVE;
use crate::booking_record::{announce_by_system, announce_with};
use crate::entity::booking;
use crate::lifecycle::{conflict_with, first_taking};
use crate::model::{Booking, BookingStatus};
use crate::notices::Parties;
use crate::reach::Own;
use crate::service::{SchedulingService, booking_write_error};

/// Why a booking stopped waiting for its payment without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpaid {
    /// The payment was declined or failed.
    Failed,
    /// The hold ran out first.
    Expired,
}

impl Unpaid {
    /// The cancellation reason the customer is told.
    fn reason(self) -> &'static str {
        match self {
            Self::Failed => "The payment did not go through, so the time was freed.",
            Self::Expired => "The payment was not made in time, so the time was freed.",
        }
    }
}

/// What a booking asks when booked, and until when it waits.
pub(crate) struct Due {
    pub(crate) account: PaymentAccount,
    /// The payment asked now, if any.
    pub(crate) payment: Option<(BookingPaymentKind, i64)>,
    /// The fees agreed to, when the terms keep a card.
    pub(crate) fees: Option<CardFees>,
    /// Whether the customer has no card kept at the account yet.
    pub(crate) card_wanted: bool,
    /// When the hold ends; `None` when nothing is waited for.
    pub(crate) until: Option<DateTime<Utc>>,
}

/// What a booking of `offer` for `customer_id` asks when booked, if
/// anything: the service's terms or else the business's, through its enabled
/// payment account. It waits for a payment due now and for a card the terms
/// keep and the customer has not given yet.
pub(crate) async fn due_at_booking(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    (offer, customer_id): (&Offer, CustomerId),
    now: DateTime<Utc>,
) -> Result<Option<Due>> {
    let Some(account) = payments::account_of(txn, tenant_id).await?.filter(|a| a.enabled) else { return Ok(None) };
    let own = offer.service.payment_policy.as_deref().map(PaymentTerms::from_json).transpose()?;
    let terms = own.as_ref().unwrap_or(&account.terms);
    let (payment, fees) = (terms.due_at_booking(offer.price_minor()), terms.card_fees());
    if payment.is_none() && fees.is_none() {
        return Ok(None);
    }
    let card_wanted = match fees {
        Some(_) => !crate::booking_fees::card_kept(txn, tenant_id, customer_id, &account).await?,
        None => false,
    };
    let until = (payment.is_some() || card_wanted).then(|| now + Duration::minutes(i64::from(terms.hold_minutes)));
    Ok(Some(Due { account, payment, fees, card_wanted, until }))
}

/// Writes what a new booking asks, in its transaction: its payment, and the
/// card it waits for.
pub(crate) async fn open_payment(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    row: &booking::Model,
    due: Due,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some((kind, amount_minor)) = due.payment {
        payments::open(txn, tenant_id, &due.account, asked(row, kind, amount_minor), now).await?;
    }
    if due.card_wanted {
        tessera_ledger::cards::ask(txn, tenant_id, row.customer_id, &due.account, now).await?;
    }
    Ok(())
}

/// A payment of `row` to ask its customer for, in its currency.
pub(crate) fn asked(row: &booking::Model, kind: BookingPaymentKind, amount_minor: i64) -> NewBookingPayment {
    NewBookingPayment {
        booking_id: row.id,
        customer_id: row.customer_id,
        kind,
        amount_minor,
        currency: row.currency.clone(),
    }
}

/// What cancelling `row` at `now` gives back of what was paid for it
/// through the business's payment account: the business's policy (all, a
/// part, or nothing, by the notice given) of what is left to refund, written
/// as a refund in the cancelling transaction (billing asks the provider
/// after the commit). Nothing when nothing was paid here.
pub(crate) async fn refund_on_cancel(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: &booking::Model,
    by: Option<tessera_kernel::UserId>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let paid = payments::booking_payment(txn, tenant.id, row.id).await?;
    let Some(paid) = paid.filter(|p| p.status == BookingPaymentStatus::Succeeded) else {
        return Ok(0);
    };
    let notice = row.starts_at - now;
    let amount = tenant.settings.refund_for_cancellation(paid.captured_minor - paid.refunded_minor, notice);
    if amount <= 0 {
        return Ok(0);
    }
    let hours = notice.num_minutes() / 60;
    let reason = format!("Cancelled {hours} hours before the start: refunded under the business's cancellation policy");
    let new = NewRefund {
        payment_id: paid.id,
        kind: RefundKind::Policy,
        amount_minor: amount,
        reason: Some(reason),
        created_by: by,
    };
    refunds::open(txn, tenant.id, new, now).await?;
    Ok(amount)
}

/// The bookings that hold their provider's time at `now`: active, and not
/// waiting for a payment past its due time, nor a waitlist offer past its
/// expiry.
pub(crate) fn holds_time(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(booking::Column::Status.is_in(ACTIVE))
        .add(Condition::any().add(booking::Column::PaymentDueBy.is_null()).add(booking::Column::PaymentDueBy.gt(now)))
        .add(
            Condition::any()
                .add(booking::Column::OfferExpiresAt.is_null())
                .add(booking::Column::OfferExpiresAt.gt(now)),
        )
}

/// Whether `row` held its time only until a moment `now` has reached: a
/// payment (or card) not made in time, or a waitlist offer not accepted.
pub(crate) fn hold_ended(row: &booking::Model, now: DateTime<Utc>) -> bool {
    row.status == BookingStatus::Scheduled
        && [row.payment_due_by, row.offer_expires_at].into_iter().flatten().any(|until| until <= now)
}

/// The bookings whose hold ended by `now` ([`hold_ended`]), still holding
/// time in the database.
pub(crate) fn hold_ended_by(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(booking::Column::Status.eq(BookingStatus::Scheduled))
        .add(Condition::any().add(booking::Column::PaymentDueBy.lte(now)).add(booking::Column::OfferExpiresAt.lte(now)))
}

/// The bookings whose hold ran out by `now`, still holding time in the
/// database.
fn lapsed(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(booking::Column::Status.eq(BookingStatus::Scheduled))
        .add(booking::Column::PaymentDueBy.lte(now))
}

/// Checks that a provider's time in a window is free for a booking (but
/// `except`, the one moving), freeing on the way bookings whose hold ran out
/// (so the database's no-overlap rule does not count them); `CONFLICT`, said
/// as a person understands it, when something holds it. One read when the
/// time is free.
pub(crate) async fn free_window(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    (provider_id, window, except): (ProviderId, (DateTime<Utc>, DateTime<Utc>), Option<BookingId>),
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<()> {
    while let Some(taken) = first_taking(txn, tenant.id, provider_id, window, except).await? {
        if !hold_ended(&taken, now) {
            return Err(conflict_with(&taken, tz));
        }
        release_lapsed(txn, tenant, taken, now).await?;
    }
    if let Some(session) = crate::classes::session_taking(txn, tenant.id, provider_id, window).await? {
        return Err(DomainError::Conflict(format!(
            "the provider teaches a class from {} until {} ({tz}); choose another slot",
            session.blocked_from.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            session.blocked_until.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        )));
    }
    Ok(())
}

/// Frees `row`, whose hold ran out ([`hold_ended`]), in the caller's
/// transaction: a payment not made, or a waitlist offer not taken (a time
/// or a seat asked again, `classes.rs`).
pub(crate) async fn release_lapsed(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: booking::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    if crate::waitlist_ends::is_offer(&row) {
        // Boxed: every booking's future would otherwise carry it.
        return Box::pin(crate::waitlist_ends::lapse(txn, tenant, row, now)).await.map(|_| ());
    }
    release(txn, tenant, row, Unpaid::Expired, now).await.map(|_| ())
}

async fn release(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    row: booking::Model,
    why: Unpaid,
    now: DateTime<Utc>,
) -> Result<Booking> {
    let before = row.clone();
    let mut change = row.into_active_model();
    change.status = Set(BookingStatus::Cancelled);
    change.cancelled_at = Set(Some(now));
    change.cancelled_by = Set(None);
    let waited_for_card = give_back_paid(txn, tenant.id, &before, now).await?;
    let reason = match why {
        Unpaid::Expired if waited_for_card.is_some() => "The card was not given in time, so the time was freed.",
        _ => why.reason(),
    };
    change.cancellation_reason = Set(Some(reason.to_owned()));
    change.refund_minor = Set(Some(waited_for_card.unwrap_or(0)));
    change.updated_at = Set(now);
    let row = change.update(txn).await?;
    let unpaid = match why {
        Unpaid::Expired => "expired",
        Unpaid::Failed => "failed",
    };
    let extra = serde_json::json!({ "unpaid": unpaid });
    announce_by_system(txn, tenant, now, (EventKind::BookingCancelled, Some(&before), &row), extra).await?;
    Ok(row.into())
}

impl SchedulingService {
    /// Ends the wait of a booking whose payment succeeded, in the caller's
    /// transaction: it is confirmed. `None` when it was not waiting (paid
    /// already, or released: the caller refunds).
    pub async fn confirm_paid(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        let Some(row) = waiting(txn, tenant_id, id).await? else { return Ok(None) };
        if row.card_fees.is_some() && !crate::booking_fees::card_kept_for(txn, &row).await? {
            // Still waits for the card its terms keep.
            return Ok(Some(row.into()));
        }
        confirm(txn, row, serde_json::json!({ "paid": true }), now).await.map(Some)
    }

    /// Ends the wait of a booking whose payment failed or was given up, in
    /// the caller's transaction: its time is freed. `None` when it was not
    /// waiting.
    pub async fn release_unpaid(
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        id: BookingId,
        why: Unpaid,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        let Some(row) = waiting(txn, tenant_id, id).await? else { return Ok(None) };
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        release(txn, &tenant, row, why, now).await.map(Some)
    }

    /// Takes the time of a booking freed for want of payment again, for a
    /// new try at paying it: the booking waits for its payment once more,
    /// holding its time for the business's hold, with a new payment of what
    /// the last one asked (written in the same transaction). `CONFLICT` when
    /// someone booked the time meanwhile. `booking:create`, or
    /// `booking:create_own` for one's own; others' are `NOT_FOUND`.
    pub async fn retake_unpaid_booking(&self, ctx: &RequestContext, id: BookingId) -> Result<Booking> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingCreate, Permission::BookingCreateOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let current = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        let freed_unpaid = current.status == BookingStatus::Cancelled
            && current.payment_due_by.is_some()
            && current.cancelled_by.is_none();
        let last = payments::booking_payment(&txn, auth.tenant_id, id).await?;
        let Some(last) = last.filter(|p| freed_unpaid && p.status.is_settled() && p.captured_minor == 0) else {
            return Err(DomainError::invalid(
                "bookingId",
                "only a booking freed for want of its payment is paid again",
            ));
        };
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        Self::check_start(current.starts_at, now, &tenant)?;
        let Some(account) = payments::account_of(&txn, auth.tenant_id).await?.filter(|a| a.enabled) else {
            return Err(DomainError::invalid("bookingId", "the business takes no payments now"));
        };
        let offer =
            Self::bookable_offer(&txn, auth.tenant_id, current.service_id, Some(current.provider_id), &[]).await?;
        let own = offer.service.payment_policy.as_deref().map(PaymentTerms::from_json).transpose()?;
        let until = now + Duration::minutes(i64::from(own.as_ref().unwrap_or(&account.terms).hold_minutes));
        let window = (current.blocked_from, current.blocked_until);
        let tz = crate::bookable::timezone(&tenant)?;
        free_window(&txn, &tenant, (current.provider_id, window, Some(id)), now, tz).await?;
        let before = current.clone();
        let mut change = current.into_active_model();
        change.status = Set(BookingStatus::Scheduled);
        change.cancelled_at = Set(None);
        change.cancellation_reason = Set(None);
        change.refund_minor = Set(None);
        change.payment_due_by = Set(Some(until));
        change.updated_at = Set(now);
        let row = change.update(&txn).await.map_err(booking_write_error)?;
        let due = Due {
            account,
            payment: Some((last.kind, last.amount_minor)),
            fees: None,
            card_wanted: false,
            until: Some(until),
        };
        open_payment(&txn, auth.tenant_id, &row, due, now).await?;
        let change = (EventKind::BookingStatusChanged, Some(&before), &row);
        announce_with(&txn, ctx, &auth, &tenant, change, Parties::default(), serde_json::json!({ "retry": true }))
            .await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Whether the booking waits for its payment (in the caller's
    /// transaction).
    pub async fn awaits_payment(txn: &DatabaseTransaction, tenant_id: TenantId, id: BookingId) -> Result<bool> {
        Ok(waiting(txn, tenant_id, id).await?.is_some())
    }

    /// Frees the time of every business's bookings whose hold ran out by
    /// `now`, at most `limit` (the payment job's); returns the bookings
    /// freed, with their business, so their payments can be given up.
    pub async fn release_lapsed_holds(
        db: &tessera_kernel::Db,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(TenantId, BookingId)>> {
        let txn = db.begin(Scope::Maintenance, Access::Read).await?;
        let due: Vec<(TenantId, BookingId)> = booking::Entity::find()
            .select_only()
            .columns([booking::Column::TenantId, booking::Column::Id])
            .filter(lapsed(now))
            .order_by_asc(booking::Column::PaymentDueBy)
            .limit(limit)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut freed = Vec::new();
        for (tenant_id, id) in due {
            let txn = db.begin(Scope::Maintenance, Access::Write).await?;
            // Read again in the writing transaction: a payment may have
            // confirmed it meanwhile.
            let row = booking::Entity::find_by_id((tenant_id, id)).filter(lapsed(now)).one(&txn).await?;
            if let Some(row) = row {
                let tenant = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
                release(&txn, &tenant, row, Unpaid::Expired, now).await?;
                freed.push((tenant_id, id));
            }
            txn.commit().await?;
        }
        Ok(freed)
    }
}

/// Gives back whole, in the transaction that frees `row`, what was paid for
/// it while it still waited for its card: the booking it paid for is gone.
/// Billing sends the refund after the commit. Answers what was given back
/// when the booking waited for its card alone (nothing was due to pay, or
/// it was paid), `None` when it waited for a payment.
async fn give_back_paid(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    row: &booking::Model,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    if row.card_fees.is_none() {
        // Only a booking waiting for a card can be freed after its payment.
        return Ok(None);
    }
    let paid = payments::booking_payment(txn, tenant_id, row.id).await?;
    let Some(paid) = paid else { return Ok(Some(0)) };
    if paid.status != BookingPaymentStatus::Succeeded {
        return Ok(None);
    }
    let amount_minor = paid.captured_minor - paid.refunded_minor;
    if amount_minor <= 0 {
        return Ok(Some(0));
    }
    let new = NewRefund {
        payment_id: paid.id,
        kind: RefundKind::UnwantedPayment,
        amount_minor,
        reason: Some("The booking was freed before the card it waited for was given".into()),
        created_by: None,
    };
    refunds::open(txn, tenant_id, new, now).await?;
    Ok(Some(amount_minor))
}

/// Confirms a booking whose wait ended, as the system.
pub(crate) async fn confirm(
    txn: &DatabaseTransaction,
    row: booking::Model,
    why: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Booking> {
    let tenant = tessera_tenant::load_tenant_in_scope(txn, row.tenant_id).await?;
    let before = row.clone();
    let mut change = row.into_active_model();
    change.status = Set(BookingStatus::Confirmed);
    change.confirmed_at = Set(Some(now));
    change.payment_due_by = Set(None);
    change.updated_at = Set(now);
    let row = change.update(txn).await.map_err(booking_write_error)?;
    announce_by_system(txn, &tenant, now, (EventKind::BookingStatusChanged, Some(&before), &row), why).await?;
    Ok(row.into())
}

/// The booking, if it waits for its payment (scheduled, with a due time).
async fn waiting(txn: &DatabaseTransaction, tenant_id: TenantId, id: BookingId) -> Result<Option<booking::Model>> {
    let row = booking::Entity::find_by_id((tenant_id, id)).one(txn).await?;
    match row {
        None => Err(DomainError::NotFound { entity: "booking" }),
        Some(row) if row.status == BookingStatus::Scheduled && row.payment_due_by.is_some() => Ok(Some(row)),
        Some(_) => Ok(None),
    }
}
