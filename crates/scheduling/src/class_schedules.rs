//! Recurring classes: a class taught every N weeks on some weekdays at a
//! local time, whose sessions are generated as far ahead as the business
//! takes bookings, when the schedule is made and then by the housekeeping
//! job as days pass ([`SchedulingService::extend_class_schedules`]). An
//! occurrence the instructor cannot teach (not working, already booked or
//! teaching) is skipped and reported, never forced.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{
    ClassScheduleId, DomainError, Permission, ProviderId, RequestContext, Result, ServiceId, TenantId,
};
use tessera_tenant::Tenant;

use crate::bookable::timezone;
use crate::classes::{ClassSession, NewClassSession, SCHEDULED, SessionSpec, class_terms, insert_session};
use crate::entity::{class_schedule, class_session};
use crate::recurrence::{MAX_OCCURRENCES, WeeklyRule, local_instant, occurrences};
use crate::service::{SchedulingService, not_found};

/// The most schedules one list answers.
const MAX_SCHEDULES_LISTED: u64 = 100;

/// The most schedules one run of the job extends.
const SCHEDULES_PER_RUN: u64 = 100;

/// A recurring class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSchedule {
    /// Id.
    pub id: ClassScheduleId,
    /// The class.
    pub service_id: ServiceId,
    /// The instructor.
    pub provider_id: ProviderId,
    /// The RFC 5545 rule (`FREQ=WEEKLY;…`), from the first date and time.
    pub rule: String,
    /// The first local date.
    pub first_date: NaiveDate,
    /// The local start, in minutes after midnight.
    pub start_minute: i32,
    /// Seats of each session.
    pub capacity: i32,
    /// The most seats one customer books in a session.
    pub seats_per_customer: i32,
    /// Sessions exist for its occurrences before this instant.
    pub generated_until: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stopped generating sessions.
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<class_schedule::Model> for ClassSchedule {
    fn from(row: class_schedule::Model) -> Self {
        Self {
            id: row.id,
            service_id: row.service_id,
            provider_id: row.provider_id,
            rule: row.rule,
            first_date: row.first_date,
            start_minute: row.start_minute,
            capacity: row.capacity,
            seats_per_customer: row.seats_per_customer,
            generated_until: row.generated_until,
            created_at: row.created_at,
            ended_at: row.ended_at,
        }
    }
}

/// A recurring class to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClassSchedule {
    /// The class.
    pub service_id: ServiceId,
    /// The instructor.
    pub provider_id: ProviderId,
    /// When it repeats.
    pub rule: WeeklyRule,
    /// The first local date (today or later).
    pub first_date: NaiveDate,
    /// The local start, in minutes after midnight.
    pub start_minute: i32,
    /// Seats; the service's class capacity when absent.
    pub capacity: Option<i32>,
    /// The most seats one customer books (1 when absent).
    pub seats_per_customer: Option<i32>,
}

/// An occurrence that got no session, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedOccurrence {
    /// When it would have started.
    pub starts_at: DateTime<Utc>,
    /// Why not (the refusal's message).
    pub reason: String,
}

/// A schedule just made, with the sessions it generated and the
/// occurrences it skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledClasses {
    /// The schedule.
    pub schedule: ClassSchedule,
    /// Its sessions so far.
    pub sessions: Vec<ClassSession>,
    /// Its occurrences without a session.
    pub skipped: Vec<SkippedOccurrence>,
}

