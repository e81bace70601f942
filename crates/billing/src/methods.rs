//! The cards a business keeps for its subscription. The card goes from the
//! browser to the provider, never through Tessera: `setup_payment_method`
//! makes (once) the business's customer at the provider and a setup (at
//! Stripe an intent, whose client secret the browser uses); then
//! `confirm_payment_method` completes it (Stripe is asked how it went;
//! Conekta keeps the browser's card token) and keeps the brand and last four
//! digits. A setup of another customer is not found, whoever names it.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, RequestContext, Result, TenantId};
use uuid::Uuid;

use crate::entity::{payment_customer, payment_method};
use crate::gateway::{CustomerSpec, GatewayError, PaymentGateway, SetupStatus};
use crate::info;
use crate::model::{PaymentCustomer, PaymentMethod, PaymentProvider, PaymentSetup};
use crate::service::{BillingService, lock_billing, stamp};

/// How many cards a business keeps at once: enough for every card a business
/// really uses, and a bound on what one business can make the platform store
/// and list.
pub const MAX_PAYMENT_METHODS: u64 = 20;

impl From<payment_method::Model> for PaymentMethod {
    fn from(row: payment_method::Model) -> Self {
        Self {
            id: row.id,
            provider: row.provider,
            brand: row.brand,
            last4: row.last4,
            is_default: row.is_default,
            created_at: row.created_at,
        }
    }
}

/// The error a gateway failure is to the caller: declines are the customer's
/// to fix, outages are worth retrying, anything else is ours and says nothing
/// of the provider's text.
pub(crate) fn gateway_error(err: GatewayError) -> DomainError {
    match err {
        GatewayError::Declined { code } => DomainError::PaymentDeclined { code },
        GatewayError::RequiresAction => {
            DomainError::Conflict("the bank asks the cardholder to authenticate; use another card or try again".into())
        }
        GatewayError::NotFound => DomainError::NotFound { entity: "payment object" },
        err @ (GatewayError::RateLimited | GatewayError::Transient(_) | GatewayError::Unknown(_)) => {
            DomainError::ProviderUnavailable(err.to_string())
        }
        err @ (GatewayError::Conflict(_) | GatewayError::Invalid(_)) => DomainError::Internal(err.to_string()),
    }
}

/// How many cards the business keeps now.
async fn kept_count<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<u64> {
    Ok(payment_method::Entity::find()
        .filter(payment_method::Column::TenantId.eq(tenant_id))
        .filter(payment_method::Column::RemovedAt.is_null())
        .count(conn)
        .await?)
}

fn too_many_cards() -> DomainError {
    DomainError::Conflict(format!("a business keeps at most {MAX_PAYMENT_METHODS} cards; remove one first"))
}

/// The business's customer row at `provider`.
pub(crate) async fn customer_row<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    provider: PaymentProvider,
) -> Result<Option<payment_customer::Model>> {
    Ok(payment_customer::Entity::find()
        .filter(payment_customer::Column::TenantId.eq(tenant_id))
        .filter(payment_customer::Column::Provider.eq(provider))
        .one(conn)
        .await?)
}

/// The business's default card, with its customer.
pub(crate) async fn default_method<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
) -> Result<Option<(payment_method::Model, payment_customer::Model)>> {
    let Some(method) = payment_method::Entity::find()
        .filter(payment_method::Column::TenantId.eq(tenant_id))
        .filter(payment_method::Column::IsDefault.eq(true))
        .filter(payment_method::Column::RemovedAt.is_null())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let customer = payment_customer::Entity::find_by_id((tenant_id, method.payment_customer_id))
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::Internal("a payment method without its customer".into()))?;
    Ok(Some((method, customer)))
}

