//! Partner API clients: OAuth 2.0 client credentials (RFC 6749 §4.4) for
//! machines that call one tenant's API.
//!
//! - A tenant's managers make a client with a name and **scopes**, which are
//!   permission names (`booking:read`); they can only give what they hold
//!   themselves. The client id (`tpc_…`) is public; the secret (`tps_…`) is
//!   shown once and kept as a SHA-256 hash.
//! - The client exchanges its id and secret at the token endpoint for an access
//!   token (`tsc_…`) valid [`CLIENT_TOKEN_MINUTES`] minutes, for all its scopes
//!   or fewer. The token acts in the client's tenant only.
//! - **Whose rights**: a client acts within the rights of the manager who made
//!   it, narrowed to its scopes. If that person loses a permission or leaves the
//!   tenant, the client loses it too, so a client can never hold more than a
//!   current member granted. Its requests carry the client's id where a session
//!   id would be, so the audit log and security events name the client.
//! - **Rotation** replaces the secret; the old one may keep working for a
//!   chosen overlap so a partner can deploy the new one. **Revocation** stops
//!   the client and its tokens at once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{
    DomainError, OAuthClientId, Permission, PermissionSet, RequestContext, Result, SessionId, TenantId, UserId,
};

use crate::api_keys::parse_name;
use crate::entity::{oauth_client, oauth_token, user};
use crate::model::UserStatus;
use crate::service::IdentityService;
use crate::token::{hash_token, new_token};

/// The prefix of client access tokens.
pub const CLIENT_TOKEN_PREFIX: &str = "tsc_";
/// How long a client access token works.
pub const CLIENT_TOKEN_MINUTES: i64 = 30;
/// Live clients a tenant may have.
pub const MAX_CLIENTS: u64 = 50;
/// The longest a rotated secret may keep working, in minutes (a week).
pub const MAX_ROTATION_OVERLAP_MINUTES: u32 = 7 * 24 * 60;
const CLIENT_ID_PREFIX: &str = "tpc_";
const CLIENT_ID_CHARS: usize = 24;
const SECRET_PREFIX: &str = "tps_";

/// A partner client as its tenant's managers see it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Id.
    pub id: OAuthClientId,
    /// The tenant it acts in.
    pub tenant_id: TenantId,
    /// What it is ("Acme booking widget").
    pub name: String,
    /// The public client id (`tpc_…`).
    pub client_id: String,
    /// What it may do.
    pub scopes: Vec<Permission>,
    /// Who made it (and whose rights bound it).
    pub created_by: UserId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its secret was last replaced.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it last obtained a token.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An access token handed to a client; shown once.
#[derive(Clone)]
pub struct ClientToken {
    /// `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// What it may do.
    pub scopes: Vec<Permission>,
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientToken").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Why the token endpoint refused (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Unknown client, wrong secret, or a revoked client: never told apart.
    InvalidClient,
    /// A requested scope is unknown or not the client's.
    InvalidScope(String),
}

/// What a client's access token lets a request do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    /// The client (row id), standing where a session id would.
    pub client: OAuthClientId,
    /// The only tenant it acts in.
    pub tenant_id: TenantId,
    /// Its scopes: at most these permissions.
    pub scopes: PermissionSet,
}

