use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

/// Which business named a provider account (`payment_account_owners`,
/// global).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_account_owners")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) provider: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) account_id: String,
    pub(crate) owner_tenant_id: TenantId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
