//! Object-level rules: what an actor who holds a permission only for their own
//! records (`booking:read_own`, `customer:read_own`, …) or only on some providers
//! (a role granted on one provider) may reach.
//!
//! A user is linked to at most one provider (`providers.user_id`: a stylist's own
//! calendar) and one customer record (`customers.user_id`: their own bookings and
//! profile) per tenant. "Own" bookings are those the user takes part in as either.

use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::txn::Txn;
use tessera_kernel::{CustomerId, Permission, ProviderId, Reach, RequestContext, Resource, Result, TenantId, UserId};

use crate::entity::{booking, customer, provider};
use crate::service::SchedulingService;

/// Which of the actor's own records count for a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Own {
    /// The customer record linked to the actor (their bookings as a customer).
    Customer,
    /// The provider linked to the actor (their calendar).
    Provider,
    /// Either: bookings the actor takes part in, as customer or provider.
    Either,
}

/// What a request may reach under one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Visible {
    /// The whole tenant.
    All,
    /// Only these providers' and customers' records.
    Only {
        /// Providers linked to the actor, or that the full permission was granted on.
        providers: Vec<ProviderId>,
        /// The customer record linked to the actor.
        customers: Vec<CustomerId>,
    },
}

impl Visible {
    /// The condition limiting a bookings query, if any.
    pub(crate) fn bookings(&self) -> Option<Condition> {
        match self {
            Self::All => None,
            Self::Only { providers, customers } => Some(
                Condition::any()
                    .add(booking::Column::ProviderId.is_in(providers.iter().copied()))
                    .add(booking::Column::CustomerId.is_in(customers.iter().copied())),
            ),
        }
    }

    /// Whether one booking is within reach.
    pub(crate) fn allows_booking(&self, provider_id: ProviderId, customer_id: CustomerId) -> bool {
        match self {
            Self::All => true,
            Self::Only { providers, customers } => providers.contains(&provider_id) || customers.contains(&customer_id),
        }
    }

    /// Whether one customer record is within reach.
    pub(crate) fn allows_customer(&self, customer_id: CustomerId) -> bool {
        match self {
            Self::All => true,
            Self::Only { customers, .. } => customers.contains(&customer_id),
        }
    }

    /// Whether one provider is within reach.
    pub(crate) fn allows_provider(&self, provider_id: ProviderId) -> bool {
        match self {
            Self::All => true,
            Self::Only { providers, .. } => providers.contains(&provider_id),
        }
    }
}

impl SchedulingService {
    /// Checks `all` or its `own` variant, opens a transaction in the request's
    /// tenant and works out what is within reach: everything with `all` tenant-wide,
    /// else the actor's `own` records and the providers `all` was granted on.
    pub(crate) async fn open_reach(
        &self,
        ctx: &RequestContext,
        all: Permission,
        own: Permission,
        counts: Own,
        access: Access,
    ) -> Result<(Authorized, Txn, Visible)> {
        let (auth, reach) = ctx.authorize_reach(all, own)?;
        let txn = self.db.begin_for(ctx, auth.scope(), access).await?;
        let visible = match reach {
            Reach::Tenant => Visible::All,
            Reach::Limited { own, resources } => {
                let mut providers: Vec<ProviderId> = resources
                    .into_iter()
                    .map(|resource| match resource {
                        Resource::Provider(id) => id,
                    })
                    .collect();
                let mut customers = Vec::new();
                if let (true, Some(actor)) = (own, auth.actor) {
                    if counts != Own::Customer {
                        providers.extend(own_provider(&txn, auth.tenant_id, actor.user_id).await?);
                    }
                    if counts != Own::Provider {
                        customers.extend(own_customer(&txn, auth.tenant_id, actor.user_id).await?);
                    }
                }
                Visible::Only { providers, customers }
            }
        };
        Ok((auth, txn, visible))
    }
}

/// The provider linked to `user_id` in the tenant, if any.
pub(crate) async fn own_provider(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<Option<ProviderId>> {
    Ok(provider::Entity::find()
        .select_only()
        .column(provider::Column::Id)
        .filter(provider::Column::TenantId.eq(tenant_id))
        .filter(provider::Column::UserId.eq(user_id))
        .into_tuple()
        .one(txn)
        .await?)
}

/// The customer record linked to `user_id` in the tenant, if any.
pub(crate) async fn own_customer(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<Option<CustomerId>> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::TenantId.eq(tenant_id))
        .filter(customer::Column::UserId.eq(user_id))
        .into_tuple()
        .one(txn)
        .await?)
}
