//! Tenants: the business itself, the caller's businesses, creating, changing, deleting
//! and restoring one.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::{DomainError, Permission, TenantId};
use tessera_tenant::{FeatureFlags, NewTenant, Tenant, TenantPatch, TenantSettingsPatch};

use super::members::MembershipObject;
use super::objects::TenantTierEnum;
use super::security_policy::SecurityPolicyObject;
use super::settings::{FeatureFlagObject, TenantSettingsObject, UpdateTenantSettingsInput};
use super::usage::{UsageLimitObject, terms_of};
use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::kept_or_set;
use crate::graphql::{Requires, SignedIn, loaders, parse_id, request, services};

/// Where a tenant is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantStatus", remote = "tessera_tenant::TenantStatus")]
pub(crate) enum TenantStatusEnum {
    Trial,
    Active,
    Suspended,
    PendingDeletion,
}

/// How a tenant's data is separated from other tenants' data.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "IsolationLevel", remote = "tessera_tenant::IsolationLevel")]
pub(crate) enum IsolationLevelEnum {
    Shared,
    SemiIsolated,
    FullyIsolated,
}

/// A business on Tessera.
#[derive(Clone)]
pub(crate) struct TenantObject(pub(crate) Tenant);

#[Object(name = "Tenant")]
impl TenantObject {
    /// Id; send it (or the slug) in the `X-Tenant` header to act in this tenant.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Unique URL-safe name; also accepted in `X-Tenant`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Service tier.
    async fn tier(&self) -> TenantTierEnum {
        self.0.tier.into()
    }
    /// What its tier (or its agreement with the platform) lets it use, metric
    /// by metric; null unless it is the request's tenant (`X-Tenant`).
    async fn limits(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<UsageLimitObject>>> {
        let request = request(ctx)?;
        if request.tenant().is_none_or(|t| t.tenant_id != self.0.id) {
            return Ok(None);
        }
        let limits = services(ctx)?.usage.limits(request, &terms_of(&self.0)?).await?;
        Ok(Some(limits.iter().map(Into::into).collect()))
    }
    /// Life-cycle status.
    async fn status(&self) -> TenantStatusEnum {
        self.0.status.into()
    }
    /// IANA timezone its schedules are written in.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// Default locale (BCP 47).
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    /// Settings.
    async fn settings(&self) -> TenantSettingsObject {
        (&self.0.settings).into()
    }
    /// Feature flags, by name.
    async fn feature_flags(&self) -> Vec<FeatureFlagObject> {
        self.0.feature_flags.iter().map(|(key, enabled)| FeatureFlagObject { key: key.to_owned(), enabled }).collect()
    }
    /// How its data is isolated.
    async fn isolation_level(&self) -> IsolationLevelEnum {
        self.0.isolation_level.into()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When it was deleted, if it is pending deletion.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// When it will be purged unless restored.
    async fn deletion_scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.deletion_scheduled_at
    }
    /// Its security policy; null unless the caller may manage it (`tenant:manage`
    /// here).
    async fn security_policy(&self, ctx: &Context<'_>) -> ApiResult<Option<SecurityPolicyObject>> {
        let manages = request(ctx)?
            .tenant()
            .is_some_and(|t| t.tenant_id == self.0.id && t.permissions.contains(Permission::TenantManage));
        Ok(manages.then(|| (&self.0.security_policy).into()))
    }
    /// Whether the owners of the parent tenant may manage this one (as admins).
    async fn parent_may_manage(&self) -> bool {
        self.0.parent_may_manage
    }
    /// The tenant above it, if the caller may read it.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<TenantObject>> {
        let Some(parent) = self.0.parent_tenant_id else { return Ok(None) };
        let found = loaders(ctx)?.tenants().load_one(parent).await?;
        Ok(found.map(TenantObject))
    }
    /// The tenants directly below it.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, TenantObject>> {
        let page = services(ctx)?
            .tenants
            .child_tenants(request(ctx)?, self.0.id, &page_request(first, after, last, before))
            .await?;
        Ok(connection(page, |t| t.id.as_uuid(), TenantObject))
    }
}

/// A new business.
#[derive(InputObject)]
pub(crate) struct CreateTenantInput {
    /// Display name.
    name: String,
    /// Unique URL-safe name: 3–63 lowercase letters, digits and inner hyphens.
    slug: String,
    /// IANA timezone, e.g. `Europe/Madrid`.
    timezone: String,
    /// Locale, e.g. `es-ES`; `en` when omitted.
    locale: Option<String>,
}

impl From<CreateTenantInput> for NewTenant {
    fn from(i: CreateTenantInput) -> Self {
        Self { name: i.name, slug: i.slug, timezone: i.timezone, locale: i.locale }
    }
}

