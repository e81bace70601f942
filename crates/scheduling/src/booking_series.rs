//! Recurring appointments: a series (every N weeks on some weekdays, until a
//! date or for a count, as an RFC 5545 rule) booked in one request, with a
//! report of which occurrences were booked and which were not and why.
//! Every occurrence is an ordinary booking made by `booking.rs` (its own
//! transaction, the no-overlap rule, notices, payments, audit), naming its
//! series; one, this and the following, or all of them are then cancelled
//! or moved together.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    BookingId, BookingSeriesId, CustomerId, DomainError, Permission, ProviderId, RequestContext, Result, ServiceId,
    TenantId,
};

use crate::bookable::timezone;
use crate::booking::Placing;
use crate::class_schedules::SkippedOccurrence;
use crate::entity::{booking, booking_series};
use crate::model::{Booking, BookingCustomer, NewBooking};
use crate::reach::Own;
use crate::recurrence::{WeeklyRule, local_instant, occurrences};
use crate::service::{SchedulingService, not_found};

/// The most appointments one series books.
pub const MAX_SERIES_OCCURRENCES: u16 = 52;

/// A series of recurring appointments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSeries {
    /// Id.
    pub id: BookingSeriesId,
    /// The service.
    pub service_id: ServiceId,
    /// The provider.
    pub provider_id: ProviderId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The RFC 5545 rule (`FREQ=WEEKLY;…`) from the first date and time.
    pub rule: String,
    /// The first local date.
    pub first_date: NaiveDate,
    /// The local start, in minutes after midnight.
    pub start_minute: i32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When all of it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<booking_series::Model> for BookingSeries {
    fn from(row: booking_series::Model) -> Self {
        Self {
            id: row.id,
            service_id: row.service_id,
            provider_id: row.provider_id,
            customer_id: row.customer_id,
            rule: row.rule,
            first_date: row.first_date,
            start_minute: row.start_minute,
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
        }
    }
}

/// A series to book: the first appointment (its start is the first
/// occurrence; its idempotency key keys the whole series: a repeat answers
/// the series made first) and how it repeats (until a last date or for a
/// count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBookingSeries {
    /// The first appointment.
    pub booking: NewBooking,
    /// How it repeats; its weekdays include the first start's.
    pub rule: WeeklyRule,
}

/// A series just booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesReport {
    /// The series.
    pub series: BookingSeries,
    /// The occurrences booked.
    pub booked: Vec<Booking>,
    /// The occurrences not booked, and why.
    pub conflicts: Vec<SkippedOccurrence>,
}

/// Which occurrences a change takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesScope {
    /// The one named.
    This,
    /// The one named and every later one.
    ThisAndFollowing,
    /// Every upcoming one.
    All,
}

/// What moving occurrences did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesMove {
    /// The occurrences moved.
    pub moved: Vec<Booking>,
    /// The occurrences left where they were, and why.
    pub conflicts: Vec<SkippedOccurrence>,
}

/// The series made with `key`, if any.
async fn series_by_key(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    key: &str,
) -> Result<Option<booking_series::Model>> {
    Ok(booking_series::Entity::find()
        .filter(booking_series::Column::TenantId.eq(tenant_id))
        .filter(booking_series::Column::IdempotencyKey.eq(key))
        .one(txn)
        .await?)
}

