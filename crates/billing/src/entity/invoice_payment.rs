use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::model::{PaymentProvider, PaymentState};

/// One attempt to collect an invoice.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_payments")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) invoice_id: Uuid,
    pub(crate) payment_method_id: Uuid,
    pub(crate) provider: PaymentProvider,
    pub(crate) provider_payment_id: Option<String>,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: PaymentState,
    pub(crate) failure_code: Option<String>,
    pub(crate) automatic: bool,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
