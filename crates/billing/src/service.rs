//! [`BillingService`]: billing for a business's owners and for the platform
//! operator, each call in a transaction of its own; and what the areas share
//! (the per-business lock, the live subscription, audit snapshots).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{Db, DomainError, Permission, PlanId, RequestContext, Result, TenantId};
use tessera_tenant::Tenant;

use crate::catalogue;
use crate::entity::subscription;
use crate::gateway::PaymentGateway;
use crate::hooks::BillingHooks;
use crate::model::{NewPlanVersion, OveragePrice, PaymentProvider, Plan, Subscription};
use crate::quotes::ScheduledChange;

/// Billing's operations.
#[derive(Clone)]
pub struct BillingService {
    pub(crate) db: Db,
    pub(crate) hooks: Arc<dyn BillingHooks>,
    /// Counts booking payments as the business's usage.
    pub(crate) usage: Arc<dyn tessera_ledger::UsageHooks>,
    gateways: Vec<Arc<dyn PaymentGateway>>,
}

impl std::fmt::Debug for BillingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingService").finish_non_exhaustive()
    }
}

impl BillingService {
    /// A service over `db`, telling people through `hooks`, counting what
    /// businesses use through `usage`.
    pub fn new(db: Db, hooks: Arc<dyn BillingHooks>, usage: Arc<dyn tessera_ledger::UsageHooks>) -> Self {
        Self { db, hooks, usage, gateways: Vec::new() }
    }

    /// Charges and keeps cards through `gateway` (one per provider; a later
    /// one for the same provider replaces it).
    pub fn with_gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.gateways.retain(|g| g.provider() != gateway.provider());
        self.gateways.push(gateway);
        self
    }

    /// The gateway of `provider`, or `SERVICE_UNAVAILABLE` when the platform
    /// has not configured it.
    pub(crate) fn gateway(&self, provider: PaymentProvider) -> Result<&dyn PaymentGateway> {
        self.gateways.iter().find(|g| g.provider() == provider).map(|g| g.as_ref()).ok_or_else(|| {
            DomainError::ProviderUnavailable(format!("no {provider:?} account is configured on this platform"))
        })
    }

    /// The plans a business may subscribe to (`billing:read`).
    pub async fn plans(&self, ctx: &RequestContext) -> Result<Vec<Plan>> {
        let (_, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let plans = catalogue::on_offer(&*txn).await?;
        txn.commit().await?;
        Ok(plans)
    }

    /// What each unit beyond a soft limit costs on the plan versions `ids`
    /// (`billing:read`; every id answered).
    pub async fn overage_prices_of(
        &self,
        ctx: &RequestContext,
        ids: &[PlanId],
    ) -> Result<HashMap<PlanId, Vec<OveragePrice>>> {
        let (_, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let prices = catalogue::overage_prices_of(&*txn, ids).await?;
        txn.commit().await?;
        Ok(prices)
    }

    /// Every plan's latest version, offered or not, with its overage prices
    /// (the platform operator's).
    pub async fn catalogue_for_operator(&self) -> Result<Vec<(Plan, Vec<OveragePrice>)>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let plans = catalogue::latest(&txn).await?;
        let ids: Vec<PlanId> = plans.iter().map(|p| p.id).collect();
        let mut prices = catalogue::overage_prices_of(&txn, &ids).await?;
        txn.commit().await?;
        Ok(plans
            .into_iter()
            .map(|plan| {
                let overage = prices.remove(&plan.id).unwrap_or_default();
                (plan, overage)
            })
            .collect())
    }

    /// Adds the next version of a plan (the platform operator's command).
    pub async fn add_plan_version(&self, new: NewPlanVersion, now: DateTime<Utc>) -> Result<Plan> {
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let plan = catalogue::add_version(&txn, new, now).await?;
        txn.commit().await?;
        Ok(plan)
    }
}

/// Holds the business's billing lock until `txn` ends: every change to its
/// subscription and trial happens one after another.
pub(crate) async fn lock_billing(txn: &DatabaseTransaction, tenant_id: TenantId) -> Result<()> {
    tessera_kernel::db::lock_named(txn, &format!("billing:{tenant_id}")).await?;
    Ok(())
}

/// The business's live (not ended) subscription row.
pub(crate) async fn live_row<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<Option<subscription::Model>> {
    Ok(subscription::Entity::find()
        .filter(subscription::Column::TenantId.eq(tenant_id))
        .filter(subscription::Column::EndedAt.is_null())
        .one(conn)
        .await?)
}

/// A subscription row with its plan.
pub(crate) async fn with_plan<C: ConnectionTrait>(conn: &C, row: subscription::Model) -> Result<Subscription> {
    let plan = catalogue::by_id(conn, row.plan_id).await?;
    let scheduled_change = match (row.pending_quantity, row.pending_plan_id) {
        (None, _) => None,
        (Some(quantity), pending) => Some(ScheduledChange {
            plan: match pending {
                Some(id) => catalogue::by_id(conn, id).await?,
                None => plan.clone(),
            },
            quantity,
            effective_at: row.current_period_end,
        }),
    };
    Ok(Subscription {
        id: row.id,
        tenant_id: row.tenant_id,
        plan,
        status: row.status,
        quantity: row.quantity,
        unit_price_minor: row.unit_price_minor,
        currency: row.currency,
        interval: row.interval,
        current_period_start: row.current_period_start,
        current_period_end: row.current_period_end,
        trial_end: row.trial_end,
        cancel_at_period_end: row.cancel_at_period_end,
        canceled_at: row.canceled_at,
        ended_at: row.ended_at,
        scheduled_change,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// What the audit log keeps of a subscription.
pub(crate) fn audited(row: &subscription::Model, plan: &Plan) -> serde_json::Value {
    json!({
        "plan": format!("{}@{}", plan.code, plan.version),
        "status": row.status.as_upper(),
        "quantity": row.quantity,
        "unitPriceMinor": row.unit_price_minor,
        "currency": row.currency,
        "currentPeriodStart": row.current_period_start,
        "currentPeriodEnd": row.current_period_end,
        "trialEnd": row.trial_end,
        "cancelAtPeriodEnd": row.cancel_at_period_end,
        "endedAt": row.ended_at,
        "pendingPlanId": row.pending_plan_id,
        "pendingQuantity": row.pending_quantity,
    })
}

/// `now` as both databases keep it (microseconds), so what a change answers
/// equals what a later read shows.
pub(crate) fn stamp(now: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(now, 6)
}

/// The business's timezone.
pub(crate) fn timezone_of(tenant: &Tenant) -> Result<Tz> {
    tenant
        .timezone
        .parse()
        .map_err(|_| DomainError::Internal(format!("tenant timezone {} is invalid", tenant.timezone)))
}
