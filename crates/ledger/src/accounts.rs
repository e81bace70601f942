//! The business's own account at a payment provider, which its customers'
//! booking payments go to, and its payment terms. No two businesses name
//! one account: a global claim row, keyed by the account, says whose it is.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use tessera_kernel::{DomainError, Result, TenantId};

use crate::entity::{payment_account, payment_account_owner};
use crate::payment_terms::PaymentTerms;
use crate::payments::stamp;

/// A business's own account at a payment provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAccount {
    /// `stripe`.
    pub provider: String,
    /// The provider's id of the account (`acct_…`).
    pub account_id: String,
    /// Whether bookings take payments through it now.
    pub enabled: bool,
    /// What customers pay when they book.
    pub terms: PaymentTerms,
    /// When it was first set.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<payment_account::Model> for PaymentAccount {
    type Error = DomainError;

    fn try_from(row: payment_account::Model) -> Result<Self> {
        Ok(Self {
            provider: row.provider,
            account_id: row.account_id,
            enabled: row.enabled,
            terms: PaymentTerms::from_json(&row.terms)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The business's payment account, enabled or not.
pub async fn account_of<C: ConnectionTrait>(conn: &C, tenant_id: TenantId) -> Result<Option<PaymentAccount>> {
    payment_account::Entity::find_by_id(tenant_id).one(conn).await?.map(PaymentAccount::try_from).transpose()
}

/// Sets the business's payment account; returns it as it was and as it is.
/// An account another business uses is a `CONFLICT`.
pub async fn set_account(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    (provider, account_id, enabled): (&str, &str, bool),
    now: DateTime<Utc>,
) -> Result<(Option<PaymentAccount>, PaymentAccount)> {
    let before = account_of(txn, tenant_id).await?;
    claim_account(txn, tenant_id, provider, account_id).await?;
    let now = stamp(now);
    let row = payment_account::ActiveModel {
        tenant_id: Set(tenant_id),
        provider: Set(provider.to_owned()),
        account_id: Set(account_id.to_owned()),
        enabled: Set(enabled),
        terms: Set(before.as_ref().map_or_else(PaymentTerms::default, |b| b.terms.clone()).to_json()),
        created_at: Set(before.as_ref().map_or(now, |b| b.created_at)),
        updated_at: Set(now),
    };
    payment_account::Entity::insert(row)
        .on_conflict(
            OnConflict::column(payment_account::Column::TenantId)
                .update_columns([
                    payment_account::Column::Provider,
                    payment_account::Column::AccountId,
                    payment_account::Column::Enabled,
                    payment_account::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let after = account_of(txn, tenant_id)
        .await?
        .ok_or_else(|| DomainError::Internal("the payment account just written is missing".into()))?;
    Ok((before, after))
}

/// Records that `tenant_id` named the provider account (and no longer the
/// one it named before): `CONFLICT` when another business named it. The
/// claim is a global row keyed by the account, so two businesses naming one
/// at once get it once.
async fn claim_account(txn: &DatabaseTransaction, tenant_id: TenantId, provider: &str, account_id: &str) -> Result<()> {
    payment_account_owner::Entity::delete_many()
        .filter(payment_account_owner::Column::OwnerTenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    let claim = payment_account_owner::ActiveModel {
        provider: Set(provider.to_owned()),
        account_id: Set(account_id.to_owned()),
        owner_tenant_id: Set(tenant_id),
    };
    payment_account_owner::Entity::insert(claim)
        .on_conflict(
            OnConflict::columns([payment_account_owner::Column::Provider, payment_account_owner::Column::AccountId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let owner = payment_account_owner::Entity::find_by_id((provider.to_owned(), account_id.to_owned()))
        .one(txn)
        .await?
        .map(|claim| claim.owner_tenant_id);
    if owner == Some(tenant_id) {
        Ok(())
    } else {
        Err(DomainError::Conflict("this provider account is another business's".into()))
    }
}

/// Sets the business's payment terms; returns them as they were and are.
/// Terms that ask a payment need the payment account (`NOT_FOUND` without).
pub async fn set_terms(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    terms: &PaymentTerms,
    now: DateTime<Utc>,
) -> Result<(PaymentTerms, PaymentTerms)> {
    terms.validate()?;
    let before = account_of(txn, tenant_id)
        .await?
        .ok_or_else(|| DomainError::invalid("terms", "set the business's payment account first"))?;
    payment_account::Entity::update_many()
        .col_expr(payment_account::Column::Terms, Expr::value(terms.to_json()))
        .col_expr(payment_account::Column::UpdatedAt, Expr::value(stamp(now)))
        .filter(payment_account::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok((before.terms, terms.clone()))
}
