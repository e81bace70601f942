//! The platform operator's tiers and limits (`tessera tier`, `tessera limits …`,
//! `tessera usage recompute`): move a business to another tier, show and set
//! each tier's limits (one at a time, or all from a TOML file), set one
//! business's own limits, and prove the usage counters. Every change adds a
//! version; nothing that applied before is rewritten.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Subcommand;
use serde::Deserialize;
use tessera_kernel::{DomainError, TenantTier};
use tessera_ledger::{LimitMode, Metric, NewLimit};

use crate::services::Services;

/// `tessera limits …`.
#[derive(Debug, Subcommand)]
pub enum LimitsAction {
    /// Print every tier's limits in force, with their versions.
    Show,
    /// Set one tier's limit of one metric (a new version).
    Set {
        /// free, basic, premium or enterprise.
        tier: String,
        /// The metric (providers, staff_seats, bookings, sms, emails, webhook_endpoints,
        /// api_credentials, requests_per_minute, complexity_per_minute).
        metric: String,
        /// How much, or `unlimited`.
        limit: String,
        /// Allow use beyond the limit and count it as overage (default: refuse it).
        #[arg(long)]
        soft: bool,
        /// Why (kept with the version).
        #[arg(long)]
        note: Option<String>,
    },
    /// Set one business's own limit of one metric (an agreement), or `tier` to
    /// follow its tier again.
    SetFor {
        /// The business's slug.
        slug: String,
        /// The metric.
        metric: String,
        /// How much, `unlimited`, or `tier`.
        limit: String,
        /// Allow use beyond the limit and count it as overage.
        #[arg(long)]
        soft: bool,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Set the tiers' limits from a TOML file (`[basic] bookings = { limit = 1000,
    /// mode = "soft" }`; `limit = "unlimited"`); only what differs gets a new version.
    Apply {
        /// The file.
        file: std::path::PathBuf,
    },
}

/// One limit as a TOML file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimit {
    limit: FileValue,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileValue {
    Count(i64),
    Word(String),
}

fn parse_tier(name: &str) -> Result<TenantTier, String> {
    TenantTier::parse(name).ok_or_else(|| format!("unknown tier {name:?}: free, basic, premium or enterprise"))
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    Metric::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        format!("unknown metric {name:?}: one of {}", known.join(", "))
    })
}

/// `limit` as given (`120`, `unlimited`, or `tier` where `follow_tier` is allowed).
fn parse_limit(limit: &str, soft: bool, note: Option<String>, follow_tier: bool) -> Result<NewLimit, String> {
    let mode = if soft { LimitMode::Soft } else { LimitMode::Hard };
    match limit.trim() {
        "unlimited" => Ok(NewLimit { value: None, mode, note }),
        "tier" if follow_tier => Ok(NewLimit { value: None, mode: LimitMode::FollowTier, note }),
        n => n.parse::<i64>().ok().filter(|n| *n >= 0).map(|n| NewLimit { value: Some(n), mode, note }).ok_or_else(
            || format!("limit must be a whole number, or unlimited{}", if follow_tier { ", or tier" } else { "" }),
        ),
    }
}

fn message(err: DomainError) -> String {
    err.public_message()
}

/// Runs `tessera limits …`.
pub async fn limits(services: &Services, action: LimitsAction) -> Result<(), String> {
    let now = services.clock.now();
    match action {
        LimitsAction::Show => {
            println!("{:<11} {:<22} {:>10} {:<5} version", "tier", "metric", "limit", "mode");
            for row in services.usage.tier_table().await.map_err(message)? {
                let limit = row.value.map_or("unlimited".into(), |v| v.to_string());
                let mode = if row.mode == LimitMode::Soft { "soft" } else { "hard" };
                println!(
                    "{:<11} {:<22} {:>10} {:<5} {}",
                    row.tier.as_str(),
                    row.metric.as_str(),
                    limit,
                    mode,
                    row.version
                );
            }
        }
        LimitsAction::Set { tier, metric, limit, soft, note } => {
            let (tier, metric) = (parse_tier(&tier)?, parse_metric(&metric)?);
            let limit = parse_limit(&limit, soft, note, false)?;
            let set = services.usage.set_tier_limit(tier, metric, limit, now).await.map_err(message)?;
            println!("{} {}: version {}", set.tier.as_str(), set.metric.as_str(), set.version);
        }
        LimitsAction::SetFor { slug, metric, limit, soft, note } => {
            let metric = parse_metric(&metric)?;
            let limit = parse_limit(&limit, soft, note, true)?;
            let tenant = services.tenants.tenant_for_operator(&slug).await.map_err(message)?;
            let version = services.usage.set_tenant_limit(tenant.id, metric, limit, now).await.map_err(message)?;
            println!("{slug} {}: version {version}", metric.as_str());
        }
        LimitsAction::Apply { file } => apply(services, &file).await?,
    }
    Ok(())
}

async fn apply(services: &Services, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let tiers: BTreeMap<String, BTreeMap<String, FileLimit>> =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    // Everything is checked before anything is written.
    let mut wanted = Vec::new();
    for (tier, metrics) in tiers {
        let tier = parse_tier(&tier)?;
        for (metric, given) in metrics {
            let metric = parse_metric(&metric)?;
            let soft = match given.mode.as_deref() {
                None | Some("hard") => false,
                Some("soft") => true,
                Some(other) => {
                    return Err(format!("{} {}: mode {other:?} is hard or soft", tier.as_str(), metric.as_str()));
                }
            };
            let limit = match given.limit {
                FileValue::Count(n) => n.to_string(),
                FileValue::Word(word) => word,
            };
            wanted.push((tier, metric, parse_limit(&limit, soft, given.note, false)?));
        }
    }
    let current = services.usage.tier_table().await.map_err(message)?;
    let mut changed = 0;
    for (tier, metric, limit) in wanted {
        let same = current
            .iter()
            .any(|c| c.tier == tier && c.metric == metric && c.value == limit.value && c.mode == limit.mode);
        if !same {
            let set =
                services.usage.set_tier_limit(tier, metric, limit, services.clock.now()).await.map_err(message)?;
            println!("{} {}: version {}", set.tier.as_str(), set.metric.as_str(), set.version);
            changed += 1;
        }
    }
    println!("{changed} limit(s) changed");
    Ok(())
}

/// Runs `tessera tier <slug> <tier>`.
pub async fn set_tier(services: &Services, slug: &str, tier: &str) -> Result<(), String> {
    let tier = parse_tier(tier)?;
    let tenant = services.tenants.set_tier(slug, tier, services.clock.now()).await.map_err(message)?;
    println!("{} is now on the {} tier", tenant.slug, tenant.tier.as_str());
    Ok(())
}

/// Runs `tessera usage recompute`: every counter against its records; an
/// error when any differs.
pub async fn recompute(services: &Services) -> Result<(), String> {
    let drifts = services.usage.recompute().await.map_err(message)?;
    for d in &drifts {
        let counted = d.counted.map_or("none".into(), |c| c.to_string());
        println!("{} {} {}: counter {counted}, records {}", d.tenant_id, d.metric, d.period_key, d.recorded);
    }
    if drifts.is_empty() {
        println!("every usage counter equals the sum of its records");
        Ok(())
    } else {
        Err(format!("{} usage counter(s) differ from their records", drifts.len()))
    }
}
