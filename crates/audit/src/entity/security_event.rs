use sea_orm::entity::prelude::*;
use tessera_kernel::{TenantId, UserId};

use crate::security::{SecurityEventKind, Severity};

/// An event about a tenant's access (account events: `account_security_event`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) user_id: Option<UserId>,
    pub(crate) actor_user_id: Option<UserId>,
    pub(crate) kind: SecurityEventKind,
    pub(crate) severity: Severity,
    pub(crate) details: String,
    pub(crate) request_id: Option<String>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
