//! The service tiers a tenant can be on. The tier is the tenant's (its row in
//! `tenants`), and what each tier may use is the ledger's (`tier_limits`), so
//! both sides name it here.

use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// A tenant's service tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum TenantTier {
    /// Free.
    #[sea_orm(string_value = "free")]
    Free,
    /// Basic.
    #[sea_orm(string_value = "basic")]
    Basic,
    /// Premium.
    #[sea_orm(string_value = "premium")]
    Premium,
    /// Enterprise.
    #[sea_orm(string_value = "enterprise")]
    Enterprise,
}

impl TenantTier {
    /// Every tier, from the smallest.
    pub const ALL: [TenantTier; 4] = [Self::Free, Self::Basic, Self::Premium, Self::Enterprise];

    /// The tier as stored and written in configuration (`free`, `basic`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Basic => "basic",
            Self::Premium => "premium",
            Self::Enterprise => "enterprise",
        }
    }

    /// The tier named `name` (as [`Self::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name.trim().to_ascii_lowercase())
    }
}
