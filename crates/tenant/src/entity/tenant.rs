use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::model::{IsolationLevel, TenantStatus, TenantTier};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: TenantId,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) parent_tenant_id: Option<TenantId>,
    pub(crate) parent_may_manage: bool,
    pub(crate) tier: TenantTier,
    pub(crate) status: TenantStatus,
    pub(crate) timezone: String,
    pub(crate) locale: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub(crate) settings: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub(crate) feature_flags: Json,
    pub(crate) isolation_level: IsolationLevel,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) deleted_at: Option<DateTimeUtc>,
    pub(crate) deletion_scheduled_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub(crate) security_policy: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
