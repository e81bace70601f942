//! The tenant service: the only way to read or change tenants and memberships.
//! Creating, reading, updating, deleting and restoring tenants are here; beside
//! it, `access_policy` (parent management, the security policy, MFA grace),
//! `memberships` and `maintenance` (work across every tenant).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::event::{self, DomainEvent, EventKind};
use tessera_kernel::{Db, DomainError, Page, PageRequest, Permission, RequestContext, Result, TenantId, UserId};

use crate::entity::{membership, tenant};
use crate::memberships::insert_membership;
use crate::model::{
    FeatureFlags, IsolationLevel, Member, NewTenant, Slug, Tenant, TenantPatch, TenantSettings, TenantStatus,
    TenantTier, parse_locale, parse_name, parse_timezone,
};
use crate::repo;

/// How a request names its tenant in the `X-Tenant` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantRef {
    /// By id.
    Id(TenantId),
    /// By slug.
    Slug(String),
}

impl TenantRef {
    /// Reads an `X-Tenant` header value: a UUID is an id, anything else a slug.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if let Ok(id) = raw.parse::<TenantId>() {
            return Ok(Self::Id(id));
        }
        Slug::parse(raw)
            .map(|slug| Self::Slug(slug.as_str().to_owned()))
            .map_err(|_| DomainError::invalid("X-Tenant", "must be a tenant id or slug"))
    }

    pub(crate) fn condition(&self) -> Condition {
        match self {
            Self::Id(id) => Condition::all().add(tenant::Column::Id.eq(*id)),
            Self::Slug(slug) => Condition::all().add(tenant::Column::Slug.eq(slug.as_str())),
        }
    }
}

/// What else must exist when a tenant is created, written in the same transaction
/// as the tenant (the `rbac` crate installs the built-in roles and makes the creator
/// owner). Implemented by higher crates and wired by the API, so `tenant` does not
/// depend on them; see ADR 0002.
pub trait TenantLifecycle: Send + Sync + fmt::Debug {
    /// Runs inside the creating transaction, after the tenant row and the owner's
    /// membership are written. An error rolls the whole creation back.
    fn tenant_created<'a>(&'a self, txn: &'a DatabaseTransaction, created: &'a CreatedTenant) -> BoxFuture<'a>;
}

/// The future a [`TenantLifecycle`] hook returns.
pub type BoxFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// A tenant being created, as its lifecycle hooks see it.
#[derive(Debug, Clone)]
pub struct CreatedTenant {
    /// The new tenant.
    pub tenant: Tenant,
    /// The user who created it and owns it.
    pub owner: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Reads and changes tenants and memberships.
#[derive(Debug, Clone)]
pub struct TenantService {
    pub(crate) db: Db,
    lifecycle: Arc<dyn TenantLifecycle>,
    new_tenant_tier: TenantTier,
}

const SLUG_TAKEN: &str = "that slug is taken; choose another";

impl TenantService {
    /// A service over `db` that runs `lifecycle` inside every tenant creation.
    pub fn new(db: Db, lifecycle: Arc<dyn TenantLifecycle>) -> Self {
        Self { db, lifecycle, new_tenant_tier: TenantTier::Free }
    }

    /// The tier a new business starts on (the free tier unless the platform
    /// operator chose another).
    pub fn with_new_tenant_tier(mut self, tier: TenantTier) -> Self {
        self.new_tenant_tier = tier;
        self
    }

    /// Signs up a new business: creates the tenant (on trial, on the tier new
    /// businesses start on) and makes
    /// the actor its owner.
    pub async fn create_tenant(&self, ctx: &RequestContext, input: NewTenant) -> Result<Tenant> {
        let actor = ctx.require_actor()?;
        self.insert_tenant_with_owner(ctx, actor.user_id, input, None).await
    }

