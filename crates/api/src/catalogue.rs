//! The platform operator's plan catalogue (`tessera plan list`, `tessera
//! plan add …`): see each plan's latest version with its overage prices, and
//! add a version. A version is never changed: a new price, new overage
//! prices or retiring a plan is a new version, and subscriptions keep the
//! version they are on.

use clap::{Subcommand, ValueEnum};
use tessera_billing::{Interval, NewPlanVersion, OveragePrice, Plan};
use tessera_kernel::TenantTier;
use tessera_ledger::Metric;

use crate::services::Services;

/// How often a plan is paid for, as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntervalArg {
    /// Every month.
    Monthly,
    /// Every year.
    Yearly,
}

/// `tessera plan …`.
#[derive(Debug, Subcommand)]
pub enum PlanAction {
    /// Print each plan's latest version, offered or not, with its overage prices.
    List,
    /// Add the next version of a plan (a new code starts at version 1).
    Add {
        /// The plan's code (lower-case letters, digits and hyphens).
        code: String,
        /// For people.
        #[arg(long)]
        name: String,
        /// The tier a subscriber has: free, basic, premium or enterprise.
        #[arg(long)]
        tier: String,
        /// How often it is paid for.
        #[arg(long, value_enum)]
        interval: IntervalArg,
        /// The price of one period, in minor units of `--currency` (29500 is $295.00).
        #[arg(long)]
        price: i64,
        /// ISO 4217.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The free trial in days.
        #[arg(long, default_value_t = 14)]
        trial_days: i32,
        /// Priced per seat rather than flat.
        #[arg(long)]
        per_seat: bool,
        /// Not offered to new subscriptions (retires the plan).
        #[arg(long)]
        withdrawn: bool,
        /// What each unit beyond the tier's soft limit costs, as
        /// `metric=minor units` (`sms=5`); repeat for each metric.
        #[arg(long = "overage", value_name = "METRIC=PRICE")]
        overage: Vec<String>,
    },
}

/// Runs `tessera plan …`.
pub async fn plan(services: &Services, action: PlanAction) -> Result<(), String> {
    match action {
        PlanAction::List => {
            let plans = services.billing.catalogue_for_operator().await.map_err(|e| e.public_message())?;
            for (plan, overage) in plans {
                println!("{}", line(&plan, &overage));
            }
        }
        PlanAction::Add { code, name, tier, interval, price, currency, trial_days, per_seat, withdrawn, overage } => {
            let tier = TenantTier::parse(&tier)
                .ok_or_else(|| format!("unknown tier {tier:?}: free, basic, premium or enterprise"))?;
            let overage_prices = overage.iter().map(|given| parse_overage(given)).collect::<Result<Vec<_>, _>>()?;
            let new = NewPlanVersion {
                code,
                name,
                tier,
                interval: match interval {
                    IntervalArg::Monthly => Interval::Monthly,
                    IntervalArg::Yearly => Interval::Yearly,
                },
                price_minor: price,
                currency,
                trial_days,
                per_seat,
                available: !withdrawn,
                overage_prices: overage_prices.clone(),
            };
            let added = services.billing.add_plan_version(new, services.clock.now()).await.map_err(|e| {
                let field = e.field().map(|f| format!(" ({f})")).unwrap_or_default();
                format!("{}{field}", e.public_message())
            })?;
            println!("added {}", line(&added, &overage_prices));
        }
    }
    Ok(())
}

/// `sms=5` as an overage price.
fn parse_overage(given: &str) -> Result<OveragePrice, String> {
    let (metric, price) = given.split_once('=').ok_or_else(|| format!("--overage {given:?}: use metric=price"))?;
    let metric = Metric::parse(metric).ok_or_else(|| format!("--overage {given:?}: unknown metric {metric:?}"))?;
    let unit_price_minor =
        price.trim().parse().map_err(|_| format!("--overage {given:?}: the price is a whole number of minor units"))?;
    Ok(OveragePrice { metric, unit_price_minor })
}

/// One plan version, on one line.
fn line(plan: &Plan, overage: &[OveragePrice]) -> String {
    let price = tessera_billing::format_money(plan.price_minor, &plan.currency);
    let per = if plan.per_seat { " per seat" } else { "" };
    let offered = if plan.available { "" } else { ", withdrawn" };
    let overage = match overage {
        [] => String::new(),
        prices => {
            let each: Vec<String> = prices
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p.metric.as_str(),
                        tessera_billing::format_money(p.unit_price_minor, &plan.currency)
                    )
                })
                .collect();
            format!("; overage {}", each.join(", "))
        }
    };
    format!(
        "{} v{} {:?}: {} {price}{per} {:?}, {} trial days{offered}{overage}",
        plan.code,
        plan.version,
        plan.name,
        plan.tier.as_str(),
        plan.interval,
        plan.trial_days
    )
}
