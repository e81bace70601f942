//! GraphQL for tenants: the `Tenant` entity, memberships, sign-up of a business,
//! settings, soft delete and restore, and the `tenantUpdated` subscription.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tessera_kernel::event::EventKind;
use tessera_kernel::{DomainError, Permission, TenantId};
use tessera_tenant::{
    FeatureFlags, Member, NewTenant, SecurityPolicy, Tenant, TenantPatch, TenantSettings, TenantSettingsPatch,
};

use super::connection::{connection, page_cost, page_request};
use super::feed::watch;
use super::identity::UserObject;
use super::patch::{UpdateTenantSettingsInput, kept_or_set};
use super::{Requires, SignedIn, authenticated, loaders, parse_id, permission, request, services};
use crate::error::{ApiError, ApiResult};

/// A tenant's service tier.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantTier", remote = "tessera_tenant::TenantTier")]
pub(crate) enum TenantTierGql {
    Free,
    Basic,
    Premium,
    Enterprise,
}

/// Where a tenant is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantStatus", remote = "tessera_tenant::TenantStatus")]
pub(crate) enum TenantStatusGql {
    Trial,
    Active,
    Suspended,
    PendingDeletion,
}

/// How a tenant's data is separated from other tenants' data.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "IsolationLevel", remote = "tessera_tenant::IsolationLevel")]
pub(crate) enum IsolationLevelGql {
    Shared,
    SemiIsolated,
    FullyIsolated,
}

