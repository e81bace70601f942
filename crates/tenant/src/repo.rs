//! Queries on the tenant tables. Crate-private; every function names its scope.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use tessera_kernel::{DomainError, Result, TenantId, UserId};

use crate::entity::{membership, tenant};
use crate::model::{FeatureFlags, Tenant, TenantSettings};

impl TryFrom<tenant::Model> for Tenant {
    type Error = DomainError;

    fn try_from(row: tenant::Model) -> Result<Self> {
        Ok(Self {
            settings: TenantSettings::from_json(&row.settings)?,
            feature_flags: FeatureFlags::from_json(&row.feature_flags)?,
            id: row.id,
            name: row.name,
            slug: row.slug,
            parent_tenant_id: row.parent_tenant_id,
            tier: row.tier,
            status: row.status,
            timezone: row.timezone,
            locale: row.locale,
            isolation_level: row.isolation_level,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            deletion_scheduled_at: row.deletion_scheduled_at,
        })
    }
}

/// Tenants `user_id` may read: those they belong to and the children of those.
pub(crate) fn readable_by_user(user_id: UserId) -> Condition {
    let mine = Query::select()
        .column(membership::Column::TenantId)
        .from(membership::Entity)
        .and_where(membership::Column::UserId.eq(user_id))
        .to_owned();
    Condition::any()
        .add(Expr::col(tenant::Column::Id).in_subquery(mine.clone()))
        .add(Expr::col(tenant::Column::ParentTenantId).in_subquery(mine))
}

pub(crate) async fn find_tenant_in_tenant_scope<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(tenant_id).one(conn).await?.ok_or(DomainError::NotFound { entity: "tenant" })
}

/// The tenant matching `condition`, when `user_id` is a member of it.
pub(crate) async fn find_member_tenant<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    condition: Condition,
) -> Result<Option<tenant::Model>> {
    let Some(row) = tenant::Entity::find().filter(condition).one(conn).await? else {
        return Ok(None);
    };
    let member = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(row.id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .is_some();
    Ok(member.then_some(row))
}
