//! Coupons: the platform operator offers them (`add_coupon`), a business's
//! owners redeem them (`billing:manage`), and its invoices take their
//! discounts (`discounts.rs`).
//!
//! A coupon is a percent (in basis points) or a fixed amount in one
//! currency, for one invoice (`once`; a fixed once coupon larger than an
//! invoice carries what is left to the next), for some periods
//! (`repeating`), or `forever`. Its redemptions are counted by a conditional
//! `UPDATE … WHERE times_redeemed < max_redemptions`, so two businesses
//! redeeming a coupon's last use at once get one use between them; a business
//! redeems a coupon once (a unique index) and holds at most
//! [`MAX_ACTIVE_COUPONS`] at a time.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, StringLen};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DeriveActiveEnum,
    EntityTrait, EnumIter, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId};
use uuid::Uuid;

use crate::entity::{coupon, coupon_redemption};
use crate::info;
use crate::money::currency_code;
use crate::service::{BillingService, lock_billing, stamp};

/// The most coupons a business holds at once.
pub const MAX_ACTIVE_COUPONS: u64 = 5;

/// The most redemptions `Billing.coupons` lists, the newest.
const LISTED: u64 = 50;

/// How long a coupon lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum CouponDuration {
    /// One invoice (a fixed amount: until it is used up).
    #[sea_orm(string_value = "once")]
    Once,
    /// Some periods.
    #[sea_orm(string_value = "repeating")]
    Repeating,
    /// Every invoice.
    #[sea_orm(string_value = "forever")]
    Forever,
}

/// Whether a redemption still discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum RedemptionStatus {
    /// It discounts the next invoices.
    #[sea_orm(string_value = "active")]
    Active,
    /// Used up.
    #[sea_orm(string_value = "exhausted")]
    Exhausted,
}

/// A coupon to offer (the platform operator's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCoupon {
    /// What businesses type (letters, digits, `-` and `_`; kept upper-case).
    pub code: String,
    /// For people.
    pub name: String,
    /// A percent off, in basis points (2000 = 20 %); or
    pub percent_bps: Option<i32>,
    /// an amount off, in minor units of `currency`.
    pub amount_off_minor: Option<i64>,
    /// ISO 4217, with `amount_off_minor`.
    pub currency: Option<String>,
    /// How long it lasts.
    pub duration: CouponDuration,
    /// The periods of a `repeating` coupon.
    pub duration_periods: Option<i32>,
    /// How many businesses may redeem it; unlimited when `None`.
    pub max_redemptions: Option<i32>,
    /// The last instant it may be redeemed.
    pub redeem_by: Option<DateTime<Utc>>,
}

/// A coupon on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    /// Its id.
    pub id: Uuid,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Percent off, in basis points.
    pub percent_bps: Option<i32>,
    /// Amount off, in minor units.
    pub amount_off_minor: Option<i64>,
    /// The amount's currency.
    pub currency: Option<String>,
    /// How long it lasts.
    pub duration: CouponDuration,
    /// A repeating coupon's periods.
    pub duration_periods: Option<i32>,
    /// How many may redeem it.
    pub max_redemptions: Option<i32>,
    /// How many did.
    pub times_redeemed: i32,
    /// The last instant it may be redeemed.
    pub redeem_by: Option<DateTime<Utc>>,
}

impl From<coupon::Model> for Coupon {
    fn from(row: coupon::Model) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
            percent_bps: row.percent_bps,
            amount_off_minor: row.amount_off_minor,
            currency: row.currency,
            duration: row.duration,
            duration_periods: row.duration_periods,
            max_redemptions: row.max_redemptions,
            times_redeemed: row.times_redeemed,
            redeem_by: row.redeem_by,
        }
    }
}

/// A business's redemption of a coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRedemption {
    /// Its id.
    pub id: Uuid,
    /// The coupon.
    pub coupon: Coupon,
    /// Periods left of a repeating coupon.
    pub periods_remaining: Option<i32>,
    /// What is left of a fixed once coupon.
    pub amount_remaining_minor: Option<i64>,
    /// Whether it still discounts.
    pub status: RedemptionStatus,
    /// When it was redeemed.
    pub redeemed_at: DateTime<Utc>,
}

/// A coupon's code as kept: trimmed, upper-case; `None` unless it is 3 to 40
/// letters, digits, `-` or `_`.
fn normalized(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    let valid = (3..=40).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    valid.then_some(code)
}

fn checked(new: NewCoupon) -> Result<NewCoupon> {
    let code =
        normalized(&new.code).ok_or_else(|| DomainError::invalid("code", "use 3 to 40 letters, digits, - or _"))?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
    }
    let currency = match (new.percent_bps, new.amount_off_minor, new.currency.as_deref()) {
        (Some(bps), None, None) if (1..=10_000).contains(&bps) => None,
        (Some(_), None, None) => return Err(DomainError::invalid("percent", "must be 0.01 to 100 percent")),
        (None, Some(amount), Some(currency)) if amount > 0 => {
            Some(currency_code(currency).ok_or_else(|| DomainError::invalid("currency", "use ISO 4217"))?)
        }
        _ => return Err(DomainError::invalid("amount", "give a percent, or a positive amount with its currency")),
    };
    match (new.duration, new.duration_periods) {
        (CouponDuration::Repeating, Some(n)) if (1..=120).contains(&n) => {}
        (CouponDuration::Repeating, _) => {
            return Err(DomainError::invalid("periods", "a repeating coupon lasts 1 to 120 periods"));
        }
        (_, Some(_)) => return Err(DomainError::invalid("periods", "only a repeating coupon has periods")),
        (_, None) => {}
    }
    if new.max_redemptions.is_some_and(|n| n < 1) {
        return Err(DomainError::invalid("maxRedemptions", "must be at least 1"));
    }
    Ok(NewCoupon { code, name, currency, ..new })
}

