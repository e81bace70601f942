//! The waitlist's requests: joining it for a service (with one provider or
//! anyone, within some dates), reading entries, and accepting, declining
//! or leaving. Offering freed time is in `waitlist_offers.rs`.
//!
//! A customer joins for themselves (`booking:create_own`), or the business
//! puts one of its customers on the list (`booking:create`). Reading takes
//! `booking:read`, or `booking:read_own` for one's own entries (as the
//! customer, or as the provider named). Accepting an offer is booking
//! (`booking:create`, or `_own` for one's own); declining and leaving are
//! cancelling (`booking:manage`, or `booking:cancel_own`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use tessera_kernel::db::Access;
use tessera_kernel::event::EventKind;
use tessera_kernel::{DomainError, Page, PageRequest, Permission, RequestContext, Result, TenantId, WaitlistEntryId};
use tessera_tenant::Tenant;

use crate::bookable::timezone;
use crate::booking_record::announce_with;
use crate::entity::{booking, waitlist_entry};
use crate::model::{
    Booking, BookingStatus, NewWaitlistEntry, WaitlistEntry, WaitlistFilter, WaitlistStatus, parse_text,
};
use crate::notices::Parties;
use crate::reach::{Own, Visible};
use crate::service::{SchedulingService, booking_write_error, not_found};
use crate::waitlist_ends::{audit_entry, close_entry};
use crate::waitlist_offers::{Freed, MAX_WAITLIST_DAYS};

impl From<waitlist_entry::Model> for WaitlistEntry {
    fn from(row: waitlist_entry::Model) -> Self {
        Self {
            id: row.id,
            customer_id: row.customer_id,
            service_id: row.service_id,
            provider_id: row.provider_id,
            earliest_date: row.earliest_date,
            latest_date: row.latest_date,
            notes: row.notes,
            status: row.status,
            offer_booking_id: row.offer_booking_id,
            offered_at: row.offered_at,
            offer_expires_at: row.offer_expires_at,
            created_by: row.created_by,
            created_at: row.created_at,
            closed_at: row.closed_at,
        }
    }
}

impl WaitlistEntry {
    /// The fields the audit log compares.
    pub(crate) fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status.as_str(),
            "customerId": self.customer_id,
            "serviceId": self.service_id,
            "providerId": self.provider_id,
            "earliestDate": self.earliest_date,
            "latestDate": self.latest_date,
            "offerBookingId": self.offer_booking_id,
            "offerExpiresAt": self.offer_expires_at,
        })
    }
}

impl Visible {
    /// Whether one entry is within reach: its customer's, or its named
    /// provider's.
    fn allows_entry(&self, row: &waitlist_entry::Model) -> bool {
        self.allows_customer(row.customer_id) || row.provider_id.is_some_and(|p| self.allows_provider(p))
    }
}

/// Checks the dates an entry waits within, in the business's local days:
/// not past, within its booking horizon, at most [`MAX_WAITLIST_DAYS`].
fn check_dates(input: &NewWaitlistEntry, tenant: &Tenant, now: DateTime<Utc>) -> Result<()> {
    let today = now.with_timezone(&timezone(tenant)?).date_naive();
    let last_bookable = today + Duration::days(i64::from(tenant.settings.booking_horizon_days));
    let first = input.earliest_date.unwrap_or(today);
    if first < today {
        return Err(DomainError::invalid("earliestDate", "is in the past"));
    }
    if first > last_bookable {
        return Err(DomainError::invalid("earliestDate", "is beyond how far ahead the business takes bookings"));
    }
    if let Some(last) = input.latest_date {
        if last < first {
            return Err(DomainError::invalid("latestDate", "must be on or after earliestDate (today when absent)"));
        }
        if (last - first).num_days() >= MAX_WAITLIST_DAYS {
            return Err(DomainError::invalid("latestDate", format!("a wish covers at most {MAX_WAITLIST_DAYS} days")));
        }
    }
    Ok(())
}

