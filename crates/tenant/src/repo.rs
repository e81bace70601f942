//! Queries on the tenant tables. Crate-private; every function names its scope.

use sea_orm::sea_query::Query;
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
            parent_may_manage: row.parent_may_manage,
            tier: row.tier,
            status: row.status,
            timezone: row.timezone,
            locale: row.locale,
            isolation_level: row.isolation_level,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            deletion_scheduled_at: row.deletion_scheduled_at,
            security_policy: crate::SecurityPolicy::from_json(row.security_policy.as_ref())?,
        })
    }
}

/// Tenants `user_id` may read: those they belong to. A branch is read by its
/// own members, or listed to those who manage its parent
/// ([`TenantService::child_tenants`](crate::TenantService::child_tenants)); a
/// customer of the parent is not one of them.
pub(crate) fn readable_by_user(user_id: UserId) -> Condition {
    Condition::all().add(tenant::Column::Id.in_subquery(tenants_of(user_id)))
}

/// The ids of the tenants `user_id` belongs to.
pub(crate) fn tenants_of(user_id: UserId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(membership::Column::TenantId)
        .from(membership::Entity)
        .and_where(membership::Column::UserId.eq(user_id))
        .to_owned()
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

/// The tenant matching `condition` when `user_id` is not a member of it but of its
/// parent, and it lets its parent manage it; with that parent.
pub(crate) async fn find_parent_managed_tenant<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    condition: Condition,
) -> Result<Option<(tenant::Model, tenant::Model)>> {
    let Some(child) = tenant::Entity::find().filter(condition).one(conn).await? else {
        return Ok(None);
    };
    let Some(parent_id) = child.parent_tenant_id.filter(|_| child.parent_may_manage) else {
        return Ok(None);
    };
    let Some(parent) =
        find_member_tenant(conn, user_id, Condition::all().add(tenant::Column::Id.eq(parent_id))).await?
    else {
        return Ok(None);
    };
    Ok(Some((child, parent)))
}