/// Settings a tenant's owners tune.
#[derive(SimpleObject, Clone)]
#[graphql(name = "TenantSettings")]
pub(crate) struct TenantSettingsGql {
    /// ISO 4217 code that prices are quoted in.
    currency: String,
    /// How long before its start a booking may be made, in minutes.
    booking_min_notice_minutes: i32,
    /// How far ahead bookings may be made, in days.
    booking_horizon_days: i32,
    /// The spacing of offered start times, in minutes.
    slot_step_minutes: i32,
    /// How long a deleted tenant can be restored, in days.
    deletion_grace_days: i32,
    /// A booking cancelled at least this many hours ahead is refunded in full.
    cancellation_full_refund_hours: i32,
    /// A booking cancelled at least this many hours ahead is refunded in part.
    cancellation_partial_refund_hours: i32,
    /// The part refunded then, in percent.
    cancellation_partial_refund_percent: i32,
    /// How long the audit log and security events are kept, in days (30 to 3650);
    /// null keeps them for good. Expired records leave the audit chain verifiable.
    activity_retention_days: Option<i32>,
    /// How long before a booking its reminder is sent, in minutes (15 to 10080);
    /// 0 sends none.
    booking_reminder_minutes: i32,
    /// Whether new bookings are confirmed at once; otherwise they stay SCHEDULED
    /// (the customer is told the booking is received) until confirmed.
    confirm_bookings_automatically: bool,
    /// How long before its start a customer may still move their own booking, in
    /// hours (0 to 1440); later only the business can.
    customer_reschedule_notice_hours: i32,
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&TenantSettings> for TenantSettingsGql {
    fn from(s: &TenantSettings) -> Self {
        Self {
            currency: s.currency.clone(),
            booking_min_notice_minutes: to_i32(s.booking_min_notice_minutes),
            booking_horizon_days: to_i32(s.booking_horizon_days),
            slot_step_minutes: to_i32(s.slot_step_minutes),
            deletion_grace_days: to_i32(s.deletion_grace_days),
            cancellation_full_refund_hours: to_i32(s.cancellation_full_refund_hours),
            cancellation_partial_refund_hours: to_i32(s.cancellation_partial_refund_hours),
            cancellation_partial_refund_percent: to_i32(s.cancellation_partial_refund_percent),
            activity_retention_days: s.activity_retention_days.map(to_i32),
            booking_reminder_minutes: to_i32(s.booking_reminder_minutes),
            confirm_bookings_automatically: s.confirm_bookings_automatically,
            customer_reschedule_notice_hours: to_i32(s.customer_reschedule_notice_hours),
        }
    }
}

/// A named on/off switch.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(name = "FeatureFlag", input_name = "FeatureFlagInput")]
pub(crate) struct FeatureFlagGql {
    /// Flag name, `[a-z][a-z0-9_.-]*`.
    key: String,
    /// Whether the feature is on.
    enabled: bool,
}

/// Who must sign in with a second factor.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MfaRequirement", remote = "tessera_tenant::MfaRequirement")]
pub(crate) enum MfaRequirementGql {
    /// Nobody is made to.
    Off,
    /// Every member.
    AllMembers,
    /// Members holding any of `mfaRoles` (or a role under one of them).
    Roles,
}

/// What a tenant demands of the sessions that use it.
#[derive(SimpleObject, InputObject)]
#[graphql(name = "SecurityPolicy", input_name = "SecurityPolicyInput")]
pub(crate) struct SecurityPolicyGql {
    /// Who must sign in with a second factor.
    #[graphql(default_with = "MfaRequirementGql::Off")]
    require_mfa: MfaRequirementGql,
    /// The roles whose holders must, with `ROLES`.
    #[graphql(default)]
    mfa_roles: Vec<ID>,
    /// Sign-ins a member without a second factor may still use the business with
    /// once the requirement applies (0–20); each new session spends one.
    #[graphql(default)]
    mfa_grace_logins: u32,
    /// From when the requirement applies (now when null).
    mfa_enforced_from: Option<DateTime<Utc>>,
    /// A session idle this long may not act here (5–1440 minutes).
    session_idle_minutes: Option<u32>,
    /// The most sessions a member may hold at once (1–100): signing in again ends
    /// the oldest.
    max_sessions: Option<u32>,
    /// Networks (CIDR or addresses) the business may be used from; empty allows all.
    #[graphql(default)]
    ip_allow: Vec<String>,
    /// Networks it may never be used from (wins over `ipAllow`).
    #[graphql(default)]
    ip_block: Vec<String>,
}

impl From<&SecurityPolicy> for SecurityPolicyGql {
    fn from(p: &SecurityPolicy) -> Self {
        Self {
            require_mfa: p.require_mfa.into(),
            mfa_roles: p.mfa_roles.iter().map(|r| ID(r.to_string())).collect(),
            mfa_grace_logins: p.mfa_grace_logins,
            mfa_enforced_from: p.mfa_enforced_from,
            session_idle_minutes: p.session_idle_minutes,
            max_sessions: p.max_sessions,
            ip_allow: p.ip_allow.clone(),
            ip_block: p.ip_block.clone(),
        }
    }
}

impl SecurityPolicyGql {
    fn parse(self) -> ApiResult<SecurityPolicy> {
        Ok(SecurityPolicy {
            require_mfa: self.require_mfa.into(),
            mfa_roles: self.mfa_roles.iter().map(|id| parse_id("mfaRoles", id)).collect::<ApiResult<Vec<_>>>()?,
            mfa_grace_logins: self.mfa_grace_logins,
            mfa_enforced_from: self.mfa_enforced_from,
            session_idle_minutes: self.session_idle_minutes,
            max_sessions: self.max_sessions,
            ip_allow: self.ip_allow,
            ip_block: self.ip_block,
        })
    }
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
    async fn tier(&self) -> TenantTierGql {
        self.0.tier.into()
    }
    /// Life-cycle status.
    async fn status(&self) -> TenantStatusGql {
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
    async fn settings(&self) -> TenantSettingsGql {
        (&self.0.settings).into()
    }
    /// Feature flags, by name.
    async fn feature_flags(&self) -> Vec<FeatureFlagGql> {
        self.0.feature_flags.iter().map(|(key, enabled)| FeatureFlagGql { key: key.to_owned(), enabled }).collect()
    }
    /// How its data is isolated.
    async fn isolation_level(&self) -> IsolationLevelGql {
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
    async fn security_policy(&self, ctx: &Context<'_>) -> ApiResult<Option<SecurityPolicyGql>> {
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
        let found = loaders(ctx)?.tenants.load_one(parent).await?;
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

/// A user's membership in a tenant.
#[derive(SimpleObject)]
#[graphql(name = "Membership", complex)]
pub(crate) struct MembershipObject {
    /// Id.
    id: ID,
    /// When they joined.
    joined_at: DateTime<Utc>,
    #[graphql(skip)]
    tenant_id: TenantId,
    #[graphql(skip)]
    user_id: tessera_kernel::UserId,
}

#[ComplexObject]
impl MembershipObject {
    /// The tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> ApiResult<Option<TenantObject>> {
        let found = loaders(ctx)?.tenants.load_one(self.tenant_id).await?;
        Ok(found.map(TenantObject))
    }
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        let found = loaders(ctx)?.users.load_one(self.user_id).await?;
        Ok(found.map(UserObject::seen))
    }
}

impl From<Member> for MembershipObject {
    fn from(m: Member) -> Self {
        Self { id: ID(m.id.to_string()), joined_at: m.joined_at, tenant_id: m.tenant_id, user_id: m.user_id }
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
    feature_flags: MaybeUndefined<Vec<FeatureFlagGql>>,
}

#[derive(Default)]
pub(crate) struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The tenant named by the `X-Tenant` header.
    #[graphql(guard = "Requires(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn current_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.current_tenant(request(ctx)?).await?))
    }

    /// A tenant the caller belongs to (or a child of one), by id or by slug.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
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
    #[graphql(guard = "SignedIn", directive = authenticated::apply(), complexity = "page_cost(first, last, child_complexity)")]
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

    /// The members of the current tenant.
    #[graphql(guard = "Requires(Permission::MemberRead)", directive = permission::apply(Permission::MemberRead.name().to_owned()), complexity = "page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, MembershipObject>> {
        let page = services(ctx)?.tenants.members(request(ctx)?, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |m| m.id.as_uuid(), MembershipObject::from))
    }

