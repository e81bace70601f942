use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

/// The last link of a tenant's chain: appends lock it, and verification compares
/// the records with it, so a deleted last record is noticed too.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_heads")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    pub(crate) seq: i64,
    pub(crate) hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
