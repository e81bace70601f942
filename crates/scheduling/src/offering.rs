//! Which provider offers which service, and on whose terms: a provider may charge
//! their own price and take their own time for a service (a senior stylist charges
//! more), or keep the service's. Availability quotes and bookings take the terms
//! of the provider who performs.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{DomainError, Permission, ProviderId, RequestContext, Result, ServiceId};

use crate::entity::{provider, provider_service, service};
use crate::model::{Service, parse_minutes, parse_price};
use crate::service::{SchedulingService, not_found};

/// A service a provider offers, on the service's terms or their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Offering {
    /// Who performs.
    pub provider_id: ProviderId,
    /// What.
    pub service_id: ServiceId,
    /// The provider's own price in minor units; `None` charges the service's.
    pub price_minor: Option<i64>,
    /// The provider's own length in minutes; `None` takes the service's.
    pub duration_minutes: Option<i32>,
}

impl Offering {
    /// What the provider charges for `service` (before add-ons).
    pub fn price_of(&self, service: &Service) -> i64 {
        self.price_minor.unwrap_or(service.price_minor)
    }

    /// How long the provider takes for `service` (before add-ons).
    pub fn duration_of(&self, service: &Service) -> i32 {
        self.duration_minutes.unwrap_or(service.duration_minutes)
    }
}

impl From<provider_service::Model> for Offering {
    fn from(row: provider_service::Model) -> Self {
        Self {
            provider_id: row.provider_id,
            service_id: row.service_id,
            price_minor: row.price_minor,
            duration_minutes: row.duration_minutes,
        }
    }
}

/// Changes to a provider's terms for a service. `None` keeps a term as it is (the
/// service's for a new offering); `Some(None)` returns it to the service's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferingTerms {
    /// Own price in minor units.
    pub price_minor: Option<Option<i64>>,
    /// Own length in minutes.
    pub duration_minutes: Option<Option<i32>>,
}

impl OfferingTerms {
    fn checked(self) -> Result<Self> {
        Ok(Self {
            price_minor: self.price_minor.map(|p| p.map(|v| parse_price("priceMinor", v)).transpose()).transpose()?,
            duration_minutes: self
                .duration_minutes
                .map(|d| d.map(|v| parse_minutes("durationMinutes", v, 5)).transpose())
                .transpose()?,
        })
    }
}

impl SchedulingService {
    /// Lets a provider perform a service, or changes their terms for it. Idempotent;
    /// parallel calls for one pair serialise on its row, so each leaves one offering.
    pub async fn assign_service(
        &self,
        ctx: &RequestContext,
        provider_id: ProviderId,
        service_id: ServiceId,
        terms: OfferingTerms,
    ) -> Result<()> {
        let terms = terms.checked()?;
        let (auth, txn) = self.open(ctx, Permission::ProviderManage, Access::Write).await?;
        let provider = provider::Entity::find_by_id((auth.tenant_id, provider_id))
            .one(&txn)
            .await?
            .ok_or(not_found("provider"))?;
        if provider.resource_type.is_some() {
            return Err(DomainError::invalid(
                "providerId",
                "a resource is booked with a person: name its type in the service's resourceNeed instead",
            ));
        }
        service::Entity::find_by_id((auth.tenant_id, service_id))
            .filter(service::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
            .ok_or(not_found("service"))?;
        let created = provider_service::Entity::insert(provider_service::ActiveModel {
            tenant_id: Set(auth.tenant_id),
            provider_id: Set(provider_id),
            service_id: Set(service_id),
            price_minor: Set(None),
            duration_minutes: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                provider_service::Column::TenantId,
                provider_service::Column::ProviderId,
                provider_service::Column::ServiceId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
            > 0;
        let current = provider_service::Entity::find_by_id((auth.tenant_id, provider_id, service_id))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(not_found("provider service"))?;
        let before = Offering::from(current.clone());
        let after = Offering {
            price_minor: terms.price_minor.unwrap_or(before.price_minor),
            duration_minutes: terms.duration_minutes.unwrap_or(before.duration_minutes),
            ..before
        };
        if after != before {
            let mut row = current.into_active_model();
            row.price_minor = Set(after.price_minor);
            row.duration_minutes = Set(after.duration_minutes);
            row.update(&txn).await?;
        }
        let entry = if created {
            Some(AuditEntry::change("provider.service_assigned", "provider", provider_id, None, Some(&after))?)
        } else if after != before {
            Some(AuditEntry::change(
                "provider.service_terms_changed",
                "provider",
                provider_id,
                Some(&before),
                Some(&after),
            )?)
        } else {
            None
        };
        if let Some(entry) = entry {
            tessera_audit::append(&txn, ctx, &auth, entry).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stops a provider performing a service (existing bookings stay).
    pub async fn unassign_service(
        &self,
        ctx: &RequestContext,
        provider_id: ProviderId,
        service_id: ServiceId,
    ) -> Result<()> {
        let (auth, txn) = self.open(ctx, Permission::ProviderManage, Access::Write).await?;
        let current = provider_service::Entity::find_by_id((auth.tenant_id, provider_id, service_id))
            .one(&txn)
            .await?
            .ok_or(not_found("provider service"))?;
        let offered = Offering::from(current.clone());
        current.into_active_model().delete(&txn).await?;
        let entry = AuditEntry::change("provider.service_unassigned", "provider", provider_id, Some(&offered), None)?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The services each provider offers, with their terms.
    pub async fn offerings_of_providers(
        &self,
        ctx: &RequestContext,
        ids: &[ProviderId],
    ) -> Result<HashMap<ProviderId, Vec<Offering>>> {
        let (auth, txn) = self.open(ctx, Permission::ServiceRead, Access::Read).await?;
        let rows = provider_service::Entity::find()
            .filter(provider_service::Column::TenantId.eq(auth.tenant_id))
            .filter(provider_service::Column::ProviderId.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut by_provider: HashMap<ProviderId, Vec<Offering>> = HashMap::new();
        for row in rows {
            by_provider.entry(row.provider_id).or_default().push(row.into());
        }
        Ok(by_provider)
    }
}
