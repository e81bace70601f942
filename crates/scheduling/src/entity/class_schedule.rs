use sea_orm::entity::prelude::*;
use tessera_kernel::{ClassScheduleId, ProviderId, ServiceId, TenantId, UserId};

/// A recurring class: an RFC 5545 rule from a first local date and time.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "class_schedules")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) tenant_id: TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: ClassScheduleId,
    pub(crate) service_id: ServiceId,
    pub(crate) provider_id: ProviderId,
    /// `FREQ=WEEKLY;…` without `DTSTART`, which `first_date` and
    /// `start_minute` give in the tenant's timezone.
    pub(crate) rule: String,
    pub(crate) first_date: Date,
    /// Minutes after local midnight.
    pub(crate) start_minute: i32,
    pub(crate) capacity: i32,
    pub(crate) seats_per_customer: i32,
    /// Sessions exist for every occurrence starting before this instant.
    pub(crate) generated_until: Option<DateTimeUtc>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
