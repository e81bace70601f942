//! Per-request DataLoaders.
//!
//! Loaders are built for each request with that request's context, so every batch
//! they run is a read in the request's scope (DataLoaders run in spawned tasks,
//! outside any resolver's transaction). Nested fields that point at users or tenants
//! go through them, so a page of N memberships costs one user query, not N.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use tessera_identity::User;
use tessera_kernel::{RequestContext, TenantId, UserId};
use tessera_tenant::Tenant;

use super::Services;
use crate::error::ApiError;

/// The loaders of one request.
pub struct Loaders {
    /// Users by id.
    pub(crate) users: DataLoader<UserLoader>,
    /// Tenants by id (only those the actor may read).
    pub(crate) tenants: DataLoader<TenantLoader>,
}

impl Loaders {
    /// Loaders reading on behalf of `request`.
    pub fn new(services: Arc<Services>, request: RequestContext) -> Self {
        Self {
            users: DataLoader::new(UserLoader { services: services.clone(), request: request.clone() }, tokio::spawn),
            tenants: DataLoader::new(TenantLoader { services, request }, tokio::spawn),
        }
    }
}

pub(crate) struct UserLoader {
    services: Arc<Services>,
    request: RequestContext,
}

impl Loader<UserId> for UserLoader {
    type Value = User;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, User>, Self::Error> {
        let users = self.services.identity.users_by_ids(&self.request, keys).await.map_err(ApiError::from)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

pub(crate) struct TenantLoader {
    services: Arc<Services>,
    request: RequestContext,
}

impl Loader<TenantId> for TenantLoader {
    type Value = Tenant;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[TenantId]) -> Result<HashMap<TenantId, Tenant>, Self::Error> {
        Ok(self.services.tenants.tenants_by_ids(&self.request, keys).await.map_err(ApiError::from)?)
    }
}