/// `BAD_USER_INPUT` unless `row` holds an offer still open at `now`.
fn check_offer_open(row: &waitlist_entry::Model, now: DateTime<Utc>) -> Result<()> {
    match (row.status, row.offer_expires_at) {
        (WaitlistStatus::Offered, Some(until)) if until > now => Ok(()),
        (WaitlistStatus::Offered, _) | (WaitlistStatus::Expired, _) => {
            Err(DomainError::invalid("id", "the offer ran out; the time went to the next person waiting"))
        }
        (status, _) => Err(DomainError::invalid(
            "id",
            format!("the entry is {}: it holds no offer", status.as_str().to_lowercase()),
        )),
    }
}

impl SchedulingService {
    /// Puts a customer on the waitlist of a service, then offers them at
    /// once the first free time they wait for, if there is one (the entry
    /// answers `OFFERED`). One open entry per customer and service
    /// (`CONFLICT` for a second).
    pub async fn join_waitlist(&self, ctx: &RequestContext, input: NewWaitlistEntry) -> Result<WaitlistEntry> {
        let notes = parse_text("notes", input.notes.as_deref(), 500)?;
        let (auth, txn, visible) = self.open_booking_create(ctx, Access::Write).await?;
        let now = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        // A class too: its wish is a seat in one of its sessions.
        Self::bookable_offer(&txn, auth.tenant_id, input.service_id, input.provider_id, &[]).await?;
        check_dates(&input, &tenant, now)?;
        let (customer_id, _) =
            crate::booking::booking_customer(&txn, &auth, &visible, (&input.customer, input.provider_id), now).await?;
        let row = waitlist_entry::ActiveModel {
            tenant_id: Set(auth.tenant_id),
            id: Set(WaitlistEntryId::generate(now)),
            customer_id: Set(customer_id),
            service_id: Set(input.service_id),
            provider_id: Set(input.provider_id),
            earliest_date: Set(input.earliest_date),
            latest_date: Set(input.latest_date),
            notes: Set(notes),
            status: Set(WaitlistStatus::Waiting),
            offer_booking_id: Set(None),
            offered_at: Set(None),
            offer_expires_at: Set(None),
            created_by: Set(auth.actor.map(|a| a.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            closed_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict("the customer is already on the waitlist for this service".into())
            }
            _ => e.into(),
        })?;
        audit_entry(&txn, Some(ctx), auth.tenant_id, "waitlist.joined", (None, &row), now).await?;
        txn.commit().await?;
        if let Err(err) = Box::pin(self.offer_entry(&tenant, &row, None, now)).await {
            tracing::warn!(tenant_id = %auth.tenant_id, entry = %row.id, error = %err, "offering time to a new waitlist entry failed");
        }
        // Read again as it stands now (offered, perhaps): the one who put it
        // there sees it, whether or not they may read the list.
        let (_, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
        let now_row = waitlist_entry::Entity::find_by_id((auth.tenant_id, row.id)).one(&txn).await?;
        txn.commit().await?;
        Ok(now_row.unwrap_or(row).into())
    }

    /// The waitlist's entries within reach, in the order they joined (the
    /// open ones unless `filter` names statuses).
    pub async fn waitlist_entries(
        &self,
        ctx: &RequestContext,
        filter: &WaitlistFilter,
        page: &PageRequest,
    ) -> Result<Page<WaitlistEntry>> {
        let keyset = page.keyset()?;
        let (auth, txn, visible) = self.open_waitlist(ctx).await?;
        let mut select = waitlist_entry::Entity::find().filter(waitlist_entry::Column::TenantId.eq(auth.tenant_id));
        if let Visible::Only { providers, customers } = &visible {
            select = select.filter(
                Condition::any()
                    .add(waitlist_entry::Column::CustomerId.is_in(customers.iter().copied()))
                    .add(waitlist_entry::Column::ProviderId.is_in(providers.iter().copied())),
            );
        }
        if let Some(id) = filter.service_id {
            select = select.filter(waitlist_entry::Column::ServiceId.eq(id));
        }
        if let Some(id) = filter.provider_id {
            select = select.filter(waitlist_entry::Column::ProviderId.eq(id));
        }
        if let Some(id) = filter.customer_id {
            select = select.filter(waitlist_entry::Column::CustomerId.eq(id));
        }
        let statuses = match filter.statuses.as_slice() {
            [] => vec![WaitlistStatus::Waiting, WaitlistStatus::Offered],
            named => named.to_vec(),
        };
        select = select.filter(waitlist_entry::Column::Status.is_in(statuses));
        let rows = keyset.apply(select, waitlist_entry::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(WaitlistEntry::from))
    }

    /// One entry, if within reach.
    pub async fn waitlist_entry(&self, ctx: &RequestContext, id: WaitlistEntryId) -> Result<Option<WaitlistEntry>> {
        let (auth, txn, visible) = self.open_waitlist(ctx).await?;
        let row = waitlist_entry::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?;
        txn.commit().await?;
        Ok(row.filter(|r| visible.allows_entry(r)).map(WaitlistEntry::from))
    }

    /// Accepts the offer an entry holds: its booking is the customer's,
    /// as if booked now (confirmed at once if the business does so, or
    /// waiting for the payment or card its terms ask), told and reminded
    /// like any booking. A repeat answers the entry booked; an offer run
    /// out is `BAD_USER_INPUT`.
    pub async fn accept_waitlist_offer(&self, ctx: &RequestContext, id: WaitlistEntryId) -> Result<WaitlistEntry> {
        let (auth, txn, visible) = self.open_booking_create(ctx, Access::Write).await?;
        let now = ctx.now();
        let entry = entry_within(&txn, auth.tenant_id, id, &visible).await?;
        if entry.status == WaitlistStatus::Booked {
            txn.commit().await?;
            return Ok(entry.into());
        }
        check_offer_open(&entry, now)?;
        let booking_id = entry.offer_booking_id.ok_or(not_found("booking"))?;
        let current = Self::booking_for_update(&txn, auth.tenant_id, booking_id).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let offer =
            Self::bookable_offer(&txn, auth.tenant_id, current.service_id, Some(current.provider_id), &[]).await?;
        let due =
            crate::payment_holds::due_at_booking(&txn, auth.tenant_id, (&offer, current.customer_id), now).await?;
        let waits = due.as_ref().is_some_and(|d| d.until.is_some());
        let confirmed = !waits && tenant.settings.confirm_bookings_automatically;
        let before = current.clone();
        let mut change = current.into_active_model();
        change.offer_expires_at = Set(None);
        if confirmed {
            change.status = Set(BookingStatus::Confirmed);
            change.confirmed_at = Set(Some(now));
        }
        change.payment_due_by = Set(due.as_ref().and_then(|d| d.until));
        change.card_fees = Set(due.as_ref().and_then(|d| d.fees).map(|f| f.to_json()));
        change.updated_at = Set(now);
        let row = change.update(&txn).await.map_err(booking_write_error)?;
        if let Some(due) = due {
            crate::payment_holds::open_payment(&txn, auth.tenant_id, &row, due, now).await?;
        }
        let entry = close_entry(&txn, Some(ctx), entry, WaitlistStatus::Booked, now).await?;
        let extra = serde_json::json!({ "waitlistOffer": "accepted", "waitlistEntryId": entry.id });
        let change = (EventKind::BookingStatusChanged, Some(&before), &row);
        announce_with(&txn, ctx, &auth, &tenant, change, Parties::default(), extra).await?;
        // Last: the counter's row stays locked until the commit.
        crate::quota::count_booking(&txn, &tenant, &*self.usage_notices, row.id, now).await?;
        txn.commit().await?;
        Ok(entry.into())
    }

    /// Turns down the offer an entry holds: its time goes to the next
    /// person waiting at once, and the entry is `DECLINED`.
    pub async fn decline_waitlist_offer(&self, ctx: &RequestContext, id: WaitlistEntryId) -> Result<WaitlistEntry> {
        self.end_waitlist_entry(ctx, id, WaitlistStatus::Declined).await
    }

    /// Takes an entry off the waitlist (`LEFT`), freeing the offer it holds,
    /// if any. A repeat answers the entry as it is.
    pub async fn leave_waitlist(&self, ctx: &RequestContext, id: WaitlistEntryId) -> Result<WaitlistEntry> {
        self.end_waitlist_entry(ctx, id, WaitlistStatus::Left).await
    }

    async fn end_waitlist_entry(
        &self,
        ctx: &RequestContext,
        id: WaitlistEntryId,
        to: WaitlistStatus,
    ) -> Result<WaitlistEntry> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingCancelOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let entry = entry_within(&txn, auth.tenant_id, id, &visible).await?;
        if entry.status == to {
            txn.commit().await?;
            return Ok(entry.into());
        }
        match to {
            WaitlistStatus::Declined => check_offer_open(&entry, now)?,
            _ if !entry.status.is_open() => {
                let status = entry.status.as_str().to_lowercase();
                return Err(DomainError::invalid("id", format!("the entry is {status} already")));
            }
            _ => {}
        }
        let offered = match (entry.status, entry.offer_booking_id) {
            (WaitlistStatus::Offered, Some(booking_id)) => {
                Some(Self::booking_for_update(&txn, auth.tenant_id, booking_id).await?)
            }
            _ => None,
        };
        let entry = close_entry(&txn, Some(ctx), entry, to, now).await?;
        let mut freed = None;
        if let Some(current) = offered.filter(crate::waitlist_ends::is_offer) {
            freed = Some(Freed::of(&current));
            let reason = match to {
                WaitlistStatus::Declined => "The waitlist offer was declined.",
                _ => "The customer left the waitlist.",
            };
            free_offer(&txn, ctx, (&auth, current), reason, now).await?;
        }
        txn.commit().await?;
        if let Some(freed) = freed {
            self.offer_freed(auth.tenant_id, freed, now).await;
        }
        Ok(entry.into())
    }

