use sea_orm::entity::prelude::*;
use tessera_kernel::{ProviderId, TenantId, UserId};

use crate::model::ProviderType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "providers")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ProviderId,
    pub(crate) user_id: Option<UserId>,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) provider_type: ProviderType,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) active: bool,
    pub(crate) rating_sum: i64,
    pub(crate) review_count: i32,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    /// Set for a resource (`room`, `basin`…): booked with a person, never
    /// on its own.
    pub(crate) resource_type: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
