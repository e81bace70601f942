//! Events payment providers send, applied once and never backwards.
//!
//! The webhook endpoint (`api`) verifies a delivery and hands it to
//! [`BillingService::receive_event`], which keeps it once per provider,
//! account and event id (a unique index: a repeated delivery is answered and
//! dropped). Applying it claims it with a conditional `UPDATE` (so two
//! gateways never apply one event together) and does not trust the event's
//! copy of the object: for a payment it asks the provider for the payment as
//! it is now and records that, through the same path as a charge's own
//! answer, which never changes a settled payment. So events arriving late or
//! out of order cannot move a payment back. An event that fails (the provider
//! unreachable) is tried again by the billing job, later each time; the
//! platform operator lists events and replays one.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Result, TenantId};
use tracing::warn;
use uuid::Uuid;

use crate::entity::{invoice_payment, provider_event};
use crate::gateway::stripe_webhook::StripeEvent;
use crate::methods::provider_name;
use crate::model::{PaymentProvider, PaymentState};
use crate::service::{BillingService, stamp};

/// The most events one run of the job applies.
const BATCH: u64 = 200;

/// The longest wait between tries of an event.
const MOST_BACKOFF: Duration = Duration::hours(1);

/// The account of the platform's own provider account (what businesses pay
/// the platform), as webhook addresses name it.
pub const PLATFORM_ACCOUNT: &str = "platform";

/// An event a provider sent, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    /// Tessera's id, to replay it.
    pub id: Uuid,
    /// `stripe`.
    pub provider: String,
    /// `platform`, or a connected account.
    pub account: String,
    /// The provider's event id.
    pub event_id: String,
    /// `payment_intent.succeeded`.
    pub kind: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// When it was applied.
    pub processed_at: Option<DateTime<Utc>>,
    /// Tries so far.
    pub attempts: i32,
    /// Why the last try failed.
    pub last_error: Option<String>,
}

impl From<provider_event::Model> for InboundEvent {
    fn from(row: provider_event::Model) -> Self {
        Self {
            id: row.id,
            provider: row.provider,
            account: row.account,
            event_id: row.event_id,
            kind: row.kind,
            received_at: row.received_at,
            processed_at: row.processed_at,
            attempts: row.attempts,
            last_error: row.last_error,
        }
    }
}

