//! The catalogue's providers: who works here, their weekly hours and dated
//! exceptions, and the account a provider may be linked to. Services and
//! add-ons are in `service_catalog.rs`, customers in `customers.rs`.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::txn::Txn;
use tessera_kernel::{
    DomainError, Page, PageRequest, Permission, ProviderId, RequestContext, Result, ScheduleExceptionId, TenantId,
    UserId,
};

use crate::entity::{provider, schedule_exception, working_hours};
use crate::model::{
    DayWindow, ExceptionKind, OpeningMode, Provider, ProviderInput, ProviderPatch, ProviderType, ScheduleException,
    WeeklyHours, WeeklyInterval, parse_email, parse_name, parse_phone, parse_resource_type, parse_text,
};
use tessera_audit::AuditEntry;

use crate::reach::{Own, Visible};
use crate::service::{SchedulingService, not_found};

/// A dated exception to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionInput {
    /// The provider, or `None` for everyone (a holiday).
    pub provider_id: Option<ProviderId>,
    /// The local date.
    pub date: NaiveDate,
    /// Closed or open.
    pub kind: ExceptionKind,
    /// For an opening, whether it replaces or adds to the weekly hours
    /// (replaces when `None`); must be `None` for a closure.
    pub opening: Option<OpeningMode>,
    /// The window; `None` = the whole day (closed only).
    pub window: Option<(i32, i32)>,
    /// Why.
    pub reason: Option<String>,
}

impl SchedulingService {
    // ---- providers -------------------------------------------------------------

    /// Adds a provider.
    pub async fn create_provider(&self, ctx: &RequestContext, input: ProviderInput) -> Result<Provider> {
        let (auth, txn) = self.open(ctx, Permission::ProviderManage, Access::Write).await?;
        let now = ctx.now();
        let user_id = match input.user_id.flatten() {
            Some(_) if input.resource_type.is_some() => {
                return Err(DomainError::invalid("userId", "a resource has no account of its own"));
            }
            Some(user_id) => Some(linkable_account(&txn, auth.tenant_id, user_id).await?),
            None => None,
        };
        let row = provider::ActiveModel {
            id: Set(ProviderId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            user_id: Set(user_id),
            name: Set(parse_name("name", &input.name)?),
            title: Set(parse_text("title", input.title.as_deref(), 200)?),
            provider_type: Set(input.provider_type.unwrap_or(ProviderType::Employee)),
            email: Set(parse_email("email", input.email.as_deref())?),
            phone: Set(parse_phone("phone", input.phone.as_deref())?),
            active: Set(input.active.unwrap_or(true)),
            rating_sum: Set(0),
            review_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            resource_type: Set(input.resource_type.as_deref().map(parse_resource_type).transpose()?),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, ALREADY_LINKED))?;
        let entry = AuditEntry::change("provider.created", "provider", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        // A room is no staff member: the tier's providers count people.
        if row.active && row.resource_type.is_none() {
            let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
            crate::quota::count_provider(&txn, &tenant, &*self.usage_notices, row.id, true, now).await?;
        }
        txn.commit().await?;
        Ok(row.into())
    }

    /// Changes a provider's details (tenant-wide `provider:manage`, or granted on
    /// this provider).
    pub async fn update_provider(
        &self,
        ctx: &RequestContext,
        id: ProviderId,
        patch: ProviderPatch,
    ) -> Result<Provider> {
        let (auth, txn) = self.open_on_provider(ctx, Permission::ProviderManage, id, Access::Write).await?;
        let current =
            provider::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?.ok_or(not_found("provider"))?;
        let linked = current.user_id;
        let before = current.clone();
        let mut row = current.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(parse_name("name", name)?);
        }
        if let Some(title) = &patch.title {
            row.title = Set(parse_text("title", title.as_deref(), 200)?);
        }
        if let Some(kind) = patch.provider_type {
            row.provider_type = Set(kind);
        }
        if let Some(email) = &patch.email {
            row.email = Set(parse_email("email", email.as_deref())?);
        }
        if let Some(phone) = &patch.phone {
            row.phone = Set(parse_phone("phone", phone.as_deref())?);
        }
        if let Some(active) = patch.active {
            row.active = Set(active);
        }
        if let Some(link) = patch.user_id
            && link != linked
        {
            if before.resource_type.is_some() {
                return Err(DomainError::invalid("userId", "a resource has no account of its own"));
            }
            // Linking decides whose calendar this is; a grant on this provider alone
            // does not reach that far.
            if !ctx.has(Permission::ProviderManage) {
                return Err(DomainError::Forbidden("linking an account needs provider:manage tenant-wide".into()));
            }
            row.user_id = Set(match link {
                Some(user_id) => Some(linkable_account(&txn, auth.tenant_id, user_id).await?),
                None => None,
            });
        }
        row.updated_at = Set(ctx.now());
        let row = row.update(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, ALREADY_LINKED))?;
        let entry = AuditEntry::change("provider.updated", "provider", id, Some(&before), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        if row.active != before.active && row.resource_type.is_none() {
            let tenant = tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?;
            let notices = &*self.usage_notices;
            crate::quota::count_provider(&txn, &tenant, notices, id, row.active, row.updated_at).await?;
        }
        txn.commit().await?;
        Ok(row.into())
    }