    async fn open_waitlist(
        &self,
        ctx: &RequestContext,
    ) -> Result<(tessera_kernel::context::Authorized, tessera_kernel::txn::Txn, Visible)> {
        self.open_reach(ctx, Permission::BookingRead, Permission::BookingReadOwn, Own::Either, Access::Read).await
    }
}

/// One entry for a change, `NOT_FOUND` unless within `visible`; locked, as
/// offers lock it.
async fn entry_within(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: WaitlistEntryId,
    visible: &Visible,
) -> Result<waitlist_entry::Model> {
    use sea_orm::QuerySelect;
    let row = waitlist_entry::Entity::find_by_id((tenant_id, id)).lock_exclusive().one(txn).await?;
    row.filter(|r| visible.allows_entry(r)).ok_or(not_found("waitlist entry"))
}

/// Cancels the offer `current` whose entry just ended, as the actor's,
/// without a message or a fee.
async fn free_offer(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    (auth, current): (&tessera_kernel::context::Authorized, booking::Model),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Booking> {
    let tenant = tessera_tenant::load_tenant_in_scope(txn, auth.tenant_id).await?;
    let before = current.clone();
    let mut change = current.into_active_model();
    change.status = Set(BookingStatus::Cancelled);
    change.cancelled_at = Set(Some(now));
    change.cancelled_by = Set(auth.actor.map(|a| a.user_id));
    change.cancellation_reason = Set(Some(reason.to_owned()));
    change.refund_minor = Set(Some(0));
    change.updated_at = Set(now);
    let row = change.update(txn).await?;
    let extra = serde_json::json!({ "waitlistOffer": "declined" });
    let change = (EventKind::BookingCancelled, Some(&before), &row);
    announce_with(txn, ctx, auth, &tenant, change, Parties::default(), extra).await?;
    Ok(row.into())
}
