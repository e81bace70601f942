//! Users: the `User` entity as each caller may see it, and the `me` and `findUserById`
//! queries.

use async_graphql::{Context, ID, Object};
use tessera_api_macros::operations;
use tessera_kernel::UserId;

use super::objects::{UserObject, is_member_here};
use crate::error::ApiResult;
use crate::graphql::{SignedIn, loaders, request, services};

/// Queries about users.
#[derive(Default)]
pub(super) struct UserQueries;

#[operations]
#[Object]
impl UserQueries {
    /// The signed-in user.
    #[access(SignedIn)]
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<UserObject> {
        Ok(UserObject::seen(services(ctx)?.identity.me(request(ctx)?).await?))
    }

    /// Federation: resolves a `User` reference from another subgraph: the caller
    /// themselves, or a member of the request's tenant; nobody else.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<UserObject>> {
        let Ok(id) = id.parse::<UserId>() else { return Ok(None) };
        let request = request(ctx)?;
        let Some(actor) = request.actor() else { return Ok(None) };
        if actor.user_id != id && !is_member_here(ctx, id).await? {
            return Ok(None);
        }
        let found = loaders(ctx)?.users().load_one(id).await?;
        Ok(found.map(UserObject::seen))
    }
}