    /// The tenant's providers (its people, or with `resources` its rooms
    /// and equipment), optionally only the active ones.
    pub async fn providers(
        &self,
        ctx: &RequestContext,
        page: &PageRequest,
        (active, resources): (Option<bool>, bool),
    ) -> Result<Page<Provider>> {
        let keyset = page.keyset()?;
        let (auth, txn) = self.open(ctx, Permission::ProviderRead, Access::Read).await?;
        let mut select = provider::Entity::find().filter(provider::Column::TenantId.eq(auth.tenant_id));
        select = match resources {
            true => select.filter(provider::Column::ResourceType.is_not_null()),
            false => select.filter(provider::Column::ResourceType.is_null()),
        };
        if let Some(active) = active {
            select = select.filter(provider::Column::Active.eq(active));
        }
        let rows = keyset.apply(select, provider::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Provider::from))
    }

    /// Providers by id (those of the request's tenant only).
    pub async fn providers_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[ProviderId],
    ) -> Result<HashMap<ProviderId, Provider>> {
        let (auth, txn) = self.open(ctx, Permission::ProviderRead, Access::Read).await?;
        let rows = provider::Entity::find()
            .filter(provider::Column::TenantId.eq(auth.tenant_id))
            .filter(provider::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.id, Provider::from(r))).collect())
    }

    /// Replaces a provider's weekly hours. Windows of one day must not overlap.
    /// Needs `provider:manage` tenant-wide or on this provider (a stylist's own).
    pub async fn set_working_hours(
        &self,
        ctx: &RequestContext,
        provider_id: ProviderId,
        intervals: Vec<WeeklyHours>,
    ) -> Result<Vec<WeeklyInterval>> {
        let mut parsed = Vec::with_capacity(intervals.len());
        for WeeklyHours { weekday, start_minute, end_minute } in intervals {
            let weekday = u8::try_from(weekday)
                .ok()
                .filter(|d| *d <= 6)
                .ok_or_else(|| DomainError::invalid("weekday", "must be 0 (Monday) to 6 (Sunday)"))?;
            parsed.push(WeeklyInterval { weekday, window: DayWindow::new("intervals", start_minute, end_minute)? });
        }
        parsed.sort();
        if parsed.windows(2).any(|p| p[0].weekday == p[1].weekday && p[1].window.start_minute < p[0].window.end_minute)
        {
            return Err(DomainError::invalid("intervals", "windows of the same day must not overlap"));
        }
        let (auth, txn) = self.open_schedule(ctx, provider_id, Access::Write).await?;
        provider::Entity::find_by_id((auth.tenant_id, provider_id)).one(&txn).await?.ok_or(not_found("provider"))?;
        let previous: Vec<WeeklyInterval> = working_hours::Entity::find()
            .filter(working_hours::Column::TenantId.eq(auth.tenant_id))
            .filter(working_hours::Column::ProviderId.eq(provider_id))
            .all(&txn)
            .await?
            .iter()
            .map(WeeklyInterval::from)
            .collect();
        working_hours::Entity::delete_many()
            .filter(working_hours::Column::TenantId.eq(auth.tenant_id))
            .filter(working_hours::Column::ProviderId.eq(provider_id))
            .exec(&txn)
            .await?;
        let now = ctx.now();
        if !parsed.is_empty() {
            let rows = parsed.iter().map(|i| working_hours::ActiveModel {
                id: Set(uuid_v7_at(now)),
                tenant_id: Set(auth.tenant_id),
                provider_id: Set(provider_id),
                weekday: Set(i16::from(i.weekday)),
                start_minute: Set(i.window.start_minute),
                end_minute: Set(i.window.end_minute),
            });
            working_hours::Entity::insert_many(rows).exec(&txn).await?;
        }
        let hours = |intervals: &[WeeklyInterval]| {
            let list: Vec<[i64; 3]> = intervals
                .iter()
                .map(|i| [i64::from(i.weekday), i64::from(i.window.start_minute), i64::from(i.window.end_minute)])
                .collect();
            serde_json::json!({ "weeklyHours": list })
        };
        let (before, after) = (hours(&previous), hours(&parsed));
        let entry = AuditEntry::change("provider.hours_set", "provider", provider_id, Some(&before), Some(&after))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(parsed)
    }

    /// Weekly hours of several providers.
    pub async fn working_hours_of(
        &self,
        ctx: &RequestContext,
        ids: &[ProviderId],
    ) -> Result<HashMap<ProviderId, Vec<WeeklyInterval>>> {
        let (auth, txn) = self.open(ctx, Permission::ProviderRead, Access::Read).await?;
        let rows = working_hours::Entity::find()
            .filter(working_hours::Column::TenantId.eq(auth.tenant_id))
            .filter(working_hours::Column::ProviderId.is_in(ids.iter().copied()))
            .order_by_asc(working_hours::Column::Weekday)
            .order_by_asc(working_hours::Column::StartMinute)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_provider: HashMap<ProviderId, Vec<WeeklyInterval>> = HashMap::new();
        for row in &rows {
            by_provider.entry(row.provider_id).or_default().push(row.into());
        }
        Ok(by_provider)
    }

    /// Adds time off, a holiday (no provider) or special opening hours. A provider's
    /// own exception needs `provider:manage` on them (or `provider:manage_own`, for
    /// the provider linked to the actor); a tenant-wide one, everywhere.
    pub async fn add_exception(&self, ctx: &RequestContext, input: ExceptionInput) -> Result<ScheduleException> {
        let window = input.window.map(|(s, e)| DayWindow::new("window", s, e)).transpose()?;
        let adds_to_weekly_hours = match (input.kind, input.opening) {
            (ExceptionKind::Open, _) if window.is_none() => {
                return Err(DomainError::invalid("window", "special opening hours need a window"));
            }
            (ExceptionKind::Open, opening) => opening == Some(OpeningMode::AddToWeeklyHours),
            (ExceptionKind::Closed, None) => false,
            (ExceptionKind::Closed, Some(_)) => {
                return Err(DomainError::invalid("openingMode", "only special opening hours have an opening mode"));
            }
        };
        let (auth, txn) = match input.provider_id {
            Some(provider_id) => self.open_schedule(ctx, provider_id, Access::Write).await?,
            None => self.open(ctx, Permission::ProviderManage, Access::Write).await?,
        };
        if let Some(provider_id) = input.provider_id {
            provider::Entity::find_by_id((auth.tenant_id, provider_id))
                .one(&txn)
                .await?
                .ok_or(not_found("provider"))?;
        }
        let row = schedule_exception::ActiveModel {
            id: Set(ScheduleExceptionId(uuid_v7_at(ctx.now()))),
            tenant_id: Set(auth.tenant_id),
            provider_id: Set(input.provider_id),
            date: Set(input.date),
            kind: Set(input.kind),
            adds_to_weekly_hours: Set(adds_to_weekly_hours),
            start_minute: Set(window.map(|w| w.start_minute)),
            end_minute: Set(window.map(|w| w.end_minute)),
            reason: Set(parse_text("reason", input.reason.as_deref(), 500)?),
            created_at: Set(ctx.now()),
        }
        .insert(&txn)
        .await?;
        let entry = AuditEntry::change("schedule_exception.added", "schedule_exception", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Removes an exception; `NOT_FOUND` when it is not the tenant's. Needs the same
    /// right as adding it (a provider's own time off: `provider:manage_own`).
    pub async fn remove_exception(&self, ctx: &RequestContext, id: ScheduleExceptionId) -> Result<()> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::ProviderManage, Permission::ProviderManageOwn, Own::Provider, Access::Write)
            .await?;
        let existing = schedule_exception::Entity::find_by_id((auth.tenant_id, id))
            .one(&txn)
            .await?
            .ok_or(not_found("schedule exception"))?;
        let allowed = match existing.provider_id {
            Some(provider_id) => visible.allows_provider(provider_id),
            None => visible == Visible::All,
        };
        if !allowed {
            return Err(DomainError::Forbidden("missing permission provider:manage".into()));
        }
        let deleted = schedule_exception::Entity::delete_many()
            .filter(schedule_exception::Column::TenantId.eq(auth.tenant_id))
            .filter(schedule_exception::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(not_found("schedule exception"));
        }
        let entry = AuditEntry::change("schedule_exception.removed", "schedule_exception", id, Some(&existing), None)?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Exceptions between two local dates (inclusive): a provider's and the
    /// tenant-wide ones, or all when no provider is named.
    pub async fn exceptions(
        &self,
        ctx: &RequestContext,
        provider_id: Option<ProviderId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ScheduleException>> {
        if to < from || (to - from).num_days() > 366 {
            return Err(DomainError::invalid("to", "must be on or after from, within a year"));
        }
        let (auth, txn) = self.open(ctx, Permission::ProviderRead, Access::Read).await?;
        let mut select = schedule_exception::Entity::find()
            .filter(schedule_exception::Column::TenantId.eq(auth.tenant_id))
            .filter(schedule_exception::Column::Date.between(from, to));
        if let Some(provider_id) = provider_id {
            select = select.filter(
                Condition::any()
                    .add(schedule_exception::Column::ProviderId.eq(provider_id))
                    .add(schedule_exception::Column::ProviderId.is_null()),
            );
        }
        let rows = select.order_by_asc(schedule_exception::Column::Date).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(ScheduleException::from).collect())
    }
}

impl SchedulingService {
    /// Checks the right to change one provider's hours and time off:
    /// `provider:manage` tenant-wide or granted on that provider, or
    /// `provider:manage_own` when it is the provider linked to the actor.
    async fn open_schedule(
        &self,
        ctx: &RequestContext,
        provider_id: ProviderId,
        access: Access,
    ) -> Result<(Authorized, Txn)> {
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::ProviderManage, Permission::ProviderManageOwn, Own::Provider, access)
            .await?;
        if !visible.allows_provider(provider_id) {
            return Err(DomainError::Forbidden(
                "missing permission provider:manage on this provider (provider:manage_own covers only your own)".into(),
            ));
        }
        Ok((auth, txn))
    }
}

pub(crate) const ALREADY_LINKED: &str = "that account is already linked to another record of this kind in the tenant";

/// `user_id`, once checked to belong to the tenant: only members can be linked to
/// a provider or a customer record.
pub(crate) async fn linkable_account(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<UserId> {
    if tessera_tenant::is_member(txn, tenant_id, user_id).await? {
        Ok(user_id)
    } else {
        Err(DomainError::invalid("userId", "must be a member of this tenant"))
    }
}
