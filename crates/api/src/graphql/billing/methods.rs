//! The cards a business keeps for its subscription and its customers at the
//! payment providers. A card goes from the browser to the provider (Stripe.js
//! `confirmCardSetup` with `setupPaymentMethod`'s client secret, or Conekta's
//! tokenizer with the platform's public key), never through Tessera, which
//! keeps the brand and the last four digits.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_billing::{PaymentCustomer, PaymentMethod, PaymentProvider, PaymentSetup};
use tessera_kernel::Permission;

use super::objects::PaymentProviderEnum;
use crate::error::ApiResult;
use crate::graphql::{Requires, parse_id, request, services};

/// The business's customers at the payment providers (the seeds' fields).
#[derive(SimpleObject, Default)]
#[graphql(name = "PaymentCustomers")]
pub(crate) struct PaymentCustomersObject {
    /// At Stripe (`cus_…`).
    stripe_customer_id: Option<String>,
    /// At Conekta.
    conekta_customer_id: Option<String>,
    /// At Fungies.
    fungies_customer_id: Option<String>,
}

impl From<Vec<PaymentCustomer>> for PaymentCustomersObject {
    fn from(customers: Vec<PaymentCustomer>) -> Self {
        let mut object = Self::default();
        for customer in customers {
            let id = Some(customer.provider_customer_id);
            match customer.provider {
                PaymentProvider::Stripe => object.stripe_customer_id = id,
                PaymentProvider::Conekta => object.conekta_customer_id = id,
                PaymentProvider::Fungies => object.fungies_customer_id = id,
            }
        }
        object
    }
}

/// A card the business keeps at a provider: only its brand and last four
/// digits are known here.
#[derive(SimpleObject)]
#[graphql(name = "PaymentMethod")]
pub(crate) struct PaymentMethodObject {
    /// Its id.
    id: ID,
    /// The provider keeping it.
    provider: PaymentProviderEnum,
    /// `visa`, `mastercard`, ….
    brand: String,
    /// The last four digits.
    last4: String,
    /// Whether charges use it.
    is_default: bool,
    /// When it was added.
    created_at: DateTime<Utc>,
}

impl From<PaymentMethod> for PaymentMethodObject {
    fn from(method: PaymentMethod) -> Self {
        Self {
            id: ID(method.id.to_string()),
            provider: method.provider.into(),
            brand: method.brand,
            last4: method.last4,
            is_default: method.is_default,
            created_at: method.created_at,
        }
    }
}

/// What the browser needs to give a card to the provider.
#[derive(SimpleObject)]
#[graphql(name = "PaymentSetup")]
pub(crate) struct PaymentSetupObject {
    /// The provider.
    provider: PaymentProviderEnum,
    /// The setup: pass it to `confirmPaymentMethod` once the browser gave
    /// the card.
    setup_intent_id: String,
    /// For the provider's browser library (Stripe.js `confirmCardSetup`).
    /// Secret: give it to the browser that asked, and nowhere else. Null at
    /// Conekta, whose tokenizer needs only the platform's public key.
    client_secret: Option<String>,
}

impl From<PaymentSetup> for PaymentSetupObject {
    fn from(setup: PaymentSetup) -> Self {
        Self {
            provider: setup.provider.into(),
            setup_intent_id: setup.setup_intent_id,
            client_secret: setup.client_secret,
        }
    }
}

/// The business's customers at the providers (a field of `Billing`).
pub(super) async fn customers(ctx: &Context<'_>) -> ApiResult<PaymentCustomersObject> {
    Ok(services(ctx)?.billing.payment_customers(request(ctx)?).await?.into())
}

/// The business's cards (a field of `Billing`).
pub(super) async fn methods(ctx: &Context<'_>) -> ApiResult<Vec<PaymentMethodObject>> {
    Ok(services(ctx)?.billing.payment_methods(request(ctx)?).await?.into_iter().map(Into::into).collect())
}

/// Mutations of the business's cards.
#[derive(Default)]
pub(super) struct PaymentMethodMutations;

#[operations]
#[Object]
impl PaymentMethodMutations {
    /// Starts keeping a card at `provider` for the subscription: give the
    /// answer's client secret to the provider's browser library (at Conekta,
    /// tokenize the card with the platform's public key), then call
    /// `confirmPaymentMethod`. `SERVICE_UNAVAILABLE` when the platform has no
    /// account at that provider.
    #[access(Requires(Permission::BillingManage))]
    async fn setup_payment_method(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "PaymentProviderEnum::Stripe")] provider: PaymentProviderEnum,
    ) -> ApiResult<PaymentSetupObject> {
        Ok(services(ctx)?.billing.setup_payment_method(request(ctx)?, provider.into()).await?.into())
    }

    /// Keeps the card a confirmed setup of this business gave, as the
    /// default for charges: at Conekta, `cardToken` is the token its
    /// tokenizer gave (`tok_…`, used once). Audited. `NOT_FOUND` for another
    /// business's setup.
    #[access(Requires(Permission::BillingManage))]
    async fn confirm_payment_method(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "PaymentProviderEnum::Stripe")] provider: PaymentProviderEnum,
        setup_intent_id: String,
        card_token: Option<String>,
    ) -> ApiResult<PaymentMethodObject> {
        let billing = &services(ctx)?.billing;
        let kept = billing
            .confirm_payment_method(request(ctx)?, provider.into(), &setup_intent_id, card_token.as_deref())
            .await?;
        Ok(kept.into())
    }

    /// Stops using a card; the newest other card becomes the default.
    /// Returns its id.
    #[access(Requires(Permission::BillingManage))]
    async fn remove_payment_method(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let parsed: uuid::Uuid = parse_id("id", &id)?;
        services(ctx)?.billing.remove_payment_method(request(ctx)?, parsed).await?;
        Ok(id)
    }
}
