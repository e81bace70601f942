//! The service menu: services with their price, duration and buffers, and the
//! add-ons offered with each. Deleting a service is soft, so bookings keep it.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use tessera_kernel::db::Access;
use tessera_kernel::{AddonId, Page, PageRequest, Permission, RequestContext, Result, ServiceId, TenantId};

use crate::entity::{service, service_addon};
use crate::model::{
    Addon, AddonInput, AddonPatch, Service, ServiceInput, ServicePatch, parse_capacity, parse_currency, parse_minutes,
    parse_name, parse_need, parse_price, parse_text,
};
use tessera_audit::AuditEntry;

use crate::service::{SchedulingService, not_found};

/// A service that is not deleted, for a change.
async fn live_service(txn: &DatabaseTransaction, tenant_id: TenantId, id: ServiceId) -> Result<service::Model> {
    service::Entity::find_by_id((tenant_id, id))
        .filter(service::Column::DeletedAt.is_null())
        .one(txn)
        .await?
        .ok_or(not_found("service"))
}

impl SchedulingService {
    // ---- services and add-ons --------------------------------------------------

    fn service_fields(input: &ServiceInput) -> Result<(String, Option<String>, i64, i32, i32, i32)> {
        Ok((
            parse_name("name", &input.name)?,
            parse_text("description", input.description.as_deref(), 2000)?,
            parse_price("priceMinor", input.price_minor)?,
            parse_minutes("durationMinutes", input.duration_minutes, 5)?,
            parse_minutes("bufferBeforeMinutes", input.buffer_before_minutes, 0)?,
            parse_minutes("bufferAfterMinutes", input.buffer_after_minutes, 0)?,
        ))
    }

