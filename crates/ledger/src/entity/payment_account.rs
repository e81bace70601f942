use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

/// A business's own account at a payment provider (`payment_accounts`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_accounts")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    pub(crate) provider: String,
    pub(crate) account_id: String,
    pub(crate) enabled: bool,
    /// [`crate::PaymentTerms`] as JSON.
    pub(crate) terms: String,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