impl From<oauth_client::Model> for OAuthClient {
    fn from(row: oauth_client::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            client_id: row.client_id,
            scopes: parse_stored_scopes(&row.scopes),
            created_by: row.created_by,
            created_at: row.created_at,
            rotated_at: row.rotated_at,
            previous_secret_expires_at: row.previous_secret_expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

pub(crate) fn parse_stored_scopes(stored: &str) -> Vec<Permission> {
    stored.split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

fn scope_text(scopes: &[Permission]) -> String {
    scopes.iter().map(|p| p.name()).collect::<Vec<_>>().join(" ")
}

/// Refuses a request made by a client: clients never manage clients.
fn refuse_clients(ctx: &RequestContext) -> Result<()> {
    if ctx.client().is_some() {
        return Err(DomainError::Forbidden("a partner client cannot manage clients".into()));
    }
    Ok(())
}

impl IdentityService {
    /// Makes a client for the request's tenant with `scopes` (permission names
    /// the caller holds there). Needs `tenant:manage`. Returns it with its
    /// secret, shown this once.
    pub async fn create_oauth_client(
        &self,
        ctx: &RequestContext,
        name: &str,
        scopes: &[String],
    ) -> Result<(OAuthClient, String)> {
        let authorized = ctx.authorize(Permission::TenantManage)?;
        let actor = ctx.require_actor()?;
        refuse_clients(ctx)?;
        let name = parse_name(name)?;
        let held = ctx.tenant().map(|t| t.permissions.clone()).unwrap_or_else(PermissionSet::empty);
        let mut granted: Vec<Permission> = Vec::new();
        for raw in scopes {
            let permission: Permission = raw
                .trim()
                .parse()
                .map_err(|_| DomainError::invalid("scopes", format!("{raw:?} is not a permission name")))?;
            if !held.contains(permission) {
                return Err(DomainError::Forbidden(format!(
                    "you cannot give a client {permission}: you do not hold it here"
                )));
            }
            if !granted.contains(&permission) {
                granted.push(permission);
            }
        }
        if granted.is_empty() {
            return Err(DomainError::invalid("scopes", "must name at least one permission"));
        }
        granted.sort();
        let now = ctx.now();
        let txn = self.db.begin(authorized.scope(), Access::Write).await?;
        let live = oauth_client::Entity::find()
            .filter(oauth_client::Column::TenantId.eq(authorized.tenant_id))
            .filter(oauth_client::Column::RevokedAt.is_null())
            .count(&txn)
            .await?;
        if live >= MAX_CLIENTS {
            return Err(DomainError::Conflict(format!(
                "this business has {MAX_CLIENTS} clients; revoke one no longer used first"
            )));
        }
        let secret = new_token(SECRET_PREFIX);
        let row = oauth_client::Model {
            id: OAuthClientId(uuid_v7_at(now)),
            tenant_id: authorized.tenant_id,
            name,
            client_id: new_token(CLIENT_ID_PREFIX).chars().take(CLIENT_ID_PREFIX.len() + CLIENT_ID_CHARS).collect(),
            secret_hash: hash_token(&secret),
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            scopes: scope_text(&granted),
            created_by: actor.user_id,
            created_at: now,
            rotated_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        oauth_client::Entity::insert(oauth_client::ActiveModel {
            id: Set(row.id),
            tenant_id: Set(row.tenant_id),
            name: Set(row.name.clone()),
            client_id: Set(row.client_id.clone()),
            secret_hash: Set(row.secret_hash.clone()),
            previous_secret_hash: Set(None),
            previous_secret_expires_at: Set(None),
            scopes: Set(row.scopes.clone()),
            created_by: Set(row.created_by),
            created_at: Set(now),
            rotated_at: Set(None),
            last_used_at: Set(None),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        let entry = directory::Entry { tenant_id: Some(row.tenant_id), row_id: row.id.as_uuid() };
        directory::register(&txn, KeyKind::OAuthClient, &row.client_id, entry).await?;
        self.record_client_event(&txn, ctx, SecurityEventKind::OAuthClientCreated, &row).await?;
        let usage = client_usage(row.id, 1, "added", now);
        tessera_ledger::count_with(&txn, &*self.usage, row.tenant_id, usage).await?;
        txn.commit().await?;
        Ok((row.into(), secret))
    }

    /// The request's tenant's clients, newest first (`tenant:manage`).
    pub async fn oauth_clients(&self, ctx: &RequestContext) -> Result<Vec<OAuthClient>> {
        let authorized = ctx.authorize(Permission::TenantManage)?;
        let txn = self.db.begin(authorized.scope(), Access::Read).await?;
        let rows = oauth_client::Entity::find()
            .filter(oauth_client::Column::TenantId.eq(authorized.tenant_id))
            .order_by_desc(oauth_client::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(OAuthClient::from).collect())
    }

    /// Clients of the request's tenant among `ids` (for naming them in its
    /// audit log; others' are simply absent).
    pub async fn oauth_clients_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[OAuthClientId],
    ) -> Result<std::collections::HashMap<OAuthClientId, OAuthClient>> {
        let Some(tenant) = ctx.tenant() else { return Ok(std::collections::HashMap::new()) };
        let scope = Scope::Tenant { tenant_id: tenant.tenant_id, user_id: ctx.actor().map(|a| a.user_id) };
        let txn = self.db.begin(scope, Access::Read).await?;
        let rows = oauth_client::Entity::find()
            .filter(oauth_client::Column::TenantId.eq(tenant.tenant_id))
            .filter(oauth_client::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|row| (row.id, OAuthClient::from(row))).collect())
    }

    /// Gives a client of the request's tenant a new secret (shown this once);
    /// the old one keeps working `keep_previous_minutes` (none by default).
    pub async fn rotate_oauth_client_secret(
        &self,
        ctx: &RequestContext,
        id: OAuthClientId,
        keep_previous_minutes: Option<u32>,
    ) -> Result<(OAuthClient, String)> {
        let authorized = ctx.authorize(Permission::TenantManage)?;
        refuse_clients(ctx)?;
        let overlap = keep_previous_minutes.unwrap_or(0);
        if overlap > MAX_ROTATION_OVERLAP_MINUTES {
            return Err(DomainError::invalid(
                "keepPreviousMinutes",
                format!("must be 0 to {MAX_ROTATION_OVERLAP_MINUTES} (a week)"),
            ));
        }
        let now = ctx.now();
        let txn = self.db.begin(authorized.scope(), Access::Write).await?;
        let row = self.live_client(&txn, authorized.tenant_id, id).await?;
        let secret = new_token(SECRET_PREFIX);
        let keep = overlap > 0;
        oauth_client::Entity::update_many()
            .col_expr(oauth_client::Column::SecretHash, Expr::value(hash_token(&secret)))
            .col_expr(oauth_client::Column::PreviousSecretHash, Expr::value(keep.then(|| row.secret_hash.clone())))
            .col_expr(
                oauth_client::Column::PreviousSecretExpiresAt,
                Expr::value(keep.then(|| now + Duration::minutes(i64::from(overlap)))),
            )
            .col_expr(oauth_client::Column::RotatedAt, Expr::value(now))
            .filter(oauth_client::Column::TenantId.eq(row.tenant_id))
            .filter(oauth_client::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        self.record_client_event(&txn, ctx, SecurityEventKind::OAuthClientSecretRotated, &row).await?;
        let row = oauth_client::Entity::find_by_id((row.tenant_id, row.id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "OAuth client" })?;
        txn.commit().await?;
        Ok((row.into(), secret))
    }

    /// Revokes a client of the request's tenant: it and its tokens stop at once.
    pub async fn revoke_oauth_client(&self, ctx: &RequestContext, id: OAuthClientId) -> Result<OAuthClient> {
        let authorized = ctx.authorize(Permission::TenantManage)?;
        refuse_clients(ctx)?;
        let now = ctx.now();
        let txn = self.db.begin(authorized.scope(), Access::Write).await?;
        let row = self.live_client(&txn, authorized.tenant_id, id).await?;
        oauth_client::Entity::update_many()
            .col_expr(oauth_client::Column::RevokedAt, Expr::value(now))
            .filter(oauth_client::Column::TenantId.eq(row.tenant_id))
            .filter(oauth_client::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        oauth_token::Entity::delete_many().filter(oauth_token::Column::ClientRowId.eq(row.id)).exec(&txn).await?;
        self.record_client_event(&txn, ctx, SecurityEventKind::OAuthClientRevoked, &row).await?;
        let usage = client_usage(row.id, -1, "revoked", now);
        tessera_ledger::count_with(&txn, &*self.usage, row.tenant_id, usage).await?;
        let row = oauth_client::Entity::find_by_id((row.tenant_id, row.id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "OAuth client" })?;
        txn.commit().await?;
        // A client's subscriptions run under its id as their session.
        self.sessions_ended(&[SessionId(row.id.as_uuid())]).await;
        Ok(row.into())
    }

    async fn live_client(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: TenantId,
        id: OAuthClientId,
    ) -> Result<oauth_client::Model> {
        oauth_client::Entity::find_by_id((tenant_id, id))
            .filter(oauth_client::Column::RevokedAt.is_null())
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "OAuth client" })
    }

    /// Records a change to a client as a security event of its tenant (so the
    /// tenant's auditors see it), in `txn`, which must be scoped to that tenant.
    async fn record_client_event(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        kind: SecurityEventKind,
        row: &oauth_client::Model,
    ) -> Result<()> {
        let event = SecurityEvent {
            kind,
            severity: Severity::Medium,
            user_id: ctx.actor().map(|a| a.user_id),
            details: json!({ "clientId": row.client_id, "name": row.name, "scopes": row.scopes }),
        };
        record_security_event(txn, ctx, Some(row.tenant_id), event).await
    }

    /// The token endpoint's work: checks a client's id and secret and issues an
    /// access token for `requested` scopes (space-separated; all the client's
    /// when absent).
    pub async fn issue_client_token(
        &self,
        client_id: &str,
        secret: &str,
        requested: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<ClientToken, TokenRefusal>> {
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        // The client id names no tenant: the directory leads to the client's row.
        let found = match directory::resolve(&txn, KeyKind::OAuthClient, client_id).await? {
            Some(directory::Entry { tenant_id: Some(tenant_id), row_id }) => {
                // From here on the transaction acts in the client's tenant.
                self.db.enter_tenant(&txn, tenant_id).await?;
                oauth_client::Entity::find()
                    .filter(oauth_client::Column::TenantId.eq(tenant_id))
                    .filter(oauth_client::Column::Id.eq(row_id))
                    .filter(oauth_client::Column::ClientId.eq(client_id))
                    .filter(oauth_client::Column::RevokedAt.is_null())
                    .one(&txn)
                    .await?
            }
            _ => None,
        };
        let presented = hash_token(secret);
        let Some(client) = found.filter(|c| {
            c.secret_hash == presented
                || (c.previous_secret_hash.as_deref() == Some(presented.as_str())
                    && c.previous_secret_expires_at.is_some_and(|until| until > now))
        }) else {
            txn.commit().await?;
            return Ok(Err(TokenRefusal::InvalidClient));
        };
        let creator_active = user::Entity::find_by_id(client.created_by)
            .one(&txn)
            .await?
            .is_some_and(|u| u.status == UserStatus::Active);
        if !creator_active {
            txn.commit().await?;
            return Ok(Err(TokenRefusal::InvalidClient));
        }
        let allowed = parse_stored_scopes(&client.scopes);
        let scopes = match requested.map(str::split_whitespace) {
            None => allowed.clone(),
            Some(words) => {
                let mut scopes = Vec::new();
                for word in words {
                    match word.parse::<Permission>() {
                        Ok(p) if allowed.contains(&p) => {
                            if !scopes.contains(&p) {
                                scopes.push(p);
                            }
                        }
                        _ => {
                            txn.commit().await?;
                            return Ok(Err(TokenRefusal::InvalidScope(format!(
                                "{word:?} is not one of this client's scopes"
                            ))));
                        }
                    }
                }
                if scopes.is_empty() { allowed.clone() } else { scopes }
            }
        };
        let access_token = new_token(CLIENT_TOKEN_PREFIX);
        let expires_at = now + Duration::minutes(CLIENT_TOKEN_MINUTES);
        oauth_token::Entity::insert(oauth_token::ActiveModel {
            id: Set(uuid_v7_at(now)),
            client_row_id: Set(client.id),
            client_tenant_id: Set(client.tenant_id),
            token_hash: Set(hash_token(&access_token)),
            scopes: Set(scope_text(&scopes)),
            created_at: Set(now),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&txn)
        .await?;
        oauth_client::Entity::update_many()
            .col_expr(oauth_client::Column::LastUsedAt, Expr::value(now))
            .filter(oauth_client::Column::TenantId.eq(client.tenant_id))
            .filter(oauth_client::Column::Id.eq(client.id))
            .exec(&txn)
            .await?;
        // Expired tokens of this client go as new ones come.
        oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::ClientRowId.eq(client.id))
            .filter(oauth_token::Column::ExpiresAt.lt(now))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(Ok(ClientToken { access_token, expires_at, scopes }))
    }
}

/// A partner client added (`1`) or revoked (`-1`), as the tier counts it
/// (`api_credentials`).
fn client_usage(id: OAuthClientId, quantity: i64, change: &str, at: DateTime<Utc>) -> tessera_ledger::Usage {
    tessera_ledger::Usage {
        metric: tessera_ledger::Metric::ApiCredentials,
        quantity,
        at,
        source_kind: "oauth_client",
        source_id: Some(id.to_string()),
        key: format!("oauth_client:{id}:{change}"),
    }
}