/// Generates in `txn` the sessions of `schedule` from where it stopped to
/// the business's booking horizon (at most [`MAX_OCCURRENCES`] at a time:
/// the job goes on from the last), each in a savepoint so a refused one
/// changes nothing; moves `generated_until`.
async fn generate(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    schedule: class_schedule::Model,
    now: DateTime<Utc>,
) -> Result<(class_schedule::Model, Vec<ClassSession>, Vec<SkippedOccurrence>)> {
    let tz = timezone(tenant)?;
    let first = local_instant(tz, schedule.first_date, schedule.start_minute)?;
    let from = schedule.generated_until.unwrap_or(first).max(now);
    let horizon = now + Duration::days(i64::from(tenant.settings.booking_horizon_days));
    let starts = occurrences(&schedule.rule, tz, first, (from, horizon), MAX_OCCURRENCES)?;
    let reached = match starts.last() {
        Some(last) if starts.len() == usize::from(MAX_OCCURRENCES) => *last + Duration::seconds(1),
        _ => horizon.max(from),
    };
    let (mut sessions, mut skipped) = (Vec::new(), Vec::new());
    for starts_at in starts {
        let spec = SessionSpec {
            input: NewClassSession {
                service_id: schedule.service_id,
                provider_id: schedule.provider_id,
                starts_at,
                capacity: Some(schedule.capacity),
                seats_per_customer: Some(schedule.seats_per_customer),
            },
            schedule_id: Some(schedule.id),
            created_by: schedule.created_by,
        };
        let savepoint = txn.begin().await?;
        match insert_session(&savepoint, tenant, spec, now).await {
            Ok(row) => {
                savepoint.commit().await?;
                sessions.push(ClassSession::from(row));
            }
            // The instructor does not work then or is taken, or the class
            // or instructor is no longer bookable.
            Err(err @ (DomainError::Conflict(_) | DomainError::InvalidInput { .. } | DomainError::NotFound { .. })) => {
                savepoint.rollback().await?;
                skipped.push(SkippedOccurrence { starts_at, reason: err.to_string() });
            }
            Err(err) => return Err(err),
        }
    }
    let mut row = schedule.into_active_model();
    row.generated_until = Set(Some(reached));
    Ok((row.update(txn).await?, sessions, skipped))
}

/// The audit record of a schedule.
fn audited(row: &class_schedule::Model) -> serde_json::Value {
    serde_json::json!({
        "serviceId": row.service_id,
        "providerId": row.provider_id,
        "rule": row.rule,
        "firstDate": row.first_date,
        "startMinute": row.start_minute,
        "capacity": row.capacity,
        "seatsPerCustomer": row.seats_per_customer,
        "endedAt": row.ended_at,
    })
}