impl BillingService {
    /// Offers a coupon (the platform operator's command).
    pub async fn add_coupon(&self, new: NewCoupon, now: DateTime<Utc>) -> Result<Coupon> {
        let new = checked(new)?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let row = coupon::ActiveModel {
            id: Set(Uuid::now_v7()),
            code: Set(new.code),
            name: Set(new.name),
            percent_bps: Set(new.percent_bps),
            amount_off_minor: Set(new.amount_off_minor),
            currency: Set(new.currency),
            duration: Set(new.duration),
            duration_periods: Set(new.duration_periods),
            max_redemptions: Set(new.max_redemptions),
            times_redeemed: Set(0),
            redeem_by: Set(new.redeem_by),
            created_at: Set(stamp(now)),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "a coupon has this code already"))?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Every coupon, newest first (the platform operator's).
    pub async fn coupons_for_operator(&self) -> Result<Vec<Coupon>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = coupon::Entity::find().order_by_desc(coupon::Column::CreatedAt).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(Coupon::from).collect())
    }

    /// Redeems the coupon `code` for the request's business
    /// (`billing:manage`): its next invoices take the discount.
    pub async fn redeem_coupon(&self, ctx: &RequestContext, code: &str) -> Result<CouponRedemption> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let redeemed = redeem_in(&txn, ctx, &auth, code).await?;
        txn.commit().await?;
        Ok(redeemed)
    }

    /// The business's coupons, the newest first (`billing:read`).
    pub async fn coupon_redemptions(&self, ctx: &RequestContext) -> Result<Vec<CouponRedemption>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let rows = coupon_redemption::Entity::find()
            .filter(coupon_redemption::Column::TenantId.eq(auth.tenant_id))
            .order_by_desc(coupon_redemption::Column::RedeemedAt)
            .limit(LISTED)
            .all(&txn)
            .await?;
        let coupons =
            coupon::Entity::find().filter(coupon::Column::Id.is_in(rows.iter().map(|r| r.coupon_id))).all(&txn).await?;
        txn.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let coupon = coupons.iter().find(|c| c.id == row.coupon_id)?.clone();
                Some(redemption(row, coupon))
            })
            .collect())
    }
}

/// Redeems `code` for the business in `txn`, which holds its billing lock.
pub(crate) async fn redeem_in(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &tessera_kernel::context::Authorized,
    code: &str,
) -> Result<CouponRedemption> {
    let tenant_id = auth.tenant_id;
    let now = stamp(ctx.now());
    let unknown = || DomainError::invalid("couponCode", "no coupon has this code");
    let code = normalized(code).ok_or_else(unknown)?;
    let found =
        coupon::Entity::find().filter(coupon::Column::Code.eq(code.as_str())).one(txn).await?.ok_or_else(unknown)?;
    if found.redeem_by.is_some_and(|by| by < now) {
        return Err(DomainError::Conflict("this coupon can no longer be redeemed".into()));
    }
    let billing = info::ensure(txn, tenant_id, now).await?;
    if found.currency.as_ref().is_some_and(|c| *c != billing.currency) {
        return Err(DomainError::invalid(
            "couponCode",
            format!("the business is billed in {}, and this coupon is in another currency", billing.currency),
        ));
    }
    if active_count(txn, tenant_id).await? >= MAX_ACTIVE_COUPONS {
        return Err(DomainError::Conflict(format!("a business holds at most {MAX_ACTIVE_COUPONS} coupons at a time")));
    }
    // The count, in the statement that checks it.
    let counted = coupon::Entity::update_many()
        .col_expr(coupon::Column::TimesRedeemed, Expr::col(coupon::Column::TimesRedeemed).add(1))
        .filter(coupon::Column::Id.eq(found.id))
        .filter(
            sea_orm::Condition::any()
                .add(coupon::Column::MaxRedemptions.is_null())
                .add(Expr::col(coupon::Column::TimesRedeemed).lt(Expr::col(coupon::Column::MaxRedemptions))),
        )
        .exec(txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(DomainError::Conflict("this coupon has been redeemed as often as it may be".into()));
    }
    let row = coupon_redemption::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        coupon_id: Set(found.id),
        periods_remaining: Set(found.duration_periods),
        amount_remaining_minor: Set(match found.duration {
            CouponDuration::Once => found.amount_off_minor,
            _ => None,
        }),
        status: Set(RedemptionStatus::Active),
        redeemed_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| DomainError::conflict_on_unique(e, "the business redeemed this coupon already"))?;
    let snapshot = json!({"code": found.code, "couponId": found.id});
    let entry = AuditEntry::change("billing.coupon_redeemed", "coupon_redemption", row.id, None, Some(&snapshot))?;
    tessera_audit::append(txn, ctx, auth, entry).await?;
    Ok(redemption(row, found))
}

async fn active_count<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<u64> {
    Ok(coupon_redemption::Entity::find()
        .filter(coupon_redemption::Column::TenantId.eq(tenant_id))
        .filter(coupon_redemption::Column::Status.eq(RedemptionStatus::Active))
        .count(conn)
        .await?)
}

fn redemption(row: coupon_redemption::Model, coupon: coupon::Model) -> CouponRedemption {
    CouponRedemption {
        id: row.id,
        coupon: coupon.into(),
        periods_remaining: row.periods_remaining,
        amount_remaining_minor: row.amount_remaining_minor,
        status: row.status,
        redeemed_at: row.redeemed_at,
    }
}