impl BillingService {
    /// Keeps a verified event of `provider` for `account`; `None` when it was
    /// kept already (a repeated delivery).
    pub async fn receive_event(
        &self,
        provider: PaymentProvider,
        account: &str,
        event: &StripeEvent,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>> {
        let id = Uuid::now_v7();
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let inserted = provider_event::Entity::insert(provider_event::ActiveModel {
            id: Set(id),
            provider: Set(provider_name(provider).to_owned()),
            account: Set(account.to_owned()),
            event_id: Set(event.id.clone()),
            kind: Set(event.kind.clone()),
            payload: Set(payload.to_owned()),
            received_at: Set(stamp(now)),
            processed_at: Set(None),
            attempts: Set(0),
            next_attempt_at: Set(Some(stamp(now))),
            last_error: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                provider_event::Column::Provider,
                provider_event::Column::Account,
                provider_event::Column::EventId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok((inserted == 1).then_some(id))
    }

    /// Applies one kept event, unless another gateway is applying it or it
    /// was applied.
    pub async fn apply_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let now = stamp(now);
        let Some(event) = self.claim_event(id, now).await? else { return Ok(()) };
        let outcome = self.apply_claimed(&event, now).await;
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let mut update = provider_event::Entity::update_many().filter(provider_event::Column::Id.eq(id));
        update = match &outcome {
            Ok(()) => update
                .col_expr(provider_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(provider_event::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(provider_event::Column::LastError, Expr::value(Option::<String>::None)),
            Err(err) => {
                warn!(event = %event.event_id, error = %err, "a provider event could not be applied; it is tried again later");
                let why: String = err.to_string().chars().take(500).collect();
                update.col_expr(provider_event::Column::LastError, Expr::value(why))
            }
        };
        update.exec(&txn).await?;
        txn.commit().await?;
        outcome
    }

    /// The events the provider sent, the newest first (the operator's).
    pub async fn provider_events(&self, unapplied_only: bool, limit: u64) -> Result<Vec<InboundEvent>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let mut select = provider_event::Entity::find().order_by_desc(provider_event::Column::ReceivedAt);
        if unapplied_only {
            select = select.filter(provider_event::Column::ProcessedAt.is_null());
        }
        let rows = select.limit(Ord::min(limit, 1_000)).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(InboundEvent::from).collect())
    }

    /// Applies an event again (the operator's): what it says is asked of the
    /// provider anew, so replaying never moves a payment back.
    pub async fn replay_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let reset = provider_event::Entity::update_many()
            .col_expr(provider_event::Column::ProcessedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(provider_event::Column::NextAttemptAt, Expr::value(stamp(now)))
            .filter(provider_event::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if reset.rows_affected == 0 {
            return Err(DomainError::NotFound { entity: "provider event" });
        }
        self.apply_event(id, now).await
    }

    /// Events waiting to be applied (new, or failed and due again).
    pub(crate) async fn due_events(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let due = provider_event::Entity::find()
            .select_only()
            .column(provider_event::Column::Id)
            .filter(provider_event::Column::ProcessedAt.is_null())
            .filter(provider_event::Column::NextAttemptAt.lte(now))
            .order_by_asc(provider_event::Column::NextAttemptAt)
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(due)
    }

    /// Takes an event to apply: counts the try and sets the next, so a
    /// failure is tried again later and a second gateway leaves it alone.
    async fn claim_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<Option<provider_event::Model>> {
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        let Some(row) = provider_event::Entity::find_by_id(id).one(&txn).await? else { return Ok(None) };
        let backoff = Duration::minutes(1 << row.attempts.clamp(0, 6)).min(MOST_BACKOFF);
        let claimed = provider_event::Entity::update_many()
            .col_expr(provider_event::Column::Attempts, Expr::col(provider_event::Column::Attempts).add(1))
            .col_expr(provider_event::Column::NextAttemptAt, Expr::value(now + backoff))
            .filter(provider_event::Column::Id.eq(id))
            .filter(provider_event::Column::ProcessedAt.is_null())
            .filter(provider_event::Column::NextAttemptAt.lte(now))
            .filter(provider_event::Column::Attempts.eq(row.attempts))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok((claimed.rows_affected == 1).then_some(row))
    }

    async fn apply_claimed(&self, row: &provider_event::Model, now: DateTime<Utc>) -> Result<()> {
        let event = crate::gateway::stripe_webhook::parse(row.payload.as_bytes())
            .map_err(|e| DomainError::Internal(format!("a kept event does not parse: {e}")))?;
        if event.kind == "setup_intent.succeeded" && row.account != PLATFORM_ACCOUNT {
            // A customer's card kept on a business's account.
            let Some(setup) = event.object_id.as_deref() else { return Ok(()) };
            return self.apply_card_event((row.provider.as_str(), row.account.as_str(), setup), now).await;
        }
        if !event.kind.starts_with("payment_intent.") {
            // Nothing Tessera acts on; kept for the record.
            return Ok(());
        }
        let meta = |key: &str| event.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let ids = meta("tessera_tenant")
            .and_then(|t| t.parse::<Uuid>().ok())
            .zip(meta("tessera_payment").and_then(|p| p.parse::<Uuid>().ok()));
        let (Some((tenant, payment_id)), Some(object_id)) = (ids, event.object_id.as_deref()) else {
            return Ok(());
        };
        let tenant_id = TenantId(tenant);
        if meta("tessera_booking").is_some() {
            let at = (row.provider.as_str(), row.account.as_str(), object_id);
            return self.apply_booking_event(tenant_id, payment_id, at, now).await;
        }
        if row.account != PLATFORM_ACCOUNT {
            // What a business's own account says is about its bookings only.
            return Ok(());
        }
        let txn = self.db.begin(Scope::Maintenance, Access::Read).await?;
        let payment = invoice_payment::Entity::find_by_id((tenant_id, payment_id)).one(&txn).await?;
        txn.commit().await?;
        let Some(payment) = payment else { return Ok(()) };
        let ours = payment.provider_payment_id.as_deref().is_none_or(|id| id == object_id)
            && provider_name(payment.provider) == row.provider;
        if !ours || !matches!(payment.status, PaymentState::Pending | PaymentState::Unknown) {
            return Ok(());
        }
        let gateway = self.gateway(payment.provider)?;
        let current = match gateway.retrieve_payment(None, object_id).await {
            Ok(current) => current,
            // Not the provider's (any more): nothing to record.
            Err(crate::gateway::GatewayError::NotFound) => return Ok(()),
            Err(err) => return Err(DomainError::ProviderUnavailable(err.to_string())),
        };
        self.settle_payment(tenant_id, payment.id, Ok(current), None, now).await?;
        Ok(())
    }
}
