//! The platform operator's coupons (`tessera coupon add …`, `tessera coupon
//! list`): offer one, and see each with how often it was redeemed. A coupon
//! is never changed once offered; its `--redeem-by` date ends it.

use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use tessera_billing::{Coupon, CouponDuration, NewCoupon};

use crate::services::Services;

/// How long a coupon lasts, as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurationArg {
    /// One invoice (a fixed amount: until it is used up).
    Once,
    /// `--periods` periods.
    Repeating,
    /// Every invoice.
    Forever,
}

/// `tessera coupon …`.
#[derive(Debug, Subcommand)]
pub enum CouponAction {
    /// Offer a coupon.
    Add {
        /// What businesses type (3 to 40 letters, digits, - or _).
        code: String,
        /// For people.
        #[arg(long)]
        name: String,
        /// Percent off (0.01 to 100).
        #[arg(long, conflicts_with = "amount")]
        percent: Option<f64>,
        /// Amount off, in minor units of `--currency` (1000 is $10.00).
        #[arg(long, requires = "currency")]
        amount: Option<i64>,
        /// ISO 4217, with `--amount`.
        #[arg(long)]
        currency: Option<String>,
        /// How long it lasts.
        #[arg(long, value_enum, default_value = "once")]
        duration: DurationArg,
        /// The periods of a repeating coupon.
        #[arg(long)]
        periods: Option<i32>,
        /// How many businesses may redeem it (unlimited when omitted).
        #[arg(long)]
        max_redemptions: Option<i32>,
        /// The last instant it may be redeemed (RFC 3339).
        #[arg(long)]
        redeem_by: Option<DateTime<Utc>>,
    },
    /// Print every coupon with how often it was redeemed.
    List,
}

/// Runs `tessera coupon …`.
pub async fn coupon(services: &Services, action: CouponAction) -> Result<(), String> {
    match action {
        CouponAction::Add { code, name, percent, amount, currency, duration, periods, max_redemptions, redeem_by } => {
            let percent_bps = match percent {
                Some(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Some((p * 100.0).round() as i32),
                Some(_) => return Err("--percent must be 0.01 to 100".into()),
                None => None,
            };
            let duration = match duration {
                DurationArg::Once => CouponDuration::Once,
                DurationArg::Repeating => CouponDuration::Repeating,
                DurationArg::Forever => CouponDuration::Forever,
            };
            let new = NewCoupon {
                code,
                name,
                percent_bps,
                amount_off_minor: amount,
                currency,
                duration,
                duration_periods: periods,
                max_redemptions,
                redeem_by,
            };
            let added = services.billing.add_coupon(new, services.clock.now()).await.map_err(|e| {
                let field = e.field().map(|f| format!(" ({f})")).unwrap_or_default();
                format!("{}{field}", e.public_message())
            })?;
            println!("added {}", line(&added));
        }
        CouponAction::List => {
            for coupon in services.billing.coupons_for_operator().await.map_err(|e| e.public_message())? {
                println!("{}", line(&coupon));
            }
        }
    }
    Ok(())
}

/// One coupon, on one line.
fn line(coupon: &Coupon) -> String {
    let off = match (coupon.percent_bps, coupon.amount_off_minor, &coupon.currency) {
        (Some(bps), _, _) => format!("{}% off", f64::from(bps) / 100.0),
        (None, Some(amount), Some(currency)) => format!("{} off", tessera_billing::format_money(amount, currency)),
        _ => String::new(),
    };
    let duration = match (coupon.duration, coupon.duration_periods) {
        (CouponDuration::Repeating, Some(n)) => format!("for {n} periods"),
        (CouponDuration::Forever, _) => "forever".into(),
        _ => "once".into(),
    };
    let redeemed = match coupon.max_redemptions {
        Some(max) => format!("{}/{max} redeemed", coupon.times_redeemed),
        None => format!("{} redeemed", coupon.times_redeemed),
    };
    let until = coupon.redeem_by.map(|at| format!(", until {}", at.to_rfc3339())).unwrap_or_default();
    format!("{} {:?}: {off} {duration}, {redeemed}{until}", coupon.code, coupon.name)
}