    /// Creates a child tenant under the request's tenant (a franchise branch); the
    /// actor owns it.
    pub async fn create_child_tenant(&self, ctx: &RequestContext, input: NewTenant) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantManage)?;
        let actor = ctx.require_actor()?;
        self.insert_tenant_with_owner(ctx, actor.user_id, input, Some(auth.tenant_id)).await
    }

    async fn insert_tenant_with_owner(
        &self,
        ctx: &RequestContext,
        owner: UserId,
        input: NewTenant,
        parent: Option<TenantId>,
    ) -> Result<Tenant> {
        let now = ctx.now();
        let id = TenantId::generate(now);
        let row = tenant::ActiveModel {
            id: Set(id),
            name: Set(parse_name("name", &input.name)?),
            slug: Set(Slug::parse(&input.slug)?.to_string()),
            parent_tenant_id: Set(parent),
            // A branch opened by its franchise is managed by the franchise's owners
            // until the branch says otherwise.
            parent_may_manage: Set(parent.is_some()),
            tier: Set(self.new_tenant_tier),
            status: Set(TenantStatus::Trial),
            timezone: Set(parse_timezone(&input.timezone)?),
            locale: Set(parse_locale(input.locale.as_deref().unwrap_or("en"))?),
            settings: Set(to_json(&TenantSettings::default())?),
            feature_flags: Set(to_json(&FeatureFlags::default())?),
            isolation_level: Set(IsolationLevel::Shared),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            deletion_scheduled_at: Set(None),
            security_policy: Set(None),
        };
        let txn = self.db.begin(Scope::Tenant { tenant_id: id, user_id: Some(owner) }, Access::Write).await?;
        let row = row.insert(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, SLUG_TAKEN))?;
        insert_membership(&txn, id, owner, now).await?;
        // The tenant's chain starts with its creation, by the request creating it.
        let entry = tessera_audit::AuditEntry::change("tenant.created", "tenant", id, None, Some(&audited(&row)))?;
        tessera_audit::append_in(&txn, ctx, id, entry).await?;
        let created = CreatedTenant { tenant: Tenant::try_from(row)?, owner, at: now };
        self.lifecycle.tenant_created(&txn, &created).await?;
        txn.commit().await?;
        Ok(created.tenant)
    }

    /// The request's tenant.
    pub async fn current_tenant(&self, ctx: &RequestContext) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantRead)?;
        let txn = self.db.begin(auth.scope(), Access::Read).await?;
        let row = repo::find_tenant_in_tenant_scope(&txn, auth.tenant_id).await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// A tenant the actor may read (one they belong to, or a child of one), by id.
    pub async fn tenant_by_id(&self, ctx: &RequestContext, id: TenantId) -> Result<Option<Tenant>> {
        self.readable_tenant(ctx, tenant::Column::Id.eq(id)).await
    }

    /// A tenant the actor may read, by slug.
    pub async fn tenant_by_slug(&self, ctx: &RequestContext, slug: &str) -> Result<Option<Tenant>> {
        self.readable_tenant(ctx, tenant::Column::Slug.eq(slug)).await
    }

    async fn readable_tenant(
        &self,
        ctx: &RequestContext,
        filter: sea_orm::sea_query::SimpleExpr,
    ) -> Result<Option<Tenant>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::User(actor.user_id), Access::Read).await?;
        let row = tenant::Entity::find().filter(filter).filter(repo::readable_by_user(actor.user_id)).one(&txn).await?;
        txn.commit().await?;
        row.map(Tenant::try_from).transpose()
    }

    /// Tenants by id, limited to those the actor may read; for batched loading.
    pub async fn tenants_by_ids(&self, ctx: &RequestContext, ids: &[TenantId]) -> Result<HashMap<TenantId, Tenant>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::User(actor.user_id), Access::Read).await?;
        let rows = tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(ids.iter().copied()))
            .filter(repo::readable_by_user(actor.user_id))
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(|row| Tenant::try_from(row).map(|t| (t.id, t))).collect()
    }

    /// The tenants the actor belongs to, with their membership in each.
    pub async fn my_tenants(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<(Tenant, Member)>> {
        let actor = ctx.require_actor()?;
        let keyset = page.keyset()?;
        let txn = self.db.begin(Scope::User(actor.user_id), Access::Read).await?;
        let memberships = keyset
            .apply(
                membership::Entity::find().filter(membership::Column::UserId.eq(actor.user_id)),
                membership::Column::TenantId,
            )
            .all(&txn)
            .await?;
        let ids: Vec<TenantId> = memberships.iter().map(|m| m.tenant_id).collect();
        let mut tenants: HashMap<TenantId, tenant::Model> = tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        txn.commit().await?;
        let page = keyset.finish(memberships);
        let items = page
            .items
            .into_iter()
            .filter_map(|m| tenants.remove(&m.tenant_id).map(|t| Tenant::try_from(t).map(|t| (t, Member::from(m)))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { items, has_next_page: page.has_next_page, has_previous_page: page.has_previous_page })
    }

    /// The direct children of `parent_id`, for those who manage it
    /// (`tenant:manage`, acting in it): the branches that let their parent manage
    /// them, and those the actor belongs to. Anyone else in the parent, its
    /// customers included, is refused.
    pub async fn child_tenants(
        &self,
        ctx: &RequestContext,
        parent_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Tenant>> {
        let auth = ctx.authorize(Permission::TenantManage)?;
        let actor = ctx.require_actor()?;
        if auth.tenant_id != parent_id {
            return Err(DomainError::Forbidden("branches are listed to those who manage their parent".into()));
        }
        let keyset = page.keyset()?;
        let txn = self.db.begin(Scope::User(actor.user_id), Access::Read).await?;
        let reachable = Condition::any()
            .add(tenant::Column::ParentMayManage.eq(true))
            .add(tenant::Column::Id.in_subquery(repo::tenants_of(actor.user_id)));
        let rows = keyset
            .apply(
                tenant::Entity::find().filter(tenant::Column::ParentTenantId.eq(parent_id)).filter(reachable),
                tenant::Column::Id,
            )
            .all(&txn)
            .await?;
        txn.commit().await?;
        let page = keyset.finish(rows);
        let items = page.items.into_iter().map(Tenant::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, has_next_page: page.has_next_page, has_previous_page: page.has_previous_page })
    }

    /// Changes the request's tenant and announces it.
    pub async fn update_tenant(&self, ctx: &RequestContext, patch: TenantPatch) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantManage)?;
        let mut changed = Vec::new();
        let txn = self.db.begin(auth.scope(), Access::Write).await?;
        // Locked: the settings are merged with what is stored, and two owners
        // changing different settings at once must both be kept.
        let current = tenant::Entity::find_by_id(auth.tenant_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "tenant" })?;
        let before = audited(&current);
        let settings = TenantSettings::from_json(&current.settings)?;
        let mut row = current.into_active_model();
        if let Some(name) = patch.name {
            row.name = Set(parse_name("name", &name)?);
            changed.push("name");
        }
        if let Some(slug) = patch.slug {
            row.slug = Set(Slug::parse(&slug)?.to_string());
            changed.push("slug");
        }
        if let Some(timezone) = patch.timezone {
            row.timezone = Set(parse_timezone(&timezone)?);
            changed.push("timezone");
        }
        if let Some(locale) = patch.locale {
            row.locale = Set(parse_locale(&locale)?);
            changed.push("locale");
        }
        if let Some(changes) = patch.settings {
            let settings = settings.patched(changes);
            settings.validate()?;
            row.settings = Set(to_json(&settings)?);
            changed.push("settings");
        }
        if let Some(flags) = patch.feature_flags {
            row.feature_flags = Set(to_json(&flags)?);
            changed.push("featureFlags");
        }
        if changed.is_empty() {
            return Err(DomainError::invalid("input", "name at least one field to change"));
        }
        let now = ctx.now();
        row.updated_at = Set(now);
        let row = row.update(&txn).await.map_err(|e| DomainError::conflict_on_unique(e, SLUG_TAKEN))?;
        audit(&txn, ctx, &auth, "tenant.updated", before, &row).await?;
        announce_update(&txn, auth.tenant_id, now, &changed).await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// Soft-deletes the request's tenant; it can be restored until the grace period
    /// in its settings ends, then it is purged.
    pub async fn delete_tenant(&self, ctx: &RequestContext) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantDelete)?;
        let now = ctx.now();
        let txn = self.db.begin(auth.scope(), Access::Write).await?;
        let current = repo::find_tenant_in_tenant_scope(&txn, auth.tenant_id).await?;
        if current.status == TenantStatus::PendingDeletion {
            return Err(DomainError::Conflict("the tenant is already scheduled for deletion".into()));
        }
        let has_children = tenant::Entity::find()
            .filter(tenant::Column::ParentTenantId.eq(auth.tenant_id))
            .filter(tenant::Column::Status.ne(TenantStatus::PendingDeletion))
            .one(&txn)
            .await?
            .is_some();
        if has_children {
            return Err(DomainError::Conflict("delete or move the child tenants first".into()));
        }
        let grace = TenantSettings::from_json(&current.settings)?.deletion_grace_days;
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.status = Set(TenantStatus::PendingDeletion);
        row.deleted_at = Set(Some(now));
        row.deletion_scheduled_at = Set(Some(now + Duration::days(i64::from(grace))));
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        audit(&txn, ctx, &auth, "tenant.deleted", before, &row).await?;
        let payload = serde_json::json!({ "deletionScheduledAt": row.deletion_scheduled_at });
        event::enqueue(
            &txn,
            &DomainEvent::new(now, auth.tenant_id, EventKind::TenantDeleted, auth.tenant_id.as_uuid(), payload),
        )
        .await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// Restores the request's soft-deleted tenant within its grace period.
    pub async fn restore_tenant(&self, ctx: &RequestContext) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantDelete)?;
        let now = ctx.now();
        let txn = self.db.begin(auth.scope(), Access::Write).await?;
        let current = repo::find_tenant_in_tenant_scope(&txn, auth.tenant_id).await?;
        if current.status != TenantStatus::PendingDeletion {
            return Err(DomainError::Conflict("the tenant is not deleted".into()));
        }
        if current.deletion_scheduled_at.is_some_and(|at| at <= now) {
            return Err(DomainError::Conflict(
                "the grace period has ended; the tenant can no longer be restored".into(),
            ));
        }
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.status = Set(TenantStatus::Active);
        row.deleted_at = Set(None);
        row.deletion_scheduled_at = Set(None);
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        audit(&txn, ctx, &auth, "tenant.restored", before, &row).await?;
        event::enqueue(
            &txn,
            &DomainEvent::new(
                now,
                auth.tenant_id,
                EventKind::TenantRestored,
                auth.tenant_id.as_uuid(),
                serde_json::json!({}),
            ),
        )
        .await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }
}