/// Changes to the current tenant; omitted fields stay as they are.
#[derive(InputObject)]
pub(crate) struct UpdateTenantInput {
    /// New display name.
    name: MaybeUndefined<String>,
    /// New slug.
    slug: MaybeUndefined<String>,
    /// New timezone.
    timezone: MaybeUndefined<String>,
    /// New locale.
    locale: MaybeUndefined<String>,
    /// Settings to change; those not named keep their value.
    settings: MaybeUndefined<UpdateTenantSettingsInput>,
    /// The complete new set of feature flags (flags not listed are removed).
    feature_flags: MaybeUndefined<Vec<FeatureFlagObject>>,
}

/// Queries about tenants.
#[derive(Default)]
pub(super) struct TenantQueries;

#[operations]
#[Object]
impl TenantQueries {
    /// The tenant named by the `X-Tenant` header.
    #[access(Requires(Permission::TenantRead))]
    async fn current_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.current_tenant(request(ctx)?).await?))
    }

    /// A tenant the caller belongs to (or a child of one), by id or by slug.
    #[access(SignedIn)]
    async fn tenant(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> ApiResult<Option<TenantObject>> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let found = match (id, slug) {
            (Some(id), None) => services.tenants.tenant_by_id(request, parse_id("id", &id)?).await?,
            (None, Some(slug)) => services.tenants.tenant_by_slug(request, &slug).await?,
            _ => return Err(DomainError::invalid("id", "give exactly one of id and slug").into()),
        };
        Ok(found.map(TenantObject))
    }

    /// The caller's memberships: every tenant they belong to. What they may do in
    /// one is `me { permissions roles }` with that tenant in `X-Tenant`.
    #[access(SignedIn)]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn my_tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, MembershipObject>> {
        let (services, request) = (services(ctx)?, request(ctx)?);
        let page = services.tenants.my_tenants(request, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |(t, _)| t.id.as_uuid(), |(_, member)| MembershipObject::from(member)))
    }

    /// Federation: resolves a `Tenant` reference from another subgraph.
    #[graphql(entity)]
    async fn find_tenant_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<TenantObject>> {
        let Ok(id) = id.parse::<TenantId>() else { return Ok(None) };
        if request(ctx)?.actor().is_none() {
            return Ok(None);
        }
        let found = loaders(ctx)?.tenants().load_one(id).await?;
        Ok(found.map(TenantObject))
    }
}

/// Mutations about tenants.
#[derive(Default)]
pub(super) struct TenantMutations;

#[operations]
#[Object]
impl TenantMutations {
    /// Signs up a new business: creates the tenant and makes the caller its owner.
    #[access(SignedIn)]
    async fn create_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.create_tenant(request(ctx)?, input.into()).await?))
    }

    /// Creates a tenant below the current one (a branch); the caller owns it.
    #[access(Requires(Permission::TenantManage))]
    async fn create_child_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.create_child_tenant(request(ctx)?, input.into()).await?))
    }

    /// Changes the current tenant.
    #[access(Requires(Permission::TenantManage))]
    async fn update_tenant(&self, ctx: &Context<'_>, input: UpdateTenantInput) -> ApiResult<TenantObject> {
        let feature_flags = kept_or_set("featureFlags", input.feature_flags)?
            .map(|flags| FeatureFlags::new(flags.into_iter().map(|f| (f.key, f.enabled))))
            .transpose()?;
        let patch = TenantPatch {
            name: kept_or_set("name", input.name)?,
            slug: kept_or_set("slug", input.slug)?,
            timezone: kept_or_set("timezone", input.timezone)?,
            locale: kept_or_set("locale", input.locale)?,
            settings: kept_or_set("settings", input.settings)?.map(TenantSettingsPatch::try_from).transpose()?,
            feature_flags,
        };
        let tenant = services(ctx)?.tenants.update_tenant(request(ctx)?, patch).await?;
        Ok(TenantObject(tenant))
    }

    /// Lets the owners of the current tenant's parent manage it (with the built-in
    /// admin role's rights), or stops them at once. Only the tenant's own members
    /// decide; a branch created with `createChildTenant` starts allowing it.
    #[access(Requires(Permission::TenantManage))]
    async fn set_parent_management(&self, ctx: &Context<'_>, allowed: bool) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.set_parent_management(request(ctx)?, allowed).await?;
        Ok(TenantObject(tenant))
    }

    /// Deletes the current tenant softly: it can be restored during its grace period.
    #[access(Requires(Permission::TenantDelete))]
    async fn delete_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.delete_tenant(request(ctx)?).await?;
        Ok(TenantObject(tenant))
    }

    /// Restores the current tenant if it is within its deletion grace period.
    #[access(Requires(Permission::TenantDelete))]
    async fn restore_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.restore_tenant(request(ctx)?).await?;
        Ok(TenantObject(tenant))
    }
}
