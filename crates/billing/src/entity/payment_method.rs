use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::model::PaymentProvider;

/// A card a business keeps at a provider: its id there, brand and last four.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_methods")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) payment_customer_id: Uuid,
    pub(crate) provider: PaymentProvider,
    pub(crate) provider_method_id: String,
    pub(crate) brand: String,
    pub(crate) last4: String,
    pub(crate) is_default: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) removed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
