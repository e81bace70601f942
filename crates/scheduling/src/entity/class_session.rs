use sea_orm::entity::prelude::*;
use tessera_kernel::{ClassScheduleId, ClassSessionId, ProviderId, ServiceId, TenantId, UserId};

/// A session of a class; `seats_taken` is kept by the database (see the
/// migration `class_sessions`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "class_sessions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ClassSessionId,
    pub(crate) service_id: ServiceId,
    pub(crate) provider_id: ProviderId,
    pub(crate) schedule_id: Option<ClassScheduleId>,
    /// `scheduled` or `cancelled`.
    pub(crate) status: String,
    pub(crate) starts_at: DateTimeUtc,
    pub(crate) ends_at: DateTimeUtc,
    pub(crate) blocked_from: DateTimeUtc,
    pub(crate) blocked_until: DateTimeUtc,
    pub(crate) capacity: i32,
    pub(crate) seats_taken: i32,
    pub(crate) seats_per_customer: i32,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
    pub(crate) cancelled_at: Option<DateTimeUtc>,
    pub(crate) cancellation_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
