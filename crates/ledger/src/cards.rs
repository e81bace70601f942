//! The card a customer keeps at a business's payment account, for the fees
//! of a no-show or a late cancellation. One per customer and account: asked
//! for (`pending`) in the transaction of the first booking that needs it,
//! `kept` once the provider says the customer's setup succeeded. Tessera
//! keeps the provider's ids, the brand and the last four digits: never the
//! card.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, QueryFilter};
use tessera_kernel::{CustomerId, DomainError, Result, TenantId};

use crate::accounts::PaymentAccount;
use crate::entity::customer_card;
use crate::payments::stamp;

/// Where a kept card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum CardStatus {
    /// Asked for; the customer has not given it yet.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Kept at the provider, chargeable without the customer present.
    #[sea_orm(string_value = "kept")]
    Kept,
}

/// A customer's card at a business's payment account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCard {
    /// Tessera's id; the provider calls made for it are keyed by it.
    pub id: Uuid,
    /// The business.
    pub tenant_id: TenantId,
    /// Whose card.
    pub customer_id: CustomerId,
    /// `stripe`.
    pub provider: String,
    /// The business's account at the provider.
    pub account_id: String,
    /// Where it stands.
    pub status: CardStatus,
    /// The customer at the provider, once made.
    pub provider_customer_id: Option<String>,
    /// The provider's setup, once made.
    pub setup_id: Option<String>,
    /// The kept payment method, once kept.
    pub payment_method_id: Option<String>,
    /// `visa`, `mastercard`, …, once kept.
    pub brand: Option<String>,
    /// The last four digits, once kept.
    pub last4: Option<String>,
    /// When it was kept.
    pub kept_at: Option<DateTime<Utc>>,
}

impl From<customer_card::Model> for CustomerCard {
    fn from(row: customer_card::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            customer_id: row.customer_id,
            provider: row.provider,
            account_id: row.account_id,
            status: row.status,
            provider_customer_id: row.provider_customer_id,
            setup_id: row.setup_id,
            payment_method_id: row.payment_method_id,
            brand: row.brand,
            last4: row.last4,
            kept_at: row.kept_at,
        }
    }
}

/// What the provider says the kept card is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCard {
    /// The provider's payment method.
    pub payment_method_id: String,
    /// `visa`, ….
    pub brand: String,
    /// The last four digits.
    pub last4: String,
}

/// The customer's card at an account (`(provider, account id)`), kept or
/// asked for.
pub async fn card_at<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    customer_id: CustomerId,
    (provider, account_id): (&str, &str),
) -> Result<Option<CustomerCard>> {
    Ok(customer_card::Entity::find()
        .filter(customer_card::Column::TenantId.eq(tenant_id))
        .filter(customer_card::Column::CustomerId.eq(customer_id))
        .filter(customer_card::Column::Provider.eq(provider))
        .filter(customer_card::Column::AccountId.eq(account_id))
        .one(conn)
        .await?
        .map(CustomerCard::from))
}

/// The card a provider's setup (`setup_id`, made on `account_id`) is for,
/// in any business: the provider's events name only the setup.
pub async fn by_setup<C: ConnectionTrait>(
    conn: &C,
    (provider, account_id): (&str, &str),
    setup_id: &str,
) -> Result<Option<CustomerCard>> {
    Ok(customer_card::Entity::find()
        .filter(customer_card::Column::Provider.eq(provider))
        .filter(customer_card::Column::AccountId.eq(account_id))
        .filter(customer_card::Column::SetupId.eq(setup_id))
        .one(conn)
        .await?
        .map(CustomerCard::from))
}

/// One card of the business.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, id: Uuid) -> Result<Option<CustomerCard>> {
    Ok(customer_card::Entity::find_by_id((tenant_id, id)).one(conn).await?.map(CustomerCard::from))
}

/// The customer's card at `account`, asked for (`pending`) when there is
/// none, in the caller's transaction. Two bookings asking at once ask for
/// one card (the database's one-per-account rule).
pub async fn ask(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    customer_id: CustomerId,
    account: &PaymentAccount,
    now: DateTime<Utc>,
) -> Result<CustomerCard> {
    let at = (account.provider.as_str(), account.account_id.as_str());
    if let Some(card) = card_at(txn, tenant_id, customer_id, at).await? {
        return Ok(card);
    }
    let now = stamp(now);
    let row = customer_card::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(tessera_kernel::id::uuid_v7_at(now)),
        customer_id: Set(customer_id),
        provider: Set(account.provider.clone()),
        account_id: Set(account.account_id.clone()),
        status: Set(CardStatus::Pending),
        provider_customer_id: Set(None),
        setup_id: Set(None),
        payment_method_id: Set(None),
        brand: Set(None),
        last4: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        kept_at: Set(None),
    };
    let one = [
        customer_card::Column::TenantId,
        customer_card::Column::CustomerId,
        customer_card::Column::Provider,
        customer_card::Column::AccountId,
    ];
    customer_card::Entity::insert(row)
        .on_conflict(OnConflict::columns(one).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    card_at(txn, tenant_id, customer_id, at)
        .await?
        .ok_or_else(|| DomainError::Internal("a card asked for is missing".into()))
}

