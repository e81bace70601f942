//! Tiers, limits and usage: what the business's tier lets it use
//! (`Tenant.limits`, for its members), and what it used (`usage`, for its
//! owners): the current period per metric and a daily series for a chart.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tessera_api_macros::operations;
use tessera_kernel::{DomainError, Permission};
use tessera_ledger::{Limit, LimitMode, LimitOrigin, Measure, Meter, UsageTerms};
use tessera_tenant::Tenant;

use super::tenants::TenantTierEnum;
use crate::error::ApiResult;
use crate::graphql::{Requires, request, services};

/// Something a business uses and its tier may limit.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UsageMetric", remote = "tessera_ledger::Metric")]
pub(crate) enum UsageMetricEnum {
    /// Active providers.
    Providers,
    /// Members (staff seats).
    StaffSeats,
    /// Bookings made in the period (cancelling one does not give it back).
    Bookings,
    /// Text messages sent in the period.
    Sms,
    /// Emails sent in the period.
    Emails,
    /// Webhook endpoints.
    WebhookEndpoints,
    /// API keys and partner clients.
    ApiCredentials,
    /// API requests per minute.
    RequestsPerMinute,
    /// GraphQL query cost per minute.
    ComplexityPerMinute,
}

/// What happens beyond a limit.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "LimitMode")]
pub(crate) enum LimitModeEnum {
    /// Refused with `QUOTA_EXCEEDED`.
    Hard,
    /// Allowed, and counted as overage.
    Soft,
}

/// Whose limit applies.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "LimitOrigin")]
pub(crate) enum LimitOriginEnum {
    /// The business's tier.
    Tier,
    /// The platform's agreement with this business.
    Tenant,
    /// None is set: unlimited.
    Unset,
}

/// How a metric is counted.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UsagePeriod")]
pub(crate) enum UsagePeriodEnum {
    /// Things that exist now; removing one gives its place back.
    Stock,
    /// Uses per month, in the business's timezone.
    Month,
    /// A rate per minute, enforced as requests arrive.
    Minute,
}

/// A limit in force.
#[derive(SimpleObject)]
#[graphql(name = "UsageLimit")]
pub(crate) struct UsageLimitObject {
    /// What it limits.
    metric: UsageMetricEnum,
    /// How much may be used; null: unlimited.
    limit: Option<i64>,
    /// What happens beyond it.
    mode: LimitModeEnum,
    /// How it is counted.
    period: UsagePeriodEnum,
    /// Whose limit it is.
    origin: LimitOriginEnum,
    /// Its version (a change adds one; earlier ones stay on record).
    version: Option<i32>,
}

impl From<&Limit> for UsageLimitObject {
    fn from(limit: &Limit) -> Self {
        let (origin, version) = match limit.origin {
            LimitOrigin::Tier(v) => (LimitOriginEnum::Tier, Some(v)),
            LimitOrigin::Tenant(v) => (LimitOriginEnum::Tenant, Some(v)),
            LimitOrigin::Unset => (LimitOriginEnum::Unset, None),
        };
        Self {
            metric: limit.metric.into(),
            limit: limit.value,
            mode: if limit.mode == LimitMode::Soft { LimitModeEnum::Soft } else { LimitModeEnum::Hard },
            period: match limit.metric.measure() {
                Measure::Stock => UsagePeriodEnum::Stock,
                Measure::PerPeriod => UsagePeriodEnum::Month,
                Measure::PerMinute => UsagePeriodEnum::Minute,
            },
            origin,
            version,
        }
    }
}

/// One counted metric in the current period.
#[derive(SimpleObject)]
#[graphql(name = "UsageMeter")]
pub(crate) struct UsageMeterObject {
    /// The limit in force.
    limit: UsageLimitObject,
    /// Used in the period (a stock: now).
    used: i64,
    /// Used beyond a soft limit in the period.
    overage: i64,
    /// What is left before the limit; null: unlimited.
    remaining: Option<i64>,
    /// When the period began; null for a stock.
    period_starts_at: Option<DateTime<Utc>>,
    /// When counting starts again; null for a stock.
    resets_at: Option<DateTime<Utc>>,
}

impl From<Meter> for UsageMeterObject {
    fn from(meter: Meter) -> Self {
        Self {
            limit: (&meter.limit).into(),
            used: meter.used,
            overage: meter.overage,
            remaining: meter.limit.value.map(|l| (l - meter.used).max(0)),
            period_starts_at: meter.period.starts_at,
            resets_at: meter.period.resets_at,
        }
    }
}

/// One local day's use.
#[derive(SimpleObject)]
#[graphql(name = "UsageDay")]
pub(crate) struct UsageDayObject {
    /// The date, in the business's timezone.
    date: NaiveDate,
    /// Used that day (a stock: added less removed).
    used: i64,
}

/// The business's usage (for its owners).
#[derive(Clone)]
pub(crate) struct TenantUsageObject(Tenant);

#[Object(name = "TenantUsage")]
impl TenantUsageObject {
    /// Its tier.
    async fn tier(&self) -> TenantTierEnum {
        self.0.tier.into()
    }
    /// Every counted metric: limit, use and overage in the current period.
    async fn meters(&self, ctx: &Context<'_>) -> ApiResult<Vec<UsageMeterObject>> {
        let meters = services(ctx)?.usage.meters(request(ctx)?, &terms_of(&self.0)?).await?;
        Ok(meters.into_iter().filter(|m| m.limit.metric.measure() != Measure::PerMinute).map(Into::into).collect())
    }
    /// The use of `metric` on each day from `from` to `to` (inclusive, at most
    /// 366 days), zero where nothing was used.
    async fn daily(
        &self,
        ctx: &Context<'_>,
        metric: UsageMetricEnum,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Vec<UsageDayObject>> {
        let days = services(ctx)?.usage.daily(request(ctx)?, metric.into(), from, to).await?;
        Ok(days.into_iter().map(|(date, used)| UsageDayObject { date, used }).collect())
    }
}

/// The ledger's view of `tenant`.
pub(super) fn terms_of(tenant: &Tenant) -> ApiResult<UsageTerms> {
    let timezone: Tz = tenant
        .timezone
        .parse()
        .map_err(|_| DomainError::Internal(format!("tenant timezone {} is invalid", tenant.timezone)))?;
    Ok(UsageTerms { tenant_id: tenant.id, tier: tenant.tier, timezone })
}

/// Queries about usage.
#[derive(Default)]
pub(super) struct UsageQueries;

#[operations]
#[Object]
impl UsageQueries {
    /// The current business's usage against its tier's limits.
    #[access(Requires(Permission::TenantManage))]
    async fn usage(&self, ctx: &Context<'_>) -> ApiResult<TenantUsageObject> {
        Ok(TenantUsageObject(services(ctx)?.tenants.current_tenant(request(ctx)?).await?))
    }
}
