//! The platform's plan catalogue. A plan is a code in versions; a version is
//! never changed, so a new price (or retiring a plan) is a new version, and
//! what a subscription started on stays readable. New subscriptions choose
//! from each code's latest version, when it is available.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use tessera_kernel::{DomainError, PlanId, Result};
use tessera_ledger::Measure;

use crate::entity::{plan, plan_overage_price};
use crate::model::{NewPlanVersion, OveragePrice, Plan};
use crate::money::currency_code;

/// The longest trial a plan may give, in days.
pub const MAX_TRIAL_DAYS: i32 = 365;

/// The most one period of a plan may cost per unit, in minor units (ten
/// million of a two-decimal currency): the API's amounts are 32-bit.
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000;

impl From<plan::Model> for Plan {
    fn from(row: plan::Model) -> Self {
        Self {
            id: row.id,
            code: row.code,
            version: row.version,
            name: row.name,
            tier: row.tier,
            interval: row.interval,
            price_minor: row.price_minor,
            currency: row.currency,
            trial_days: row.trial_days,
            per_seat: row.per_seat,
            available: row.available,
            created_at: row.created_at,
        }
    }
}

/// Each plan's latest version, offered or not, by code.
pub async fn latest<C: ConnectionTrait>(conn: &C) -> Result<Vec<Plan>> {
    let rows =
        plan::Entity::find().order_by_asc(plan::Column::Code).order_by_desc(plan::Column::Version).all(conn).await?;
    let mut latest: Vec<plan::Model> = Vec::new();
    for row in rows {
        if latest.last().is_none_or(|last| last.code != row.code) {
            latest.push(row);
        }
    }
    Ok(latest.into_iter().map(Plan::from).collect())
}

/// Each plan's latest version, when new subscriptions may choose it, by code.
pub async fn on_offer<C: ConnectionTrait>(conn: &C) -> Result<Vec<Plan>> {
    Ok(latest(conn).await?.into_iter().filter(|p| p.available).collect())
}

/// The version of `code` a new subscription gets: its latest, if available.
pub async fn offered<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Plan> {
    let code = code.trim().to_ascii_lowercase();
    let latest = plan::Entity::find()
        .filter(plan::Column::Code.eq(code.as_str()))
        .order_by_desc(plan::Column::Version)
        .one(conn)
        .await?;
    match latest {
        Some(row) if row.available => Ok(row.into()),
        Some(_) => Err(DomainError::invalid("planCode", format!("`{code}` is no longer offered"))),
        None => Err(DomainError::invalid("planCode", format!("there is no plan `{code}`"))),
    }
}

/// The plan version `id`.
pub async fn by_id<C: ConnectionTrait>(conn: &C, id: PlanId) -> Result<Plan> {
    plan::Entity::find_by_id(id).one(conn).await?.map(Plan::from).ok_or(DomainError::NotFound { entity: "plan" })
}

/// Adds the next version of `new.code` (the platform operator's command).
pub async fn add_version<C: ConnectionTrait>(conn: &C, new: NewPlanVersion, now: DateTime<Utc>) -> Result<Plan> {
    let code = new.code.trim().to_ascii_lowercase();
    let valid_code = !code.is_empty()
        && code.len() <= 60
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_code {
        return Err(DomainError::invalid("code", "use 1 to 60 lower-case letters, digits and hyphens"));
    }
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
    }
    if !(0..=MAX_PRICE_MINOR).contains(&new.price_minor) {
        return Err(DomainError::invalid("price", format!("must be 0 to {MAX_PRICE_MINOR} minor units")));
    }
    if !(0..=MAX_TRIAL_DAYS).contains(&new.trial_days) {
        return Err(DomainError::invalid("trialDays", format!("must be 0 to {MAX_TRIAL_DAYS}")));
    }
    let currency = currency_code(&new.currency).ok_or_else(|| DomainError::invalid("currency", "use ISO 4217"))?;
    checked_overage(&new.overage_prices)?;
    let latest = plan::Entity::find()
        .filter(plan::Column::Code.eq(code.as_str()))
        .order_by_desc(plan::Column::Version)
        .one(conn)
        .await?;
    let row = plan::ActiveModel {
        id: Set(PlanId::generate(now)),
        code: Set(code),
        version: Set(latest.map_or(1, |l| l.version + 1)),
        name: Set(name),
        tier: Set(new.tier),
        interval: Set(new.interval),
        price_minor: Set(new.price_minor),
        currency: Set(currency),
        trial_days: Set(new.trial_days),
        per_seat: Set(new.per_seat),
        available: Set(new.available),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .map_err(|e| DomainError::conflict_on_unique(e, "another version of this plan was added at the same time"))?;
    for price in &new.overage_prices {
        plan_overage_price::ActiveModel {
            plan_id: Set(row.id),
            metric: Set(price.metric),
            unit_price_minor: Set(price.unit_price_minor),
        }
        .insert(conn)
        .await?;
    }
    Ok(row.into())
}

/// Overage is billed per period, so only metrics counted per period have a
/// price; each at most once, within the price bounds.
fn checked_overage(prices: &[OveragePrice]) -> Result<()> {
    for (i, price) in prices.iter().enumerate() {
        if price.metric.measure() != Measure::PerPeriod {
            let message = format!("`{}` is not counted per period; overage has no price", price.metric.as_str());
            return Err(DomainError::invalid("overage", message));
        }
        if !(1..=MAX_PRICE_MINOR).contains(&price.unit_price_minor) {
            return Err(DomainError::invalid("overage", format!("a unit costs 1 to {MAX_PRICE_MINOR} minor units")));
        }
        if prices[..i].iter().any(|p| p.metric == price.metric) {
            return Err(DomainError::invalid("overage", format!("`{}` is priced twice", price.metric.as_str())));
        }
    }
    Ok(())
}

/// The overage prices of each plan version in `ids` (every id answered, with
/// none where the version has none).
pub async fn overage_prices_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[PlanId],
) -> Result<HashMap<PlanId, Vec<OveragePrice>>> {
    let mut found: HashMap<PlanId, Vec<OveragePrice>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    let rows = plan_overage_price::Entity::find()
        .filter(plan_overage_price::Column::PlanId.is_in(ids.iter().copied()))
        .order_by_asc(plan_overage_price::Column::Metric)
        .all(conn)
        .await?;
    for row in rows {
        found
            .entry(row.plan_id)
            .or_default()
            .push(OveragePrice { metric: row.metric, unit_price_minor: row.unit_price_minor });
    }
    Ok(found)
}