/// Reads the tenant inside the caller's transaction (another crate's service that
/// needs the tenant's timezone or settings). The caller has already authorized the
/// request for `tenant_id`.
pub async fn load_tenant_in_scope<C: sea_orm::ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<Tenant> {
    Tenant::try_from(repo::find_tenant_in_tenant_scope(conn, tenant_id).await?)
}

/// The fields of a tenant the audit log compares.
pub(crate) fn audited(row: &tenant::Model) -> serde_json::Value {
    serde_json::json!({
        "name": row.name,
        "slug": row.slug,
        "parentTenantId": row.parent_tenant_id,
        "status": format!("{:?}", row.status),
        "tier": row.tier.as_str(),
        "timezone": row.timezone,
        "locale": row.locale,
        "settings": row.settings,
        "featureFlags": row.feature_flags,
        "parentMayManage": row.parent_may_manage,
        "deletedAt": row.deleted_at,
        "deletionScheduledAt": row.deletion_scheduled_at,
        "securityPolicy": row.security_policy,
    })
}

/// Records a change to the tenant itself in its transaction.
pub(crate) async fn audit(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &RequestContext,
    auth: &tessera_kernel::context::Authorized,
    action: &'static str,
    before: serde_json::Value,
    after: &tenant::Model,
) -> Result<()> {
    let entry = tessera_audit::AuditEntry::change(action, "tenant", after.id, Some(&before), Some(&audited(after)))?;
    tessera_audit::append(txn, ctx, auth, entry).await
}

/// Tells `tenantUpdated` subscribers which fields of the tenant changed.
pub(crate) async fn announce_update<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    at: DateTime<Utc>,
    changed: &[&str],
) -> Result<()> {
    let payload = serde_json::json!({ "changed": changed });
    event::enqueue(conn, &DomainEvent::new(at, tenant_id, EventKind::TenantUpdated, tenant_id.as_uuid(), payload))
        .await?;
    Ok(())
}

/// The tenant `reference` names when `user_id` belongs not to it but to its parent,
/// and it lets its parent's owners manage it: `(tenant, parent)`. In a transaction
/// opened with the user's scope; whether the user owns the parent is for the caller
/// to decide.
pub async fn find_parent_managed_tenant<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    reference: &TenantRef,
) -> Result<Option<(Tenant, Tenant)>> {
    match repo::find_parent_managed_tenant(conn, user_id, reference.condition()).await? {
        Some((child, parent)) => Ok(Some((Tenant::try_from(child)?, Tenant::try_from(parent)?))),
        None => Ok(None),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| DomainError::Internal(format!("cannot encode as JSON: {e}")))
}
