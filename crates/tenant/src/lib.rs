//! Tenants: the businesses on Tessera, and who belongs to them.
//!
//! A tenant is one business (a salon, a clinic, a studio) with a URL-safe slug, an
//! IANA timezone that its schedules are written in, a locale, typed settings and
//! feature flags, and an optional parent (a franchise owner's business above its
//! branches). A tenant is soft-deleted first and purged only after a grace period,
//! during which its owners can restore it.
//!
//! [`TenantService`] is the only way in. Every method takes the
//! [`RequestContext`](tessera_kernel::RequestContext) first; methods on the request's
//! own tenant need an authorized handle for the permission they require. Membership
//! links users (from `identity`) to tenants; what a member may do is decided by the
//! `rbac` crate, which hooks into tenant creation through [`TenantLifecycle`].

mod access_policy;
mod entity;
mod maintenance;
mod memberships;
mod model;
mod policy;
mod repo;
mod service;

pub use maintenance::set_tier_in;
pub use memberships::{find_member_tenant, insert_membership, is_member, members_among, tenant_ids_of_user};
pub use model::{
    FeatureFlags, IsolationLevel, MAX_ACTIVITY_RETENTION_DAYS, MAX_FEATURE_FLAGS, MIN_ACTIVITY_RETENTION_DAYS, Member,
    NewTenant, Slug, StaffAssignment, Tenant, TenantPatch, TenantSettings, TenantSettingsPatch, TenantStatus,
    TenantTier,
};
pub use policy::{MAX_NETWORKS, MfaRequirement, SecurityPolicy};
pub use service::{
    BoxFuture, CreatedTenant, TenantLifecycle, TenantRef, TenantService, find_parent_managed_tenant,
    load_tenant_in_scope,
};
