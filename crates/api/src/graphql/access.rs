//! GraphQL for access rules: the permission catalogue.

use async_graphql::{Object, SimpleObject};
use tessera_api_macros::operations;
use tessera_kernel::Permission;

/// One thing an actor may be allowed to do in a tenant.
#[derive(SimpleObject)]
#[graphql(name = "PermissionInfo")]
pub(crate) struct PermissionInfoObject {
    /// `resource:action`, as guards and `@permission` name it.
    name: &'static str,
    /// What it is about (`booking`).
    resource: &'static str,
    /// What it allows (`create`).
    action: &'static str,
    /// What it means.
    description: &'static str,
    /// The permissions holding this one includes (managing a thing includes
    /// seeing it).
    implies: Vec<&'static str>,
}

impl From<Permission> for PermissionInfoObject {
    fn from(p: Permission) -> Self {
        let (resource, action) = p.name().split_once(':').unwrap_or((p.name(), ""));
        let implies = p.implies().iter().map(|i| i.name()).collect();
        Self { name: p.name(), resource, action, description: p.description(), implies }
    }
}

#[derive(Default)]
pub(crate) struct AccessQueries;

#[operations]
#[Object]
impl AccessQueries {
    /// Every permission there is (the closed catalogue).
    #[access(Public)]
    async fn permission_catalogue(&self) -> Vec<PermissionInfoObject> {
        Permission::ALL.into_iter().map(PermissionInfoObject::from).collect()
    }
}