impl BillingService {
    /// The business's customers at payment providers (`billing:read`).
    pub async fn payment_customers(&self, ctx: &RequestContext) -> Result<Vec<PaymentCustomer>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let rows = payment_customer::Entity::find()
            .filter(payment_customer::Column::TenantId.eq(auth.tenant_id))
            .order_by_asc(payment_customer::Column::Provider)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| PaymentCustomer {
                provider: r.provider,
                provider_customer_id: r.provider_customer_id,
                created_at: r.created_at,
            })
            .collect())
    }

    /// The business's cards, the default first (`billing:read`).
    pub async fn payment_methods(&self, ctx: &RequestContext) -> Result<Vec<PaymentMethod>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingRead, Access::Read).await?;
        let rows = payment_method::Entity::find()
            .filter(payment_method::Column::TenantId.eq(auth.tenant_id))
            .filter(payment_method::Column::RemovedAt.is_null())
            .order_by_desc(payment_method::Column::IsDefault)
            .order_by_desc(payment_method::Column::CreatedAt)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(PaymentMethod::from).collect())
    }

    /// Starts keeping a card at `provider` for the business's subscription
    /// (`billing:manage`): the browser gives the card to the provider with
    /// the answer's client secret, then calls `confirm_payment_method`.
    pub async fn setup_payment_method(&self, ctx: &RequestContext, provider: PaymentProvider) -> Result<PaymentSetup> {
        let auth = ctx.authorize(Permission::BillingManage)?;
        let gateway = self.gateway(provider)?;
        // Not the bound itself (confirming holds it, under the lock), but no
        // intent is made at the provider for a card that could not be kept.
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
        let kept = kept_count(&*txn, auth.tenant_id).await?;
        txn.commit().await?;
        if kept >= MAX_PAYMENT_METHODS {
            return Err(too_many_cards());
        }
        let customer = self.ensure_customer(ctx, auth.tenant_id, gateway).await?;
        let key = format!("setup:{}", Uuid::now_v7());
        let setup = gateway.create_setup(None, &customer.provider_customer_id, &key).await.map_err(gateway_error)?;
        Ok(PaymentSetup { provider, setup_intent_id: setup.id, client_secret: setup.client_secret })
    }

    /// Keeps the card a completed setup gave (`billing:manage`) as the
    /// business's default, with an audit record: `card_token` is what a
    /// tokenizing provider's browser library gave (Conekta's `tok_…`).
    /// Confirming the same setup again answers the same card.
    pub async fn confirm_payment_method(
        &self,
        ctx: &RequestContext,
        provider: PaymentProvider,
        setup_intent_id: &str,
        card_token: Option<&str>,
    ) -> Result<PaymentMethod> {
        let auth = ctx.authorize(Permission::BillingManage)?;
        let setup_intent_id = provider_reference("setupIntentId", setup_intent_id)?;
        let card_token = card_token.map(|token| provider_reference("cardToken", token)).transpose()?;
        let gateway = self.gateway(provider)?;
        let not_found = || DomainError::NotFound { entity: "setup intent" };
        let customer = {
            let txn = self.db.begin_for(ctx, auth.scope(), Access::Read).await?;
            let row = customer_row(&*txn, auth.tenant_id, provider).await?;
            txn.commit().await?;
            row.ok_or_else(not_found)?
        };
        let provider_customer = customer.provider_customer_id.as_str();
        let setup = match gateway.complete_setup(None, provider_customer, setup_intent_id, card_token).await {
            Err(GatewayError::NotFound) => return Err(not_found()),
            other => other.map_err(gateway_error)?,
        };
        if setup.customer.as_deref() != Some(customer.provider_customer_id.as_str()) {
            return Err(not_found());
        }
        let method_id = match (setup.status, setup.payment_method) {
            (SetupStatus::Succeeded, Some(method)) => method,
            (SetupStatus::RequiresAction, _) => {
                return Err(DomainError::Conflict(
                    "the bank asks the cardholder to authenticate the card first".into(),
                ));
            }
            _ => return Err(DomainError::Conflict("the card has not been confirmed at the provider yet".into())),
        };
        let card = gateway.card(None, provider_customer, &method_id).await.map_err(gateway_error)?;

        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let kept = payment_method::Entity::find()
            .filter(payment_method::Column::TenantId.eq(auth.tenant_id))
            .filter(payment_method::Column::Provider.eq(provider))
            .filter(payment_method::Column::ProviderMethodId.eq(method_id.as_str()))
            .filter(payment_method::Column::RemovedAt.is_null())
            .one(&txn)
            .await?;
        if let Some(kept) = kept {
            txn.commit().await?;
            return Ok(kept.into());
        }
        if kept_count(&*txn, auth.tenant_id).await? >= MAX_PAYMENT_METHODS {
            return Err(too_many_cards());
        }
        let now = stamp(ctx.now());
        payment_method::Entity::update_many()
            .col_expr(payment_method::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
            .filter(payment_method::Column::TenantId.eq(auth.tenant_id))
            .filter(payment_method::Column::IsDefault.eq(true))
            .exec(&txn)
            .await?;
        let row = payment_method::ActiveModel {
            tenant_id: Set(auth.tenant_id),
            id: Set(Uuid::now_v7()),
            payment_customer_id: Set(customer.id),
            provider: Set(provider),
            provider_method_id: Set(method_id),
            brand: Set(card.brand),
            last4: Set(card.last4),
            is_default: Set(true),
            created_at: Set(now),
            removed_at: Set(None),
        }
        .insert(&*txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "this card was removed; add it again with a new setup"))?;
        let snapshot = json!({"provider": provider_name(provider), "brand": row.brand, "last4": row.last4});
        let entry =
            AuditEntry::change("billing.payment_method_added", "payment_method", row.id, None, Some(&snapshot))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// Stops using a card (`billing:manage`); the newest other card becomes
    /// the default.
    pub async fn remove_payment_method(&self, ctx: &RequestContext, id: Uuid) -> Result<()> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Write).await?;
        lock_billing(&txn, auth.tenant_id).await?;
        let row = payment_method::Entity::find_by_id((auth.tenant_id, id))
            .filter(payment_method::Column::RemovedAt.is_null())
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "payment method" })?;
        let was_default = row.is_default;
        let snapshot = json!({"provider": provider_name(row.provider), "brand": row.brand, "last4": row.last4});
        let mut active: payment_method::ActiveModel = row.into();
        active.is_default = Set(false);
        active.removed_at = Set(Some(stamp(ctx.now())));
        active.update(&*txn).await?;
        if was_default
            && let Some(next) = payment_method::Entity::find()
                .filter(payment_method::Column::TenantId.eq(auth.tenant_id))
                .filter(payment_method::Column::RemovedAt.is_null())
                .order_by_desc(payment_method::Column::CreatedAt)
                .one(&txn)
                .await?
        {
            let mut next: payment_method::ActiveModel = next.into();
            next.is_default = Set(true);
            next.update(&*txn).await?;
        }
        let entry = AuditEntry::change("billing.payment_method_removed", "payment_method", id, Some(&snapshot), None)?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The business's customer at the gateway's provider, made there first if
    /// it has none. The provider call runs outside any transaction, under a
    /// key fixed per business and provider, so parallel or retried calls make
    /// one customer.
    async fn ensure_customer(
        &self,
        ctx: &RequestContext,
        tenant_id: TenantId,
        gateway: &dyn PaymentGateway,
    ) -> Result<payment_customer::Model> {
        let provider = gateway.provider();
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::BillingManage, Access::Read).await?;
        if let Some(row) = customer_row(&*txn, tenant_id, provider).await? {
            txn.commit().await?;
            return Ok(row);
        }
        let tenant = tessera_tenant::load_tenant_in_scope(&*txn, tenant_id).await?;
        let billing = info::info_of(&*txn, tenant_id).await?;
        txn.commit().await?;
        if billing.billing_email.is_none() && gateway.needs_customer_email() {
            return Err(DomainError::invalid(
                "billingEmail",
                "this provider keeps cards only for a business with a billing email: set it first",
            ));
        }
        let spec = CustomerSpec {
            name: billing.legal_name.unwrap_or(tenant.name),
            email: billing.billing_email,
            metadata: vec![("tessera_tenant".into(), tenant_id.to_string())],
        };
        let key = format!("customer:{tenant_id}:{}", provider_name(provider));
        let provider_id = gateway.create_customer(None, &spec, &key).await.map_err(gateway_error)?;
        let txn = self.db.begin_for(ctx, auth.scope(), Access::Write).await?;
        payment_customer::Entity::insert(payment_customer::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(Uuid::now_v7()),
            provider: Set(provider),
            provider_customer_id: Set(provider_id),
            created_at: Set(stamp(ctx.now())),
        })
        .on_conflict(
            OnConflict::columns([payment_customer::Column::TenantId, payment_customer::Column::Provider])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
        let row = customer_row(&*txn, tenant_id, provider)
            .await?
            .ok_or_else(|| DomainError::Internal("the payment customer was not kept".into()))?;
        txn.commit().await?;
        Ok(row)
    }
}

/// An id the browser got from a provider (a setup's, a card token's):
/// trimmed, at most 255 letters, digits, `_`, `-` and `:`, as every
/// provider's ids and Tessera's setup keys are; never a path or a query, as
/// it goes into the provider's URLs.
fn provider_reference<'a>(field: &'static str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':');
    match !value.is_empty() && value.len() <= 255 && value.bytes().all(allowed) {
        true => Ok(value),
        false => Err(DomainError::invalid(field, "must be the provider's id, as it gave it")),
    }
}

/// The provider as stored and audited (`stripe`).
pub(crate) fn provider_name(provider: PaymentProvider) -> &'static str {
    match provider {
        PaymentProvider::Stripe => "stripe",
        PaymentProvider::Conekta => "conekta",
        PaymentProvider::Fungies => "fungies",
    }
}
