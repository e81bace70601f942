//! Who runs a business: the accounts holding its built-in owner role
//! tenant-wide, directly and in force. Read inside another change's
//! transaction (the gateway tells them when the business nears a limit).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tessera_kernel::{Result, TenantId, UserId};

use crate::entity::{assignment, role};
use crate::model::{BuiltinRole, ScopeType};
use crate::service::active_assignment;

/// The owners of `tenant_id` at `at`, in `conn`'s transaction.
pub async fn owners_in<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, at: DateTime<Utc>) -> Result<Vec<UserId>> {
    let Some(owner_role) = role::Entity::find()
        .filter(role::Column::TenantId.eq(tenant_id))
        .filter(role::Column::BuiltinKey.eq(BuiltinRole::Owner))
        .one(conn)
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut owners: Vec<UserId> = assignment::Entity::find()
        .filter(assignment::Column::TenantId.eq(tenant_id))
        .filter(assignment::Column::RoleId.eq(owner_role.id))
        .filter(assignment::Column::ScopeType.eq(ScopeType::Tenant))
        .filter(active_assignment(at))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|a| a.user_id)
        .collect();
    owners.sort();
    owners.dedup();
    Ok(owners)
}