/// Keeps the provider's id of the card's customer or setup (`column`), when
/// the card has none yet, and answers the card as kept: the first answer
/// wins, and a parallel call goes on with it.
async fn remember(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    column: customer_card::Column,
    theirs: &str,
) -> Result<CustomerCard> {
    customer_card::Entity::update_many()
        .col_expr(column, Expr::value(theirs.to_owned()))
        .filter(customer_card::Column::TenantId.eq(tenant_id))
        .filter(customer_card::Column::Id.eq(id))
        .filter(column.is_null())
        .exec(txn)
        .await?;
    find(txn, tenant_id, id).await?.ok_or(DomainError::NotFound { entity: "card" })
}

/// Keeps the provider's customer made for the card; answers the one kept.
pub async fn remember_customer(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    theirs: &str,
) -> Result<String> {
    let card = remember(txn, tenant_id, id, customer_card::Column::ProviderCustomerId, theirs).await?;
    Ok(card.provider_customer_id.unwrap_or_else(|| theirs.to_owned()))
}

/// Keeps the provider's setup made for the card.
pub async fn remember_setup(txn: &DatabaseTransaction, tenant_id: TenantId, id: Uuid, theirs: &str) -> Result<()> {
    remember(txn, tenant_id, id, customer_card::Column::SetupId, theirs).await.map(|_| ())
}

/// Records the card kept, if it was still asked for: one conditional
/// `UPDATE`, so two confirmations keep it once. Returns the card when this
/// call kept it.
pub async fn keep(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    id: Uuid,
    kept: &KeptCard,
    now: DateTime<Utc>,
) -> Result<Option<CustomerCard>> {
    let now = stamp(now);
    let done = customer_card::Entity::update_many()
        .col_expr(customer_card::Column::Status, Expr::value(CardStatus::Kept))
        .col_expr(customer_card::Column::PaymentMethodId, Expr::value(kept.payment_method_id.clone()))
        .col_expr(customer_card::Column::Brand, Expr::value(kept.brand.chars().take(40).collect::<String>()))
        .col_expr(customer_card::Column::Last4, Expr::value(kept.last4.chars().take(4).collect::<String>()))
        .col_expr(customer_card::Column::KeptAt, Expr::value(now))
        .col_expr(customer_card::Column::UpdatedAt, Expr::value(now))
        .filter(customer_card::Column::TenantId.eq(tenant_id))
        .filter(customer_card::Column::Id.eq(id))
        .filter(customer_card::Column::Status.eq(CardStatus::Pending))
        .exec(txn)
        .await?;
    if done.rows_affected == 0 {
        return Ok(None);
    }
    find(txn, tenant_id, id).await
}

/// Moves the cards customer `from` keeps to customer `to`, in the caller's
/// transaction (two records of one person merged): one per account, so
/// where `to` keeps one already, `to`'s stays and `from`'s is forgotten.
pub async fn move_customer(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    from: CustomerId,
    to: CustomerId,
) -> Result<()> {
    let theirs = customer_card::Entity::find()
        .filter(customer_card::Column::TenantId.eq(tenant_id))
        .filter(customer_card::Column::CustomerId.eq(to))
        .all(txn)
        .await?;
    for card in customer_card::Entity::find()
        .filter(customer_card::Column::TenantId.eq(tenant_id))
        .filter(customer_card::Column::CustomerId.eq(from))
        .all(txn)
        .await?
    {
        let taken = theirs.iter().any(|t| t.provider == card.provider && t.account_id == card.account_id);
        if taken {
            customer_card::Entity::delete_many()
                .filter(customer_card::Column::TenantId.eq(tenant_id))
                .filter(customer_card::Column::Id.eq(card.id))
                .exec(txn)
                .await?;
        } else {
            customer_card::Entity::update_many()
                .col_expr(customer_card::Column::CustomerId, Expr::value(to))
                .filter(customer_card::Column::TenantId.eq(tenant_id))
                .filter(customer_card::Column::Id.eq(card.id))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}
