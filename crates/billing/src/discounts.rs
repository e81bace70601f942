//! What a business's coupons take off an invoice, in a documented order:
//! the oldest redemption first, each on what the ones before it left (a
//! percent of the rest, or a fixed amount up to it), stopping at zero, so an
//! invoice is never below zero.
//!
//! What counts as a use: an invoice that bills a period (it has a plan line)
//! uses one period of a `repeating` coupon and a percent `once` coupon; a
//! fixed `once` coupon is used by its amount, across invoices until nothing
//! is left; a `forever` coupon is never used up. An invoice for part of a
//! period (seats added) takes the discounts that are running without using
//! a period. Voiding an invoice gives back what it used.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use tessera_kernel::{Result, TenantId};
use uuid::Uuid;

use crate::coupons::{CouponDuration, RedemptionStatus};
use crate::entity::{coupon, coupon_redemption, invoice_line};
use crate::invoices::{NewLine, totals};
use crate::model::LineKind;
use crate::money::format_money;
use crate::proration::share;

/// A coupon the business holds, as a discount applies it.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) redemption: coupon_redemption::Model,
    pub(crate) coupon: coupon::Model,
}

/// One coupon's discount on one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discount {
    pub(crate) redemption_id: Uuid,
    /// Taken off, positive.
    pub(crate) amount_minor: i64,
    pub(crate) description: String,
}

impl Discount {
    /// The invoice line.
    fn line(&self) -> NewLine {
        NewLine {
            kind: LineKind::Discount,
            description: self.description.clone(),
            quantity: 1,
            unit_minor: -self.amount_minor,
            period: None,
            usage: None,
        }
    }
}

/// The discounts of `held` (oldest first) on `subtotal`, for an invoice that
/// bills a period or not.
fn discounts(held: &[Held], subtotal: i64, bills_period: bool) -> Vec<Discount> {
    let mut left = subtotal.max(0);
    let mut found = Vec::new();
    for Held { redemption, coupon } in held {
        if left == 0 {
            break;
        }
        let fixed_once = coupon.duration == CouponDuration::Once && coupon.amount_off_minor.is_some();
        let applies = redemption.status == RedemptionStatus::Active
            && match coupon.duration {
                CouponDuration::Once if fixed_once => redemption.amount_remaining_minor.unwrap_or(0) > 0,
                CouponDuration::Once => bills_period,
                CouponDuration::Repeating => redemption.periods_remaining.unwrap_or(0) > 0,
                CouponDuration::Forever => true,
            };
        if !applies {
            continue;
        }
        let (amount, off) = match (coupon.percent_bps, coupon.amount_off_minor, coupon.currency.as_deref()) {
            (Some(bps), _, _) => (share(left, i64::from(bps), 10_000), format!("{}% off", f64::from(bps) / 100.0)),
            (None, Some(off), currency) => {
                let most = if fixed_once { redemption.amount_remaining_minor.unwrap_or(0) } else { off };
                (most.min(left), format!("{} off", format_money(off, currency.unwrap_or_default())))
            }
            (None, None, _) => continue,
        };
        if amount <= 0 {
            continue;
        }
        left -= amount;
        found.push(Discount {
            redemption_id: redemption.id,
            amount_minor: amount,
            description: format!("{} ({}): {off}", coupon.name, coupon.code),
        });
    }
    found
}

/// The business's coupons on an invoice's lines: the discounts, and what
/// taking them uses of the coupons.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    held: Vec<Held>,
    pub(crate) discounts: Vec<Discount>,
    bills_period: bool,
}

impl Applied {
    /// The discount lines.
    pub(crate) fn lines(&self) -> impl Iterator<Item = NewLine> + '_ {
        self.discounts.iter().map(Discount::line)
    }

    /// Records what the invoice that takes them uses of the coupons.
    pub(crate) async fn use_up(&self, txn: &DatabaseTransaction, now: DateTime<Utc>) -> Result<()> {
        use_up(txn, &self.held, &self.discounts, self.bills_period, now).await
    }
}

/// What the business's coupons take off `lines` (none of them a discount),
/// as an invoice of those lines would take it: every invoice, quote and
/// upcoming invoice is discounted here.
pub(crate) async fn on_lines<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, lines: &[NewLine]) -> Result<Applied> {
    let bills_period = lines.iter().any(|l| l.kind == LineKind::Plan);
    let (subtotal, _, _) = totals(lines)?;
    let held = held(conn, tenant_id).await?;
    let discounts = discounts(&held, subtotal, bills_period);
    Ok(Applied { held, discounts, bills_period })
}

/// The coupons the business holds, the oldest redemption first.
async fn held<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<Vec<Held>> {
    let redemptions = coupon_redemption::Entity::find()
        .filter(coupon_redemption::Column::TenantId.eq(tenant_id))
        .filter(coupon_redemption::Column::Status.eq(RedemptionStatus::Active))
        .order_by_asc(coupon_redemption::Column::RedeemedAt)
        .order_by_asc(coupon_redemption::Column::Id)
        .all(conn)
        .await?;
    if redemptions.is_empty() {
        return Ok(Vec::new());
    }
    let coupons = coupon::Entity::find()
        .filter(coupon::Column::Id.is_in(redemptions.iter().map(|r| r.coupon_id)))
        .all(conn)
        .await?;
    Ok(redemptions
        .into_iter()
        .filter_map(|redemption| {
            let coupon = coupons.iter().find(|c| c.id == redemption.coupon_id)?.clone();
            Some(Held { redemption, coupon })
        })
        .collect())
}