    /// Adds a service. Its currency is the tenant's unless given.
    pub async fn create_service(&self, ctx: &RequestContext, input: ServiceInput) -> Result<Service> {
        let (name, description, price_minor, duration, before, after) = Self::service_fields(&input)?;
        let need = parse_need(input.resource_need.as_ref(), duration)?;
        let (auth, txn) = self.open(ctx, Permission::ServiceManage, Access::Write).await?;
        let currency = match input.currency.as_deref() {
            Some(code) => parse_currency(code)?,
            None => tessera_tenant::load_tenant_in_scope(&txn, auth.tenant_id).await?.settings.currency,
        };
        let now = ctx.now();
        let row = service::ActiveModel {
            id: Set(ServiceId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            name: Set(name),
            description: Set(description),
            price_minor: Set(price_minor),
            currency: Set(currency),
            duration_minutes: Set(duration),
            buffer_before_minutes: Set(before),
            buffer_after_minutes: Set(after),
            active: Set(input.active.unwrap_or(true)),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            payment_policy: Set(None),
            class_capacity: Set(input.class_capacity.map(|n| parse_capacity("classCapacity", n)).transpose()?),
            resource_type: Set(need.0),
            resource_offset_minutes: Set(need.1),
            resource_minutes: Set(need.2),
        }
        .insert(&txn)
        .await?;
        let entry = AuditEntry::change("service.created", "service", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Changes a service. Existing bookings keep the price and duration they had.
    pub async fn update_service(&self, ctx: &RequestContext, id: ServiceId, patch: ServicePatch) -> Result<Service> {
        let (auth, txn) = self.open(ctx, Permission::ServiceManage, Access::Write).await?;
        let current = live_service(&txn, auth.tenant_id, id).await?;
        let previous = current.clone();
        let mut row = current.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(parse_name("name", name)?);
        }
        if let Some(description) = &patch.description {
            row.description = Set(parse_text("description", description.as_deref(), 2000)?);
        }
        if let Some(price) = patch.price_minor {
            row.price_minor = Set(parse_price("priceMinor", price)?);
        }
        if let Some(code) = patch.currency.as_deref() {
            row.currency = Set(parse_currency(code)?);
        }
        if let Some(minutes) = patch.duration_minutes {
            row.duration_minutes = Set(parse_minutes("durationMinutes", minutes, 5)?);
        }
        if let Some(minutes) = patch.buffer_before_minutes {
            row.buffer_before_minutes = Set(parse_minutes("bufferBeforeMinutes", minutes, 0)?);
        }
        if let Some(minutes) = patch.buffer_after_minutes {
            row.buffer_after_minutes = Set(parse_minutes("bufferAfterMinutes", minutes, 0)?);
        }
        if let Some(active) = patch.active {
            row.active = Set(active);
        }
        if let Some(capacity) = patch.class_capacity {
            row.class_capacity = Set(capacity.map(|n| parse_capacity("classCapacity", n)).transpose()?);
        }
        // The need is checked against the length it ends up with.
        let current_need = Service::from(previous.clone()).resource_need;
        let need = patch.resource_need.clone().unwrap_or(current_need);
        let (kind, offset, minutes) = parse_need(need.as_ref(), *row.duration_minutes.as_ref())?;
        row.resource_type = Set(kind);
        row.resource_offset_minutes = Set(offset);
        row.resource_minutes = Set(minutes);
        row.updated_at = Set(ctx.now());
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("service.updated", "service", id, Some(&previous), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Sets what customers pay when they book the service, over the
    /// business's terms (`payment:manage`: what customers pay is the
    /// owners' to say); `None` makes it follow the business's again.
    /// Bookings made already keep what they asked. Audited.
    pub async fn set_service_payment_terms(
        &self,
        ctx: &RequestContext,
        id: ServiceId,
        terms: Option<tessera_ledger::PaymentTerms>,
    ) -> Result<Service> {
        if let Some(terms) = &terms {
            terms.validate()?;
        }
        let (auth, txn) = self.open(ctx, Permission::PaymentManage, Access::Write).await?;
        let current = live_service(&txn, auth.tenant_id, id).await?;
        let previous = current.clone();
        let mut row = current.into_active_model();
        row.payment_policy = Set(terms.as_ref().map(tessera_ledger::PaymentTerms::to_json));
        row.updated_at = Set(ctx.now());
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("service.updated", "service", id, Some(&previous), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Soft-deletes a service: it can no longer be booked or listed; bookings stay.
    pub async fn delete_service(&self, ctx: &RequestContext, id: ServiceId) -> Result<Service> {
        let (auth, txn) = self.open(ctx, Permission::ServiceManage, Access::Write).await?;
        let current = live_service(&txn, auth.tenant_id, id).await?;
        let previous = current.clone();
        let mut row = current.into_active_model();
        row.active = Set(false);
        row.deleted_at = Set(Some(ctx.now()));
        row.updated_at = Set(ctx.now());
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("service.deleted", "service", id, Some(&previous), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The tenant's services that are not deleted.
    pub async fn services(
        &self,
        ctx: &RequestContext,
        page: &PageRequest,
        active: Option<bool>,
    ) -> Result<Page<Service>> {
        let keyset = page.keyset()?;
        let (auth, txn) = self.open(ctx, Permission::ServiceRead, Access::Read).await?;
        let mut select = service::Entity::find()
            .filter(service::Column::TenantId.eq(auth.tenant_id))
            .filter(service::Column::DeletedAt.is_null());
        if let Some(active) = active {
            select = select.filter(service::Column::Active.eq(active));
        }
        let rows = keyset.apply(select, service::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Service::from))
    }

    /// Services by id, deleted ones included (bookings still point at them).
    pub async fn services_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[ServiceId],
    ) -> Result<HashMap<ServiceId, Service>> {
        let (auth, txn) = self.open(ctx, Permission::ServiceRead, Access::Read).await?;
        let rows = service::Entity::find()
            .filter(service::Column::TenantId.eq(auth.tenant_id))
            .filter(service::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.id, Service::from(r))).collect())
    }

    /// Adds an add-on to a service.
    pub async fn create_addon(&self, ctx: &RequestContext, service_id: ServiceId, input: AddonInput) -> Result<Addon> {
        let name = parse_name("name", &input.name)?;
        let price_minor = parse_price("priceMinor", input.price_minor)?;
        let duration = parse_minutes("durationMinutes", input.duration_minutes, 0)?;
        let (auth, txn) = self.open(ctx, Permission::ServiceManage, Access::Write).await?;
        service::Entity::find_by_id((auth.tenant_id, service_id))
            .filter(service::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
            .ok_or(not_found("service"))?;
        let row = service_addon::ActiveModel {
            id: Set(AddonId::generate(ctx.now())),
            tenant_id: Set(auth.tenant_id),
            service_id: Set(service_id),
            name: Set(name),
            price_minor: Set(price_minor),
            duration_minutes: Set(duration),
            active: Set(input.active.unwrap_or(true)),
            created_at: Set(ctx.now()),
        }
        .insert(&txn)
        .await?;
        let entry = AuditEntry::change("addon.created", "addon", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Changes an add-on.
    pub async fn update_addon(&self, ctx: &RequestContext, id: AddonId, patch: AddonPatch) -> Result<Addon> {
        let (auth, txn) = self.open(ctx, Permission::ServiceManage, Access::Write).await?;
        let row =
            service_addon::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?.ok_or(not_found("add-on"))?;
        let previous = row.clone();
        let mut row = row.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(parse_name("name", name)?);
        }
        if let Some(price) = patch.price_minor {
            row.price_minor = Set(parse_price("priceMinor", price)?);
        }
        if let Some(minutes) = patch.duration_minutes {
            row.duration_minutes = Set(parse_minutes("durationMinutes", minutes, 0)?);
        }
        if let Some(active) = patch.active {
            row.active = Set(active);
        }
        let row = row.update(&txn).await?;
        let entry = AuditEntry::change("addon.updated", "addon", id, Some(&previous), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The add-ons of several services.
    pub async fn addons_of_services(
        &self,
        ctx: &RequestContext,
        ids: &[ServiceId],
    ) -> Result<HashMap<ServiceId, Vec<Addon>>> {
        let (auth, txn) = self.open(ctx, Permission::ServiceRead, Access::Read).await?;
        let rows = service_addon::Entity::find()
            .filter(service_addon::Column::TenantId.eq(auth.tenant_id))
            .filter(service_addon::Column::ServiceId.is_in(ids.iter().copied()))
            .order_by_asc(service_addon::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_service: HashMap<ServiceId, Vec<Addon>> = HashMap::new();
        for row in rows {
            by_service.entry(row.service_id).or_default().push(row.into());
        }
        Ok(by_service)
    }

    /// Add-ons by id, deactivated ones included.
    pub async fn addons_by_ids(&self, ctx: &RequestContext, ids: &[AddonId]) -> Result<HashMap<AddonId, Addon>> {
        let (auth, txn) = self.open(ctx, Permission::ServiceRead, Access::Read).await?;
        let rows = service_addon::Entity::find()
            .filter(service_addon::Column::TenantId.eq(auth.tenant_id))
            .filter(service_addon::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|row| (row.id, Addon::from(row))).collect())
    }
}
