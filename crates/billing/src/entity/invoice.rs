use sea_orm::entity::prelude::*;
use tessera_kernel::{SubscriptionId, TenantId};

use crate::model::{InvoiceReason, InvoiceStatus};

/// An invoice of a business's subscription.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) number: String,
    pub(crate) subscription_id: SubscriptionId,
    pub(crate) reason: InvoiceReason,
    pub(crate) period_start: DateTimeUtc,
    pub(crate) period_end: DateTimeUtc,
    pub(crate) status: InvoiceStatus,
    pub(crate) currency: String,
    pub(crate) subtotal_minor: i64,
    pub(crate) discount_minor: i64,
    pub(crate) total_minor: i64,
    pub(crate) amount_paid_minor: i64,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: Option<DateTimeUtc>,
    pub(crate) due_at: DateTimeUtc,
    pub(crate) paid_at: Option<DateTimeUtc>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) quote_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