impl SchedulingService {
    /// Makes a recurring class and generates its sessions as far ahead as
    /// the business takes bookings (`provider:manage`, tenant-wide or on
    /// the instructor); occurrences the instructor cannot teach are skipped
    /// and reported. Audited.
    pub async fn create_class_schedule(
        &self,
        ctx: &RequestContext,
        input: NewClassSchedule,
    ) -> Result<ScheduledClasses> {
        let (auth, txn) =
            self.open_on_provider(ctx, Permission::ProviderManage, input.provider_id, Access::Write).await?;
        let now = ctx.now();
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
        let tz = timezone(&tenant)?;
        if input.first_date < now.with_timezone(&tz).date_naive() {
            return Err(DomainError::invalid("firstDate", "is in the past"));
        }
        if !(0..24 * 60).contains(&input.start_minute) {
            return Err(DomainError::invalid("startTime", "must be a time of day before 24:00"));
        }
        let first = local_instant(tz, input.first_date, input.start_minute)?;
        let rule = input.rule.to_rrule(tz, first)?;
        let terms = (input.capacity, input.seats_per_customer);
        let (_, capacity, seats_per_customer) =
            class_terms(&txn, auth.tenant_id, (input.service_id, input.provider_id), terms).await?;
        let row = class_schedule::Model {
            tenant_id: auth.tenant_id,
            id: ClassScheduleId::generate(now),
            service_id: input.service_id,
            provider_id: input.provider_id,
            rule,
            first_date: input.first_date,
            start_minute: input.start_minute,
            capacity,
            seats_per_customer,
            generated_until: None,
            created_by: auth.actor.map(|a| a.user_id),
            created_at: now,
            ended_at: None,
        };
        class_schedule::Entity::insert(class_schedule::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        let (row, sessions, skipped) = generate(&txn, &tenant, row, now).await?;
        let mut snapshot = audited(&row);
        snapshot["sessions"] = serde_json::json!(sessions.len());
        snapshot["skipped"] = serde_json::json!(skipped.len());
        let entry = AuditEntry::change("class_schedule.created", "class_schedule", row.id, None, Some(&snapshot))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(ScheduledClasses { schedule: row.into(), sessions, skipped })
    }

    /// Stops a recurring class: no more sessions are generated, and its
    /// future sessions nobody booked are cancelled; those with seats
    /// booked stay (cancel them one by one). `provider:manage`, tenant-wide
    /// or on the instructor. Audited.
    pub async fn end_class_schedule(&self, ctx: &RequestContext, id: ClassScheduleId) -> Result<ClassSchedule> {
        let (auth, _) = ctx.authorize_reach(Permission::ProviderManage, Permission::ProviderManageOwn)?;
        let provider_id = {
            let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
            let found = class_schedule::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?;
            txn.commit().await?;
            found.ok_or(not_found("class schedule"))?.provider_id
        };
        let (auth, txn) = self.open_on_provider(ctx, Permission::ProviderManage, provider_id, Access::Write).await?;
        let now = ctx.now();
        let current = class_schedule::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(not_found("class schedule"))?;
        if current.ended_at.is_some() {
            return Err(DomainError::invalid("id", "this class schedule has ended already"));
        }
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.ended_at = Set(Some(now));
        let row = row.update(&txn).await?;
        let empty = Condition::all()
            .add(class_session::Column::TenantId.eq(auth.tenant_id))
            .add(class_session::Column::ScheduleId.eq(id))
            .add(class_session::Column::Status.eq(SCHEDULED))
            .add(class_session::Column::StartsAt.gt(now))
            .add(class_session::Column::SeatsTaken.eq(0));
        class_session::Entity::update_many()
            .col_expr(class_session::Column::Status, "cancelled".into())
            .col_expr(class_session::Column::CancelledAt, now.into())
            .col_expr(class_session::Column::CancellationReason, "The class schedule ended.".into())
            .col_expr(class_session::Column::UpdatedAt, now.into())
            .filter(empty)
            .exec(&txn)
            .await?;
        let entry =
            AuditEntry::change("class_schedule.ended", "class_schedule", id, Some(&before), Some(&audited(&row)))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The recurring classes, of one instructor or all, newest first, at
    /// most 100: `provider:read`.
    pub async fn class_schedules(
        &self,
        ctx: &RequestContext,
        provider_id: Option<ProviderId>,
    ) -> Result<Vec<ClassSchedule>> {
        let (auth, txn) = self.open(ctx, Permission::ProviderRead, Access::Read).await?;
        let mut select = class_schedule::Entity::find().filter(class_schedule::Column::TenantId.eq(auth.tenant_id));
        if let Some(provider_id) = provider_id {
            select = select.filter(class_schedule::Column::ProviderId.eq(provider_id));
        }
        let rows =
            select.order_by_desc(class_schedule::Column::CreatedAt).limit(MAX_SCHEDULES_LISTED).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(ClassSchedule::from).collect())
    }

    /// Generates the sessions of every business's recurring classes that
    /// `now` brought within their booking horizon (the housekeeping job);
    /// skipped occurrences are audited as the system's. Answers how many
    /// sessions it made.
    pub async fn extend_class_schedules(&self, now: DateTime<Utc>) -> Result<usize> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let due: Vec<(TenantId, ClassScheduleId)> = class_schedule::Entity::find()
            .select_only()
            .columns([class_schedule::Column::TenantId, class_schedule::Column::Id])
            .filter(class_schedule::Column::EndedAt.is_null())
            // A booking horizon is at most two years: a schedule generated
            // that far has nothing to add; the least advanced go first.
            .filter(class_schedule::Column::GeneratedUntil.lt(now + Duration::days(731)))
            .order_by_asc(class_schedule::Column::GeneratedUntil)
            .limit(SCHEDULES_PER_RUN)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut made = 0;
        for (tenant_id, id) in due {
            // One schedule that cannot be extended holds up no other.
            match self.extend_class_schedule(tenant_id, id, now).await {
                Ok(sessions) => made += sessions,
                Err(err) => {
                    tracing::warn!(%tenant_id, schedule = %id, error = %err, "extending a class schedule failed")
                }
            }
        }
        Ok(made)
    }

    /// One schedule's part of [`Self::extend_class_schedules`], in its own
    /// transaction.
    async fn extend_class_schedule(
        &self,
        tenant_id: TenantId,
        id: ClassScheduleId,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        // Locked: another replica's job extending it at once waits, then
        // finds it extended.
        let found = class_schedule::Entity::find_by_id((tenant_id, id)).lock_exclusive().one(&txn).await?;
        let Some(schedule) = found.filter(|s| s.ended_at.is_none()) else { return Ok(0) };
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, tenant_id).await?;
        let (_, sessions, skipped) = generate(&txn, &tenant, schedule, now).await?;
        for skip in &skipped {
            tracing::info!(%tenant_id, schedule = %id, at = %skip.starts_at, reason = %skip.reason, "a class occurrence was skipped");
            let what = serde_json::json!({ "startsAt": skip.starts_at, "reason": skip.reason });
            let entry =
                AuditEntry::change("class_schedule.occurrence_skipped", "class_schedule", id, None, Some(&what))?;
            tessera_audit::append_by(&txn, None, tenant_id, now, entry).await?;
        }
        txn.commit().await?;
        Ok(sessions.len())
    }
}