/// Records what an invoice's discounts used of the coupons.
async fn use_up(
    txn: &DatabaseTransaction,
    held: &[Held],
    applied: &[Discount],
    bills_period: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    for discount in applied {
        let Some(Held { redemption, coupon }) = held.iter().find(|h| h.redemption.id == discount.redemption_id) else {
            continue;
        };
        let mut row: coupon_redemption::ActiveModel = redemption.clone().into();
        let exhausted = match (coupon.duration, redemption.amount_remaining_minor, redemption.periods_remaining) {
            (CouponDuration::Once, Some(remaining), _) => {
                let left = (remaining - discount.amount_minor).max(0);
                row.amount_remaining_minor = Set(Some(left));
                left == 0
            }
            (CouponDuration::Once, None, _) => bills_period,
            (CouponDuration::Repeating, _, Some(periods)) if bills_period => {
                row.periods_remaining = Set(Some(periods - 1));
                periods - 1 <= 0
            }
            _ => false,
        };
        if exhausted {
            row.status = Set(RedemptionStatus::Exhausted);
        }
        row.updated_at = Set(now);
        row.update(txn).await?;
    }
    Ok(())
}

/// Gives back what a voided invoice's discounts used.
pub(crate) async fn give_back(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    invoice_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::TenantId.eq(tenant_id))
        .filter(invoice_line::Column::InvoiceId.eq(invoice_id))
        .all(txn)
        .await?;
    let bills_period = lines.iter().any(|l| l.kind == LineKind::Plan);
    for line in lines {
        let Some(id) = line.coupon_redemption_id else { continue };
        let Some(redemption) = coupon_redemption::Entity::find_by_id((tenant_id, id)).one(txn).await? else {
            continue;
        };
        let Some(coupon) = coupon::Entity::find_by_id(redemption.coupon_id).one(txn).await? else { continue };
        let mut row: coupon_redemption::ActiveModel = redemption.clone().into();
        match (coupon.duration, redemption.amount_remaining_minor, redemption.periods_remaining) {
            (CouponDuration::Once, Some(remaining), _) => {
                row.amount_remaining_minor = Set(Some(remaining.saturating_add(-line.amount_minor)));
            }
            (CouponDuration::Repeating, _, Some(periods)) if bills_period => {
                row.periods_remaining = Set(Some(periods + 1));
            }
            (CouponDuration::Once, None, _) if bills_period => {}
            _ => continue,
        }
        row.status = Set(RedemptionStatus::Active);
        row.updated_at = Set(now);
        row.update(txn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(code: &str, percent: Option<i32>, off: Option<i64>, duration: CouponDuration, n: Option<i32>) -> Held {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Held {
            redemption: coupon_redemption::Model {
                tenant_id: TenantId(Uuid::nil()),
                id: Uuid::now_v7(),
                coupon_id: Uuid::nil(),
                periods_remaining: n,
                amount_remaining_minor: (duration == CouponDuration::Once).then_some(off).flatten(),
                status: RedemptionStatus::Active,
                redeemed_at: at,
                updated_at: at,
            },
            coupon: coupon::Model {
                id: Uuid::nil(),
                code: code.into(),
                name: code.into(),
                percent_bps: percent,
                amount_off_minor: off,
                currency: off.map(|_| "USD".into()),
                duration,
                duration_periods: n,
                max_redemptions: None,
                times_redeemed: 0,
                redeem_by: None,
                created_at: at,
            },
        }
    }

    fn amounts(found: &[Discount]) -> Vec<i64> {
        found.iter().map(|d| d.amount_minor).collect()
    }

    #[test]
    fn the_oldest_coupon_goes_first_and_each_takes_from_what_is_left() {
        let fixed = held("FIFTY", None, Some(5_000), CouponDuration::Once, None);
        let percent = held("TWENTY", Some(2_000), None, CouponDuration::Repeating, Some(2));
        assert_eq!(amounts(&discounts(&[fixed.clone(), percent.clone()], 49_500, true)), [5_000, 8_900]);
        assert_eq!(amounts(&discounts(&[percent, fixed], 49_500, true)), [9_900, 5_000]);
    }

    #[test]
    fn discounts_stop_at_zero() {
        let big = held("BIG", None, Some(100_000), CouponDuration::Once, None);
        let percent = held("TEN", Some(1_000), None, CouponDuration::Forever, None);
        assert_eq!(amounts(&discounts(&[big, percent], 49_500, true)), [49_500]);
        assert!(discounts(&[held("X", Some(5_000), None, CouponDuration::Forever, None)], 0, true).is_empty());
    }

    #[test]
    fn a_percent_once_coupon_waits_for_an_invoice_that_bills_a_period() {
        let once = held("ONCE", Some(5_000), None, CouponDuration::Once, None);
        assert!(discounts(std::slice::from_ref(&once), 1_419, false).is_empty());
        assert_eq!(amounts(&discounts(&[once], 1_419, true)), [709]);
    }
}
