//! A tenant, its tier, status and slug, what creating and changing one asks, and
//! its members; with the checks of names, time zones and languages.

use crate::model::{FeatureFlags, TenantSettings, TenantSettingsPatch};
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
pub use tessera_kernel::TenantTier;
use tessera_kernel::{DomainError, MembershipId, Permission, Result, TenantId, UserId};

/// Where a tenant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum TenantStatus {
    /// Newly signed up.
    #[sea_orm(string_value = "trial")]
    Trial,
    /// In good standing.
    #[sea_orm(string_value = "active")]
    Active,
    /// Blocked by the platform; members can only read.
    #[sea_orm(string_value = "suspended")]
    Suspended,
    /// Soft-deleted; purged after the grace period unless restored.
    #[sea_orm(string_value = "pending_deletion")]
    PendingDeletion,
}

/// How a tenant's data is separated from others'. Only `Shared` (row-level security
/// in one database) exists today; the level is recorded so a migration path is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum IsolationLevel {
    /// Shared tables, rows separated by tenant id and row-level security.
    #[sea_orm(string_value = "shared")]
    Shared,
    /// A schema per tenant.
    #[sea_orm(string_value = "semi_isolated")]
    SemiIsolated,
    /// A database per tenant.
    #[sea_orm(string_value = "fully_isolated")]
    FullyIsolated,
}

impl TenantStatus {
    /// Whether a tenant in this status lets anyone use `permission`: a suspended
    /// tenant is read-only; one pending deletion can only be read and restored.
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Self::Trial | Self::Active => true,
            Self::Suspended => permission.is_read(),
            Self::PendingDeletion => matches!(permission, Permission::TenantRead | Permission::TenantDelete),
        }
    }
}

/// A validated tenant slug: 3–63 characters of `a-z`, `0-9` and single inner
/// hyphens, not a reserved word and not shaped like a UUID (the `X-Tenant` header
/// accepts either, so the two must never be confused).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "graphql", "graphiql", "help", "login", "logout", "metrics", "root", "signup", "static",
    "status", "support", "system", "tessera", "www",
];

impl Slug {
    /// Validates `raw` as a slug.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = |why: &str| DomainError::invalid("slug", why);
        let len = raw.chars().count();
        if !(3..=63).contains(&len) {
            return Err(invalid("must be 3 to 63 characters long"));
        }
        if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(invalid("may contain only lowercase letters, digits and hyphens"));
        }
        if raw.starts_with('-') || raw.ends_with('-') || raw.contains("--") {
            return Err(invalid("hyphens must separate words: no leading, trailing or double hyphens"));
        }
        if RESERVED_SLUGS.contains(&raw) {
            return Err(invalid("is reserved"));
        }
        if uuid::Uuid::parse_str(raw).is_ok() {
            return Err(invalid("must not look like an id"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a display name: trimmed, 1–200 characters, no control characters.
pub(crate) fn parse_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid(field, "must be 1 to 200 characters long"));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// Validates an IANA timezone name (`Europe/Madrid`).
pub(crate) fn parse_timezone(raw: &str) -> Result<String> {
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| DomainError::invalid("timezone", "must be an IANA timezone such as Europe/Madrid"))
}

/// Validates a BCP 47 language tag of the common shape `ll`, `ll-RR`, `ll-Ssss-RR` or
/// `ll-999`, and returns it in canonical case (`en-US`, `zh-Hant-TW`).
pub(crate) fn parse_locale(raw: &str) -> Result<String> {
    let invalid = || DomainError::invalid("locale", "must be a language tag such as en, en-US or pt-BR");
    let mut parts = raw.split(['-', '_']);
    let language = parts.next().filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    let mut out = language.ok_or_else(invalid)?.to_ascii_lowercase();
    let mut seen_region = false;
    for (i, part) in parts.enumerate() {
        let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
        let digits = part.chars().all(|c| c.is_ascii_digit());
        if i == 0 && part.len() == 4 && alpha {
            let mut script = part.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            out.push('-');
            out.push_str(&script);
        } else if !seen_region && ((part.len() == 2 && alpha) || (part.len() == 3 && digits)) {
            seen_region = true;
            out.push('-');
            out.push_str(&part.to_ascii_uppercase());
        } else {
            return Err(invalid());
        }
    }
    Ok(out)
}

/// A tenant as the rest of the system sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// The tenant above it, if any.
    pub parent_tenant_id: Option<TenantId>,
    /// Whether the parent's owners may manage it (with the built-in admin role's
    /// rights). Only the tenant's own members change it.
    pub parent_may_manage: bool,
    /// Service tier.
    pub tier: TenantTier,
    /// Life-cycle status.
    pub status: TenantStatus,
    /// IANA timezone its schedules are written in.
    pub timezone: String,
    /// Default locale.
    pub locale: String,
    /// Typed settings.
    pub settings: TenantSettings,
    /// Feature flags.
    pub feature_flags: FeatureFlags,
    /// How its data is isolated.
    pub isolation_level: IsolationLevel,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When it will be purged unless restored.
    pub deletion_scheduled_at: Option<DateTime<Utc>>,
    /// What it demands of the sessions that use it.
    pub security_policy: crate::SecurityPolicy,
}

/// What signing up a business needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Requested slug.
    pub slug: String,
    /// IANA timezone.
    pub timezone: String,
    /// Locale; `en` when absent.
    pub locale: Option<String>,
}

/// A change to a tenant; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPatch {
    /// New display name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New timezone.
    pub timezone: Option<String>,
    /// New locale.
    pub locale: Option<String>,
    /// Settings to change; those it does not name stay.
    pub settings: Option<TenantSettingsPatch>,
    /// New feature flags (replacing the old ones whole).
    pub feature_flags: Option<FeatureFlags>,
}

/// A user's membership in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The membership id.
    pub id: MembershipId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}
