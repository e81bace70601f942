use sea_orm::entity::prelude::*;
use tessera_kernel::{ProviderId, ScheduleExceptionId, TenantId};

use crate::model::ExceptionKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "schedule_exceptions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ScheduleExceptionId,
    pub(crate) provider_id: Option<ProviderId>,
    pub(crate) date: Date,
    pub(crate) kind: ExceptionKind,
    pub(crate) adds_to_weekly_hours: bool,
    pub(crate) start_minute: Option<i16>,
    pub(crate) end_minute: Option<i16>,
    pub(crate) reason: Option<String>,
    pub(crate) created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
