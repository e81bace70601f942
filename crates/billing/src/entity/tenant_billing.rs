use sea_orm::entity::prelude::*;
use tessera_kernel::TenantId;

use crate::model::PaymentProvider;

/// A business's billing details, and when it used its one trial.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_billing")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    pub(crate) legal_name: Option<String>,
    pub(crate) billing_email: Option<String>,
    pub(crate) tax_id: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) address_line1: Option<String>,
    pub(crate) address_line2: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) currency: String,
    pub(crate) preferred_provider: PaymentProvider,
    pub(crate) trial_used_at: Option<DateTimeUtc>,
    pub(crate) retry_days: String,
    pub(crate) when_retries_fail: String,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
