//! What a change of plan or quantity costs, worked out the same way when it
//! is previewed and when it is applied (as of the instant it was previewed),
//! so the charge is the quote by construction.
//!
//! The rules, in order:
//!
//! 1. During the trial a change applies now and costs nothing: the trial's
//!    first invoice is for the new plan.
//! 2. More seats of the same plan apply now; the added seats are charged for
//!    the rest of the period, by day. Fewer seats take effect at the
//!    period's end.
//! 3. Another plan whose charge for its own period is at least the current
//!    one's (monthly to yearly, or a dearer plan) applies now and starts a
//!    new period; what was paid for the current period and is not yet used
//!    is credited, by day and never more than was paid (`proration.rs`).
//! 4. A cheaper plan (yearly to monthly too) takes effect at the period's
//!    end, with no refund.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainError, Result, SubscriptionId};
use uuid::Uuid;

use crate::entity::subscription;
use crate::invoices::{NewLine, plan_line, totals};
use crate::model::{Invoice, InvoiceLine, LineKind, Plan, Subscription, SubscriptionStatus};
use crate::periods::period_end;
use crate::proration::{Paid, local_days, rest_of_period, unused_credit};

/// When a change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(12))")]
pub enum ChangeTiming {
    /// Now, charged now (an upgrade, more seats).
    #[sea_orm(string_value = "now")]
    Now,
    /// At the end of the current period (a downgrade, fewer seats).
    #[sea_orm(string_value = "period_end")]
    PeriodEnd,
    /// Now, free of charge, during the trial.
    #[sea_orm(string_value = "trial")]
    Trial,
}

/// A priced change, kept for a few minutes: applying it charges exactly
/// `amount_due_minor`, or is refused once it expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Its id, to apply it.
    pub id: Uuid,
    /// The subscription it changes.
    pub subscription_id: SubscriptionId,
    /// The plan after the change.
    pub plan: Plan,
    /// The seats after the change.
    pub quantity: i32,
    /// When the change takes effect.
    pub timing: ChangeTiming,
    /// The instant it takes effect.
    pub effective_at: DateTime<Utc>,
    /// ISO 4217.
    pub currency: String,
    /// What applying it charges now.
    pub amount_due_minor: i64,
    /// The lines: what is charged now, or, for a change at the period's end,
    /// what the next invoice will hold.
    pub lines: Vec<InvoiceLine>,
    /// The instant it was priced at.
    pub computed_at: DateTime<Utc>,
    /// After this it cannot be applied.
    pub expires_at: DateTime<Utc>,
}

/// A change waiting for the period's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledChange {
    /// The plan it moves to.
    pub plan: Plan,
    /// The seats it moves to.
    pub quantity: i32,
    /// When.
    pub effective_at: DateTime<Utc>,
}

/// What applying a quote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeApplied {
    /// The subscription now.
    pub subscription: Subscription,
    /// The invoice that charged the change, if it was charged now.
    pub invoice: Option<Invoice>,
}

/// A change worked out.
#[derive(Debug, Clone)]
pub(crate) struct Priced {
    pub(crate) timing: ChangeTiming,
    pub(crate) lines: Vec<NewLine>,
    pub(crate) amount_due_minor: i64,
    pub(crate) effective_at: DateTime<Utc>,
    /// The period a change that applies now starts (the current one, when
    /// only seats are added).
    pub(crate) period: (DateTime<Utc>, DateTime<Utc>),
    /// Whether `period` is a new one (another plan, now).
    pub(crate) starts_period: bool,
    /// The price per seat after the change.
    pub(crate) unit_price_minor: i64,
}

/// Prices the change of `sub` to `quantity` seats of `target` at `at`, with
/// what was `paid` for its current period.
pub(crate) fn price_change(
    sub: &subscription::Model,
    target: &Plan,
    quantity: i32,
    paid: &[Paid],
    at: DateTime<Utc>,
    timezone: Tz,
) -> Result<Priced> {
    let same_plan = target.id == sub.plan_id;
    let unit = if same_plan { sub.unit_price_minor } else { target.price_minor };
    let current_period = (sub.current_period_start, sub.current_period_end);
    let next_period = (sub.current_period_end, period_end(sub.current_period_end, timezone, target.interval, 0)?);
    let at_period_end = |lines| Priced {
        timing: ChangeTiming::PeriodEnd,
        lines,
        amount_due_minor: 0,
        effective_at: sub.current_period_end,
        period: next_period,
        starts_period: false,
        unit_price_minor: unit,
    };
    let plan_line = |period| plan_line(target, quantity, unit, period);
    if sub.status == SubscriptionStatus::Trialing {
        return Ok(Priced {
            timing: ChangeTiming::Trial,
            lines: Vec::new(),
            amount_due_minor: 0,
            effective_at: at,
            period: current_period,
            starts_period: false,
            unit_price_minor: unit,
        });
    }
    let new_total = i64::from(quantity) * unit;
    let old_total = i64::from(sub.quantity) * sub.unit_price_minor;
    let (timing, lines, period, starts_period) = if same_plan && quantity > sub.quantity {
        let added = quantity - sub.quantity;
        let amount = rest_of_period(i64::from(added) * unit, at, current_period, timezone);
        let days =
            (local_days(at, current_period.1, timezone), local_days(current_period.0, current_period.1, timezone));
        let line = NewLine {
            kind: LineKind::ProrationCharge,
            description: format!("{added} more seats of {}, {} of {} days", target.name, days.0, days.1),
            quantity: 1,
            unit_minor: amount,
            period: Some((at, current_period.1)),
            usage: None,
        };
        (ChangeTiming::Now, vec![line], current_period, false)
    } else if !same_plan && new_total >= old_total {
        let period = (at, period_end(at, timezone, target.interval, 0)?);
        let mut lines = vec![plan_line(period)];
        let credit = unused_credit(paid, at, timezone).min(new_total);
        if credit > 0 {
            let days =
                (local_days(at, current_period.1, timezone), local_days(current_period.0, current_period.1, timezone));
            lines.push(NewLine {
                kind: LineKind::ProrationCredit,
                description: format!("Unused time on the previous plan, {} of {} days", days.0, days.1),
                quantity: 1,
                unit_minor: -credit,
                period: Some((at, current_period.1)),
                usage: None,
            });
        }
        (ChangeTiming::Now, lines, period, true)
    } else {
        return Ok(at_period_end(vec![plan_line(next_period)]));
    };
    let (_, _, total) = totals(&lines)?;
    Ok(Priced {
        timing,
        lines,
        amount_due_minor: total,
        effective_at: at,
        period,
        starts_period,
        unit_price_minor: unit,
    })
}

/// A line as a quote keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredLine {
    kind: String,
    description: String,
    quantity: i32,
    unit_minor: i64,
    period: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The lines as a quote keeps them (JSON).
pub(crate) fn store_lines(lines: &[NewLine]) -> Result<String> {
    let stored: Vec<StoredLine> = lines
        .iter()
        .map(|l| StoredLine {
            kind: sea_orm::ActiveEnum::to_value(&l.kind),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_minor: l.unit_minor,
            period: l.period,
        })
        .collect();
    serde_json::to_string(&stored).map_err(|e| DomainError::Internal(format!("a quote's lines: {e}")))
}

/// A new line as it shows on a quote.
pub(crate) fn shown(line: NewLine) -> InvoiceLine {
    InvoiceLine {
        kind: line.kind,
        amount_minor: line.unit_minor.saturating_mul(i64::from(line.quantity)),
        description: line.description,
        quantity: line.quantity,
        unit_minor: line.unit_minor,
        period: line.period,
    }
}
