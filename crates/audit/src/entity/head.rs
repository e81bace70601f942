use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

/// The two ends of a tenant's chain. The last link: appends lock it, and
/// verification compares the records with it, so a deleted last record is noticed
/// too. The first: records up to `expired_through_seq` were removed by retention,
/// and the last of them had `expired_through_hash`, so the remaining chain still
/// verifies from there.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_heads")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    pub(crate) seq: i64,
    pub(crate) hash: String,
    pub(crate) expired_through_seq: i64,
    pub(crate) expired_through_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