/// What booking `series` came to, for a repeat of the request that made it
/// (`CONFLICT` when the key was used for another request): its bookings,
/// and its occurrences without one as not free when it was booked.
async fn report_of(
    txn: &DatabaseTransaction,
    series: booking_series::Model,
    fingerprint: &str,
) -> Result<SeriesReport> {
    if series.request_fingerprint.as_deref() != Some(fingerprint) {
        return Err(DomainError::Conflict("this idempotency key was used for a different series request".into()));
    }
    let rows = booking::Entity::find()
        .filter(booking::Column::TenantId.eq(series.tenant_id))
        .filter(booking::Column::SeriesId.eq(series.id))
        .order_by_asc(booking::Column::StartsAt)
        .limit(u64::from(MAX_SERIES_OCCURRENCES) * 2)
        .all(txn)
        .await?;
    let tenant = tessera_tenant::load_tenant_in_scope(txn, series.tenant_id).await?;
    let tz = timezone(&tenant)?;
    let first = local_instant(tz, series.first_date, series.start_minute)?;
    let window = (first, first + chrono::Duration::days(3 * 366));
    let starts = occurrences(&series.rule, tz, first, window, MAX_SERIES_OCCURRENCES)?;
    let conflicts = starts
        .into_iter()
        .filter(|at| !rows.iter().any(|row| row.starts_at == *at))
        .map(|starts_at| SkippedOccurrence { starts_at, reason: "was not free when the series was booked".into() })
        .collect();
    Ok(SeriesReport { series: series.into(), booked: rows.into_iter().map(Booking::from).collect(), conflicts })
}

