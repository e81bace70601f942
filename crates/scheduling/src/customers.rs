//! The tenant's customers: records staff keep, each optionally linked to the
//! account of the person it describes, who then sees it as their own (`reach`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::txn::Txn;
use tessera_kernel::{CustomerId, DomainError, Page, PageRequest, Permission, RequestContext, Result};

use crate::entity::customer;
use crate::model::{
    Customer, CustomerInput, CustomerPatch, CustomerProfile, parse_email, parse_language, parse_name, parse_phone,
    parse_text,
};
use tessera_audit::AuditEntry;

use crate::catalog::{ALREADY_LINKED, linkable_account};
use crate::reach::{self, Own, Visible};
use crate::service::{SchedulingService, not_found};

/// A customer record as the reader may see it: staff notes are for staff, not for
/// the customer reading their own profile.
fn seen_by(visible: &Visible, row: customer::Model) -> Customer {
    let mut customer = Customer::from(row);
    if *visible != Visible::All {
        customer.notes = None;
    }
    customer
}

impl SchedulingService {
    // ---- customers -------------------------------------------------------------

    /// Adds a customer.
    pub async fn create_customer(&self, ctx: &RequestContext, input: CustomerInput) -> Result<Customer> {
        let (auth, txn) = self.open(ctx, Permission::CustomerManage, Access::Write).await?;
        let now = ctx.now();
        let user_id = match input.user_id.flatten() {
            Some(user_id) => Some(linkable_account(&txn, auth.tenant_id, user_id).await?),
            None => None,
        };
        let row = customer::ActiveModel {
            id: Set(CustomerId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            user_id: Set(user_id),
            name: Set(parse_name("name", &input.name)?),
            email: Set(parse_email("email", input.email.as_deref())?),
            phone: Set(parse_phone("phone", input.phone.as_deref())?),
            notes: Set(parse_text("notes", input.notes.as_deref(), 2000)?),
            language: Set(parse_language("language", input.language.as_deref())?),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, ALREADY_LINKED))?;
        let entry = AuditEntry::change("customer.created", "customer", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Changes a customer.
    pub async fn update_customer(
        &self,
        ctx: &RequestContext,
        id: CustomerId,
        patch: CustomerPatch,
    ) -> Result<Customer> {
        let (auth, txn) = self.open(ctx, Permission::CustomerManage, Access::Write).await?;
        let current =
            customer::Entity::find_by_id((auth.tenant_id, id)).one(&txn).await?.ok_or(not_found("customer"))?;
        let previous = current.clone();
        let mut row = current.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(parse_name("name", name)?);
        }
        if let Some(email) = &patch.email {
            row.email = Set(parse_email("email", email.as_deref())?);
        }
        if let Some(phone) = &patch.phone {
            row.phone = Set(parse_phone("phone", phone.as_deref())?);
        }
        if let Some(notes) = &patch.notes {
            row.notes = Set(parse_text("notes", notes.as_deref(), 2000)?);
        }
        if let Some(language) = &patch.language {
            row.language = Set(parse_language("language", language.as_deref())?);
        }
        if let Some(link) = patch.user_id {
            row.user_id = Set(match link {
                Some(user_id) => Some(linkable_account(&txn, auth.tenant_id, user_id).await?),
                None => None,
            });
        }
        row.updated_at = Set(ctx.now());
        let row = row.update(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, ALREADY_LINKED))?;
        let entry = AuditEntry::change("customer.updated", "customer", id, Some(&previous), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The tenant's customers, optionally those whose name, email or phone contains
    /// `search`; with `customer:read_own` only, the actor's own record.
    pub async fn customers(
        &self,
        ctx: &RequestContext,
        page: &PageRequest,
        search: Option<&str>,
    ) -> Result<Page<Customer>> {
        let keyset = page.keyset()?;
        let (auth, txn, visible) = self.open_customers(ctx).await?;
        let mut select = customer::Entity::find().filter(customer::Column::TenantId.eq(auth.tenant_id));
        if let Visible::Only { customers, .. } = &visible {
            select = select.filter(customer::Column::Id.is_in(customers.iter().copied()));
        }
        if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", term.to_lowercase().replace(['%', '_'], ""));
            select = select.filter(
                Condition::any()
                    .add(Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(customer::Column::Name))).like(&pattern))
                    .add(customer::Column::Email.like(&pattern))
                    .add(customer::Column::Phone.like(&pattern)),
            );
        }
        let rows = keyset.apply(select, customer::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(|row| seen_by(&visible, row)))
    }

    /// Customers by id (of the request's tenant only; with `customer:read_own`
    /// only, the actor's own record).
    pub async fn customers_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Customer>> {
        let (auth, txn, visible) = self.open_customers(ctx).await?;
        let ids: Vec<CustomerId> = ids.iter().copied().filter(|id| visible.allows_customer(*id)).collect();
        let rows = customer::Entity::find()
            .filter(customer::Column::TenantId.eq(auth.tenant_id))
            .filter(customer::Column::Id.is_in(ids))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.id, seen_by(&visible, r))).collect())
    }

    async fn open_customers(&self, ctx: &RequestContext) -> Result<(Authorized, Txn, Visible)> {
        self.open_reach(ctx, Permission::CustomerRead, Permission::CustomerReadOwn, Own::Customer, Access::Read).await
    }
}

/// The customer record linked to the actor, made from `profile` on their first
/// booking in the tenant. Concurrent first bookings make one record.
pub(crate) async fn own_customer_record(
    txn: &DatabaseTransaction,
    auth: &Authorized,
    profile: &CustomerProfile,
    now: DateTime<Utc>,
) -> Result<CustomerId> {
    let user_id = auth.actor.ok_or_else(|| DomainError::Unauthenticated("sign in first".into()))?.user_id;
    if let Some(id) = reach::own_customer(txn, auth.tenant_id, user_id).await? {
        return Ok(id);
    }
    let row = customer::ActiveModel {
        id: Set(CustomerId::generate(now)),
        tenant_id: Set(auth.tenant_id),
        user_id: Set(Some(user_id)),
        name: Set(parse_name("name", &profile.name)?),
        email: Set(parse_email("email", profile.email.as_deref())?),
        phone: Set(None),
        notes: Set(None),
        language: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    customer::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([customer::Column::TenantId, customer::Column::UserId])
                .target_and_where(Expr::col(customer::Column::UserId).is_not_null())
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    reach::own_customer(txn, auth.tenant_id, user_id)
        .await?
        .ok_or_else(|| DomainError::Internal("the customer record made for a booking is missing".into()))
}
