use sea_orm::entity::prelude::*;
use tessera_kernel::{CustomerId, TenantId};

use crate::cards::CardStatus;

/// A card a customer keeps at a business's payment account (`customer_cards`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_cards")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) customer_id: CustomerId,
    pub(crate) provider: String,
    pub(crate) account_id: String,
    pub(crate) status: CardStatus,
    pub(crate) provider_customer_id: Option<String>,
    pub(crate) setup_id: Option<String>,
    pub(crate) payment_method_id: Option<String>,
    pub(crate) brand: Option<String>,
    pub(crate) last4: Option<String>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) kept_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
