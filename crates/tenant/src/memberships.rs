//! Memberships: who belongs to a tenant, read by the tenant's members and
//! written only in other changes' transactions (creating a tenant, accepting an
//! invitation), through the functions here.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{
    DomainError, MembershipId, Page, PageRequest, Permission, RequestContext, Result, TenantId, UserId,
};

use crate::entity::membership;
use crate::model::{Member, Tenant};
use crate::repo;
use crate::service::{TenantRef, TenantService};

/// The tenant `reference` names, when `user_id` is a member of it; in a transaction
/// opened with the user's scope. For resolving the `X-Tenant` header.
pub async fn find_member_tenant<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    reference: &TenantRef,
) -> Result<Option<Tenant>> {
    repo::find_member_tenant(conn, user_id, reference.condition()).await?.map(Tenant::try_from).transpose()
}

/// Whether `user_id` belongs to `tenant_id`; in the tenant's transaction.
pub async fn is_member<C: sea_orm::ConnectionTrait>(conn: &C, tenant_id: TenantId, user_id: UserId) -> Result<bool> {
    Ok(membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .is_some())
}

/// The tenants `user_id` belongs to; in a transaction of that user's scope.
pub async fn tenant_ids_of_user<C: sea_orm::ConnectionTrait>(conn: &C, user_id: UserId) -> Result<Vec<TenantId>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.tenant_id)
        .collect())
}

/// Those of `user_ids` who belong to `tenant_id`; in the tenant's transaction.
pub async fn members_among<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    user_ids: &[UserId],
) -> Result<Vec<UserId>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant_id))
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Makes `user_id` a member of `tenant_id` inside the caller's transaction (tenant
/// creation, or a higher crate that grants roles with the membership). A user who
/// already belongs gets `CONFLICT`.
pub async fn insert_membership<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    user_id: UserId,
    at: DateTime<Utc>,
) -> Result<Member> {
    if is_member(conn, tenant_id, user_id).await? {
        return Err(DomainError::Conflict("the user already belongs to this tenant".into()));
    }
    let row = membership::ActiveModel {
        id: Set(MembershipId::generate(at)),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(Member::from(row))
}

impl From<membership::Model> for Member {
    fn from(m: membership::Model) -> Self {
        Self { id: m.id, tenant_id: m.tenant_id, user_id: m.user_id, joined_at: m.created_at }
    }
}

impl TenantService {
    /// The request tenant's members.
    pub async fn members(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Member>> {
        let auth = ctx.authorize(Permission::MemberRead)?;
        let keyset = page.keyset()?;
        let txn = self.db.begin(auth.scope(), Access::Read).await?;
        let rows = keyset
            .apply(
                membership::Entity::find().filter(membership::Column::TenantId.eq(auth.tenant_id)),
                membership::Column::Id,
            )
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Member::from))
    }

    /// Those of `user_ids` who belong to the request's tenant (none outside a
    /// tenant). Whether a person is a member decides what others there may see
    /// of them, so any caller in the tenant may ask; the answer is only used to
    /// hide, never to list.
    pub async fn members_of_request_tenant(&self, ctx: &RequestContext, user_ids: &[UserId]) -> Result<Vec<UserId>> {
        let Some(tenant) = ctx.tenant() else { return Ok(Vec::new()) };
        let scope = Scope::Tenant { tenant_id: tenant.tenant_id, user_id: ctx.actor().map(|a| a.user_id) };
        let txn = self.db.begin(scope, Access::Read).await?;
        let members = members_among(&txn, tenant.tenant_id, user_ids).await?;
        txn.commit().await?;
        Ok(members)
    }
}
