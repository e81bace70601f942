//! Tiers, limits and usage: what the business's tier lets it use
//! (`Tenant.limits`, for its members), and what it used (`usage`, for its
//! owners): the current period per metric, a daily series for a chart, and
//! the alerts that tell them when it nears a limit.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tessera_api_macros::operations;
use tessera_kernel::{DomainError, Permission};
use tessera_ledger::{Fired, Limit, LimitMode, LimitOrigin, Measure, Meter, Threshold, UsageAlert, UsageTerms};
use tessera_tenant::Tenant;

use super::objects::TenantTierEnum;
use super::objects::UsageMetricEnum;
use crate::error::ApiResult;
use crate::graphql::{Requires, parse_id, request, services};

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

/// A threshold the business's owners added to the defaults (80 % and 100 %
/// of every limit).
#[derive(SimpleObject)]
#[graphql(name = "UsageAlert")]
pub(crate) struct UsageAlertObject {
    /// Its id.
    id: ID,
    /// The metric it watches.
    metric: UsageMetricEnum,
    /// Fires at this percentage of the limit (or null: at an amount).
    percent: Option<i32>,
    /// Fires at this use (or null: at a percentage).
    amount: Option<i64>,
    /// When it was added.
    created_at: DateTime<Utc>,
}

impl From<UsageAlert> for UsageAlertObject {
    fn from(alert: UsageAlert) -> Self {
        let (percent, amount) = match alert.threshold {
            Threshold::Percent(p) => (Some(p), None),
            Threshold::Amount(a) => (None, Some(a)),
        };
        Self {
            id: ID(alert.id.to_string()),
            metric: alert.metric.into(),
            percent,
            amount,
            created_at: alert.created_at,
        }
    }
}

/// A threshold reached in the current period (each fires once a period).
#[derive(SimpleObject)]
#[graphql(name = "UsageAlertFiring")]
pub(crate) struct UsageAlertFiringObject {
    /// The metric.
    metric: UsageMetricEnum,
    /// `80%` (of the limit) or `500` (an amount).
    threshold: String,
    /// The use at which it fires.
    level: i64,
    /// The use that reached it.
    used: i64,
    /// The limit then; null: unlimited.
    limit: Option<i64>,
    /// When.
    fired_at: DateTime<Utc>,
}

impl From<Fired> for UsageAlertFiringObject {
    fn from(f: Fired) -> Self {
        Self {
            metric: f.metric.into(),
            threshold: f.threshold,
            level: f.level,
            used: f.used,
            limit: f.limit,
            fired_at: f.fired_at,
        }
    }
}

/// An alert to add: at a percentage of the limit or at an amount (one of them).
#[derive(InputObject)]
pub(crate) struct AddUsageAlertInput {
    /// The metric to watch (a counted one, not a rate per minute).
    metric: UsageMetricEnum,
    /// A percentage of the limit, 1 to 1000.
    percent: Option<i32>,
    /// A use, 1 or more.
    amount: Option<i64>,
}

/// One source's use of a metric in the current period.
#[derive(SimpleObject)]
#[graphql(name = "UsageSource")]
pub(crate) struct UsageSourceObject {
    /// What kind of source: `user` (a signed-in member), `api_key`,
    /// `partner_client`, `booking`, `delivery`, `provider`, ….
    kind: String,
    /// Its id (a member's is the `User`'s, a partner client's the
    /// `OAuthClient`'s); null when the use had none.
    source_id: Option<ID>,
    /// What it used.
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
    /// Who used `metric` in the current period (for `API_REQUESTS`: which
    /// member, API key or partner client), the largest first, at most 100.
    /// Requests are written in batches, every 15 seconds.
    async fn by_source(&self, ctx: &Context<'_>, metric: UsageMetricEnum) -> ApiResult<Vec<UsageSourceObject>> {
        let sources = services(ctx)?.usage.by_source(request(ctx)?, &terms_of(&self.0)?, metric.into()).await?;
        Ok(sources
            .into_iter()
            .map(|(kind, id, used)| UsageSourceObject { kind, source_id: id.map(ID), used })
            .collect())
    }
    /// The thresholds its owners added.
    async fn alerts(&self, ctx: &Context<'_>) -> ApiResult<Vec<UsageAlertObject>> {
        let alerts = services(ctx)?.usage.alerts(request(ctx)?).await?;
        Ok(alerts.into_iter().map(Into::into).collect())
    }
    /// The thresholds reached in the current periods, in the order they fired.
    async fn fired(&self, ctx: &Context<'_>) -> ApiResult<Vec<UsageAlertFiringObject>> {
        let fired = services(ctx)?.usage.fired(request(ctx)?, &terms_of(&self.0)?).await?;
        Ok(fired.into_iter().map(Into::into).collect())
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

/// Mutations about usage alerts.
#[derive(Default)]
pub(super) struct UsageMutations;

#[operations]
#[Object]
impl UsageMutations {
    /// Adds a usage alert: the owners are told (by email and in the app) and
    /// the webhooks get `usage.threshold_reached` when the use reaches it, once
    /// a period. At most 20.
    #[access(Requires(Permission::TenantManage))]
    async fn add_usage_alert(&self, ctx: &Context<'_>, input: AddUsageAlertInput) -> ApiResult<UsageAlertObject> {
        let threshold = match (input.percent, input.amount) {
            (Some(percent), None) => Threshold::Percent(percent),
            (None, Some(amount)) => Threshold::Amount(amount),
            _ => return Err(DomainError::invalid("percent", "give a percent or an amount, not both").into()),
        };
        let added = services(ctx)?.usage.add_alert(request(ctx)?, input.metric.into(), threshold).await?;
        Ok(added.into())
    }

    /// Removes one of the business's usage alerts; returns its id.
    #[access(Requires(Permission::TenantManage))]
    async fn remove_usage_alert(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let parsed: uuid::Uuid = parse_id("id", &id)?;
        services(ctx)?.usage.remove_alert(request(ctx)?, parsed).await?;
        Ok(id)
    }
}
