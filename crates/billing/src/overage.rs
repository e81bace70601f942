//! Use beyond a soft limit, billed.
//!
//! A plan version prices each unit of a metric used beyond its tier's soft
//! limit (`plan_overage_prices`); the ledger counts the overage per usage
//! period (the calendar month in the business's timezone), which does not
//! line up with the subscription's periods. So a renewal bills, on the
//! invoice of the period it starts, every usage period that ended since the
//! last renewal's mark (`subscriptions.overage_billed_through`) and by the
//! ending period's end, at the prices of the plan version the business was
//! on, and moves the mark on in the same transaction:
//!
//! - each usage period is billed once: the mark only moves forward, under
//!   the billing lock, and a partial unique index on the lines refuses a
//!   second line for a business's metric and period whatever the code does;
//! - a usage period is billed whole, at the first renewal after it ends;
//!   those that ended in the trial are not billed;
//! - a metric the plan does not price is not billed, then or later.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::ConnectionTrait;
use tessera_kernel::Result;
use tessera_ledger::reads::{MAX_ENDED_OVERAGES, ended_overage};
use tessera_ledger::{EndedOverage, Metric};
use tracing::warn;

use crate::catalogue;
use crate::entity::subscription;
use crate::invoices::NewLine;
use crate::model::{LineKind, OveragePrice, Plan};

/// The overage lines a renewal adds, and how far they bill.
#[derive(Debug, Clone)]
pub(crate) struct Overage {
    pub(crate) lines: Vec<NewLine>,
    /// The new mark: the end of the last usage period considered.
    pub(crate) through: DateTime<Utc>,
}

/// The lines for the usage periods of `sub`'s business that ended after its
/// mark and by `by`, priced by `plan`.
pub(crate) async fn ended_lines<C: ConnectionTrait>(
    conn: &C,
    sub: &subscription::Model,
    plan: &Plan,
    by: DateTime<Utc>,
    timezone: Tz,
) -> Result<Overage> {
    let after = sub.overage_billed_through.unwrap_or(sub.current_period_start);
    if by <= after {
        return Ok(Overage { lines: Vec::new(), through: after });
    }
    let prices = catalogue::overage_prices_of(conn, &[plan.id]).await?.remove(&plan.id).unwrap_or_default();
    if prices.is_empty() {
        // Nothing the plan prices: the months pass unbilled, without reading
        // the counters.
        return Ok(Overage { lines: Vec::new(), through: by });
    }
    let ended = ended_overage(conn, sub.tenant_id, after, by).await?;
    // Answered in full unless the read was capped; then the mark stops at the
    // last period read, and the next renewal goes on from there.
    let through = match ended.last() {
        Some(last) if ended.len() as u64 >= MAX_ENDED_OVERAGES => last.ended_at,
        _ => by,
    };
    let lines = ended
        .iter()
        .filter_map(|period| {
            let price = prices.iter().find(|p| p.metric == period.metric)?;
            Some(line(period, price, timezone))
        })
        .collect();
    Ok(Overage { lines, through })
}

fn line(period: &EndedOverage, price: &OveragePrice, timezone: Tz) -> NewLine {
    let quantity = i32::try_from(period.overage).unwrap_or_else(|_| {
        warn!(metric = period.metric.as_str(), period = %period.period_key, overage = period.overage,
            "an overage beyond one invoice line's quantity is billed at the largest");
        i32::MAX
    });
    let month = period.starts_at.with_timezone(&timezone).format("%B %Y");
    NewLine {
        kind: LineKind::Overage,
        description: format!("{} beyond the plan's limit, {month}", label(period.metric)),
        quantity,
        unit_minor: price.unit_price_minor,
        period: Some((period.starts_at, period.ended_at)),
        usage: Some((period.metric, period.period_key.clone())),
    }
}

/// A metric's name on an invoice.
fn label(metric: Metric) -> String {
    match metric {
        Metric::Sms => "SMS".into(),
        other => {
            let name = other.as_str().replace('_', " ");
            let mut chars = name.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_read_as_words_on_an_invoice() {
        assert_eq!(label(Metric::Sms), "SMS");
        assert_eq!(label(Metric::Bookings), "Bookings");
        assert_eq!(label(Metric::WebhookDeliveries), "Webhook deliveries");
    }
}
