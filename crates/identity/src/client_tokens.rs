//! A partner client's access token on each request: who it acts as, and
//! whether the client still lives (for subscriptions opened with its tokens).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::{Actor, OAuthClientId, Result, SessionId};

use crate::entity::{oauth_client, oauth_token, user};
use crate::model::{AuthenticatedSession, UserStatus};
use crate::oauth::{ClientGrant, parse_stored_scopes};
use crate::service::IdentityService;
use crate::token::hash_token;

impl IdentityService {
    /// The request identity of a client access token, if it is live.
    pub(crate) async fn authenticate_client_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthenticatedSession>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = oauth_token::Entity::find()
            .filter(oauth_token::Column::TokenHash.eq(hash_token(token)))
            .filter(oauth_token::Column::ExpiresAt.gt(now))
            .one(&txn)
            .await?;
        let Some(issued) = found else {
            txn.commit().await?;
            return Ok(None);
        };
        self.db.enter_tenant(&txn, issued.client_tenant_id).await?;
        let client = oauth_client::Entity::find_by_id((issued.client_tenant_id, issued.client_row_id))
            .filter(oauth_client::Column::RevokedAt.is_null())
            .one(&txn)
            .await?;
        let Some(client) = client else {
            txn.commit().await?;
            return Ok(None);
        };
        let creator = user::Entity::find_by_id(client.created_by).one(&txn).await?;
        txn.commit().await?;
        if !creator.is_some_and(|u| u.status == UserStatus::Active) {
            return Ok(None);
        }
        Ok(Some(AuthenticatedSession {
            actor: Actor { user_id: client.created_by, session_id: SessionId(client.id.as_uuid()) },
            // Machines have no second factor to give; the secret is the credential,
            // and tenants judge clients by network, not by sign-in strength.
            second_factor: false,
            last_used_at: now,
            client: Some(ClientGrant {
                client: client.id,
                tenant_id: client.tenant_id,
                scopes: parse_stored_scopes(&issued.scopes).into_iter().collect(),
            }),
            through_api_key: false,
            recorded_use_at: now,
            // Asked every time: a client also ends with its maker's account,
            // which announces the maker's sessions and keys but not the client.
            reusable_until: now,
        }))
    }

    /// Whether the client with row id `id` is still live (for subscriptions
    /// opened with its tokens); `None` when it is not a client.
    pub(crate) async fn client_is_live(&self, id: OAuthClientId) -> Result<Option<bool>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        // The row id names no tenant: the directory's entry for the client does.
        let Some(directory::Entry { tenant_id: Some(tenant_id), .. }) =
            directory::find_row(&txn, KeyKind::OAuthClient, id.as_uuid()).await?
        else {
            txn.commit().await?;
            return Ok(None);
        };
        self.db.enter_tenant(&txn, tenant_id).await?;
        let found = oauth_client::Entity::find_by_id((tenant_id, id)).one(&txn).await?;
        let Some(client) = found else {
            txn.commit().await?;
            return Ok(None);
        };
        let maker = user::Entity::find_by_id(client.created_by).one(&txn).await?;
        txn.commit().await?;
        // It lives while it is not revoked and its maker may still act.
        Ok(Some(client.revoked_at.is_none() && maker.is_some_and(|u| u.status == UserStatus::Active)))
    }
}