/// A digest of who asked for what series, to tell a repeat from a
/// different request that reuses a key.
fn fingerprint(ctx: &RequestContext, input: &NewBookingSeries) -> String {
    use sha2::Digest;
    let first = &input.booking;
    let mut addons: Vec<String> = first.addon_ids.iter().map(ToString::to_string).collect();
    addons.sort();
    let customer = match &first.customer {
        BookingCustomer::Existing(id) => id.to_string(),
        BookingCustomer::Myself(_) => "myself".to_owned(),
    };
    let rule = &input.rule;
    let canonical = format!(
        "{}|{}|{}|{}|{}|{}|{}|{:?}|{}|{:?}|{:?}",
        ctx.actor().map(|a| a.user_id.to_string()).unwrap_or_default(),
        first.service_id,
        first.provider_id,
        customer,
        first.starts_at.to_rfc3339(),
        addons.join(","),
        first.notes.as_deref().unwrap_or_default().trim(),
        rule.weekdays,
        rule.every_weeks,
        rule.last_date,
        rule.count,
    );
    sha2::Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an occurrence's refusal is reported (its time is taken, not
/// bookable, over the tier's limit) rather than failing the request.
fn reported(err: &DomainError) -> bool {
    matches!(err, DomainError::Conflict(_) | DomainError::InvalidInput { .. } | DomainError::QuotaExceeded { .. })
}

/// The upcoming occurrences of `anchor`'s series `scope` takes, by start.
async fn in_scope(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    anchor: &booking::Model,
    scope: SeriesScope,
    now: DateTime<Utc>,
) -> Result<Vec<booking::Model>> {
    let Some(series_id) = anchor.series_id else {
        return Err(DomainError::invalid("bookingId", "this booking is not part of a series"));
    };
    if scope == SeriesScope::This {
        return Ok(vec![anchor.clone()]);
    }
    let from = if scope == SeriesScope::All { now } else { anchor.starts_at.max(now) };
    let rows = booking::Entity::find()
        .filter(booking::Column::TenantId.eq(tenant_id))
        .filter(booking::Column::SeriesId.eq(series_id))
        .filter(booking::Column::StartsAt.gte(from))
        .order_by_asc(booking::Column::StartsAt)
        .limit(u64::from(MAX_SERIES_OCCURRENCES) * 2)
        .all(txn)
        .await?;
    Ok(rows.into_iter().filter(|row| row.status.is_upcoming()).collect())
}

impl SchedulingService {
    /// Books a series of appointments in one request: each occurrence is an
    /// ordinary booking, made in turn; those whose time is taken (or not
    /// bookable) are reported, not forced. The series itself is audited.
    pub async fn create_booking_series(&self, ctx: &RequestContext, input: NewBookingSeries) -> Result<SeriesReport> {
        let key = match input.booking.idempotency_key.as_deref().map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 100 => {
                return Err(DomainError::invalid("idempotencyKey", "must be 1 to 100 characters"));
            }
            other => other.map(str::to_owned),
        };
        let fingerprint = fingerprint(ctx, &input);
        match self.try_create_booking_series(ctx, input, key.as_deref(), &fingerprint).await {
            // The same key raced in; the other request made the series.
            Err(DomainError::Database(_)) if key.is_some() => {
                let (auth, txn, _) = self.open_booking_create(ctx, Access::Read).await?;
                let earlier = series_by_key(&txn, auth.tenant_id, key.as_deref().unwrap_or_default()).await?;
                let report = match earlier {
                    Some(series) => Some(report_of(&txn, series, &fingerprint).await?),
                    None => None,
                };
                txn.commit().await?;
                report.ok_or_else(|| {
                    DomainError::Conflict("this idempotency key is being used by another request".into())
                })
            }
            other => other,
        }
    }

    async fn try_create_booking_series(
        &self,
        ctx: &RequestContext,
        input: NewBookingSeries,
        key: Option<&str>,
        fingerprint: &str,
    ) -> Result<SeriesReport> {
        let NewBookingSeries { booking: first, rule } = input;
        let (auth, txn, visible) = self.open_booking_create(ctx, Access::Write).await?;
        if let Some(key) = key
            && let Some(series) = series_by_key(&txn, auth.tenant_id, key).await?
        {
            let report = report_of(&txn, series, fingerprint).await?;
            txn.commit().await?;
            return Ok(report);
        }
        let now = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        let offer =
            Self::bookable_offer(&txn, auth.tenant_id, first.service_id, Some(first.provider_id), &first.addon_ids)
                .await?;
        offer.check_appointment()?;
        if rule.count.is_none() && rule.last_date.is_none() {
            return Err(DomainError::invalid("count", "a series ends: give a last date or a count"));
        }
        let (customer_id, _) =
            crate::booking::booking_customer(&txn, &auth, &visible, (&first.customer, Some(first.provider_id)), now)
                .await?;
        let local = first.starts_at.with_timezone(&tz);
        let start_minute = i32::try_from(local.hour() * 60 + local.minute()).unwrap_or_default();
        let rule_text = rule.to_rrule(tz, first.starts_at)?;
        let window = (first.starts_at, first.starts_at + chrono::Duration::days(3 * 366));
        let starts = occurrences(&rule_text, tz, first.starts_at, window, MAX_SERIES_OCCURRENCES + 1)?;
        if starts.len() > usize::from(MAX_SERIES_OCCURRENCES) {
            let most = MAX_SERIES_OCCURRENCES;
            return Err(DomainError::invalid("count", format!("a series books at most {most} appointments")));
        }
        let row = booking_series::Model {
            tenant_id: auth.tenant_id,
            id: BookingSeriesId::generate(now),
            service_id: first.service_id,
            provider_id: first.provider_id,
            customer_id,
            rule: rule_text,
            first_date: local.date_naive(),
            start_minute,
            created_by: auth.actor.map(|a| a.user_id),
            created_at: now,
            cancelled_at: None,
            idempotency_key: key.map(str::to_owned),
            request_fingerprint: key.map(|_| fingerprint.to_owned()),
        };
        booking_series::Entity::insert(booking_series::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        let snapshot = serde_json::json!({
            "serviceId": row.service_id, "providerId": row.provider_id, "customerId": row.customer_id,
            "rule": row.rule, "firstDate": row.first_date, "startMinute": row.start_minute,
        });
        let entry = AuditEntry::change("booking_series.created", "booking_series", row.id, None, Some(&snapshot))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;

        let placing = Placing { seat: None, series: Some(row.id) };
        let (mut booked, mut conflicts) = (Vec::new(), Vec::new());
        for starts_at in starts {
            let occurrence = NewBooking {
                customer: BookingCustomer::Existing(customer_id),
                starts_at,
                idempotency_key: None,
                ..first.clone()
            };
            match self.create_placed_booking(ctx, occurrence, placing).await {
                Ok((made, _)) => booked.push(made),
                Err(err) if reported(&err) => conflicts.push(SkippedOccurrence { starts_at, reason: err.to_string() }),
                Err(err) => return Err(err),
            }
        }
        Ok(SeriesReport { series: row.into(), booked, conflicts })
    }

    /// Cancels one occurrence, it and the following ones, or every upcoming
    /// one of its series, in one transaction, each as `cancelBooking` would
    /// (refund by the policy, notices); all of them also closes the series.
    pub async fn cancel_booking_series(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        scope: SeriesScope,
        reason: Option<String>,
    ) -> Result<Vec<Booking>> {
        let reason = crate::model::parse_text("reason", reason.as_deref(), 500)?;
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingCancelOwn, Own::Customer, Access::Write)
            .await?;
        let now = ctx.now();
        let anchor = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        let rows = in_scope(&txn, auth.tenant_id, &anchor, scope, now).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let customers_own = !ctx.has(Permission::BookingManage);
        let mut cancelled = Vec::with_capacity(rows.len());
        for row in rows {
            let done =
                crate::booking::cancel_row(&txn, (ctx, &auth, &tenant), row, reason.clone(), customers_own).await?;
            cancelled.push(Booking::from(done));
        }
        if let (SeriesScope::All, Some(series_id)) = (scope, anchor.series_id) {
            let series = booking_series::Entity::find_by_id((auth.tenant_id, series_id))
                .one(&txn)
                .await?
                .ok_or(not_found("booking series"))?;
            let mut series = series.into_active_model();
            series.cancelled_at = Set(Some(now));
            series.update(&txn).await?;
            let what = serde_json::json!({ "cancelled": cancelled.len() });
            let entry = AuditEntry::change("booking_series.cancelled", "booking_series", series_id, None, Some(&what))?;
            tessera_audit::append(&txn, ctx, &auth, entry).await?;
        }
        txn.commit().await?;
        Ok(cancelled)
    }

    /// Moves one occurrence, it and the following ones, or every upcoming
    /// one of its series: each keeps its place in the series and moves by
    /// as many days, to the new local time, as the named one moves to
    /// `starts_at`, each as `rescheduleBooking` would; those whose new time
    /// is taken stay and are reported.
    pub async fn reschedule_booking_series(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        scope: SeriesScope,
        starts_at: DateTime<Utc>,
    ) -> Result<SeriesMove> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::BookingRescheduleOwn, Own::Customer, Access::Read)
            .await?;
        let now = ctx.now();
        let anchor = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        let rows = in_scope(&txn, auth.tenant_id, &anchor, scope, now).await?;
        let tz = timezone(&tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?)?;
        txn.commit().await?;
        let (old, new) = (anchor.starts_at.with_timezone(&tz), starts_at.with_timezone(&tz));
        let days = new.date_naive() - old.date_naive();
        let minute = i32::try_from(new.hour() * 60 + new.minute()).unwrap_or_default();
        let (mut moved, mut conflicts) = (Vec::new(), Vec::new());
        for row in rows {
            let to = if row.id == anchor.id {
                starts_at
            } else {
                local_instant(tz, row.starts_at.with_timezone(&tz).date_naive() + days, minute)?
            };
            match self.reschedule_booking(ctx, row.id, to, None).await {
                Ok(done) => moved.push(done),
                Err(err) if reported(&err) => {
                    conflicts.push(SkippedOccurrence { starts_at: to, reason: err.to_string() })
                }
                Err(err) => return Err(err),
            }
        }
        Ok(SeriesMove { moved, conflicts })
    }

    /// One series, for whoever may read its customer's bookings.
    pub async fn booking_series(&self, ctx: &RequestContext, id: BookingSeriesId) -> Result<Option<BookingSeries>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let row = booking_series::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?;
        txn.commit().await?;
        Ok(row.filter(|s| visible.allows_booking(s.provider_id, s.customer_id)).map(BookingSeries::from))
    }
}