    /// Federation: resolves a `Tenant` reference from another subgraph.
    #[graphql(entity)]
    async fn find_tenant_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<TenantObject>> {
        let Ok(id) = id.parse::<TenantId>() else { return Ok(None) };
        if request(ctx)?.actor().is_none() {
            return Ok(None);
        }
        let found = loaders(ctx)?.tenants.load_one(id).await?;
        Ok(found.map(TenantObject))
    }
}

#[derive(Default)]
pub(crate) struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Signs up a new business: creates the tenant and makes the caller its owner.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn create_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.create_tenant(request(ctx)?, input.into()).await?))
    }

    /// Creates a tenant below the current one (a branch); the caller owns it.
    #[graphql(guard = "Requires(Permission::TenantManage)", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn create_child_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> ApiResult<TenantObject> {
        Ok(TenantObject(services(ctx)?.tenants.create_child_tenant(request(ctx)?, input.into()).await?))
    }

    /// Changes the current tenant.
    #[graphql(guard = "Requires(Permission::TenantManage)", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
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
    #[graphql(guard = "Requires(Permission::TenantManage)", directive = permission::apply(Permission::TenantManage.name().to_owned()))]
    async fn set_parent_management(&self, ctx: &Context<'_>, allowed: bool) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.set_parent_management(request(ctx)?, allowed).await?;
        Ok(TenantObject(tenant))
    }

    /// Replaces the current tenant's security policy (its owners, or whoever they
    /// give `policy:manage`; its own members only).
    /// Requests entering the tenant are held to it from the next one: networks,
    /// session idle time, a second factor for all or some members (with grace
    /// sign-ins and an enforcement date); the session limit applies at sign-in.
    #[graphql(guard = "Requires(Permission::PolicyManage)", directive = permission::apply(Permission::PolicyManage.name().to_owned()))]
    async fn set_security_policy(&self, ctx: &Context<'_>, input: SecurityPolicyGql) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.set_security_policy(request(ctx)?, input.parse()?).await?;
        Ok(TenantObject(tenant))
    }

    /// Deletes the current tenant softly: it can be restored during its grace period.
    #[graphql(guard = "Requires(Permission::TenantDelete)", directive = permission::apply(Permission::TenantDelete.name().to_owned()))]
    async fn delete_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.delete_tenant(request(ctx)?).await?;
        Ok(TenantObject(tenant))
    }

    /// Restores the current tenant if it is within its deletion grace period.
    #[graphql(guard = "Requires(Permission::TenantDelete)", directive = permission::apply(Permission::TenantDelete.name().to_owned()))]
    async fn restore_tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantObject> {
        let tenant = services(ctx)?.tenants.restore_tenant(request(ctx)?).await?;
        Ok(TenantObject(tenant))
    }
}

/// What happened to a tenant.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(crate) enum TenantEventKind {
    /// Profile, settings or feature flags changed.
    Updated,
    /// Soft-deleted.
    Deleted,
    /// Restored.
    Restored,
}

/// A change to the subscribed tenant.
#[derive(SimpleObject)]
pub(crate) struct TenantEvent {
    /// Unique per event; a client may see an id twice only if it reconnects.
    event_id: ID,
    /// What happened.
    kind: TenantEventKind,
    /// When.
    occurred_at: DateTime<Utc>,
    /// The tenant as it is now.
    tenant: TenantObject,
}

#[derive(Default)]
pub(crate) struct TenantSubscription;

#[Subscription]
impl TenantSubscription {
    /// Changes to the current tenant (`X-Tenant` in the connection's init payload).
    /// Ends when the caller's session ends or they lose access to the tenant.
    #[graphql(guard = "Requires(Permission::TenantRead)", directive = permission::apply(Permission::TenantRead.name().to_owned()))]
    async fn tenant_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ApiResult<TenantEvent>> + use<>, ApiError> {
        watch(ctx, Permission::TenantRead, Permission::TenantRead, |item| async move {
            let kind = match item.event.kind {
                EventKind::TenantUpdated => TenantEventKind::Updated,
                EventKind::TenantDeleted => TenantEventKind::Deleted,
                EventKind::TenantRestored => TenantEventKind::Restored,
                _ => return None,
            };
            Some(TenantEvent {
                event_id: ID(item.event.id.to_string()),
                kind,
                occurred_at: item.event.occurred_at,
                tenant: TenantObject(item.tenant),
            })
        })
    }
}
