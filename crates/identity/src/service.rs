//! The identity service: sign-up, login, password changes, sessions and refresh
//! tokens.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Backend, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{
    Actor, Db, DomainError, Page, PageRequest, Permission, RequestContext, Result, SessionId, UserId,
};
use tokio::sync::OnceCell;

use crate::ceremony::{CeremonyStore, DatabaseCeremonies};

use crate::entity::{login_history, password_history, refresh_token, session, user};
use crate::model::{
    AuthenticatedSession, Email, IssuedSession, LoginAttempt, LoginFailure, LoginFilter, NewUser, Password,
    PasswordPolicy, RelyingParty, Session, SessionPolicy, User, UserStatus,
};
use crate::passkey::{PasskeySetup, relying_party as relying_party_setup};
use crate::password::{Lane, PasswordHasher};
use crate::throttle::{self, Charge, Reservation};
use crate::token::{ACCESS_PREFIX, REFRESH_PREFIX, hash_token, new_token};
use tessera_kernel::token::AccountLinks;

/// Sessions are touched (last use, idle expiry) at most this often, so authenticated
/// reads do not each cost a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A user's status, without the rest of their row.
pub(crate) async fn user_status<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<Option<UserStatus>> {
    Ok(user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::Status)
        .into_tuple::<UserStatus>()
        .one(conn)
        .await?)
}

/// Signs people up and in, and keeps their sessions.
#[derive(Debug, Clone)]
pub struct IdentityService {
    pub(crate) db: Db,
    pub(crate) hasher: PasswordHasher,
    pub(crate) policy: SessionPolicy,
    pub(crate) password_policy: PasswordPolicy,
    pub(crate) links: AccountLinks,
    /// The WebAuthn relying party; passkeys are off without one.
    pub(crate) passkeys: Option<Arc<PasskeySetup>>,
    /// Where passkey ceremonies wait between their two requests.
    pub(crate) ceremonies: Arc<dyn CeremonyStore>,
    /// The key of decoy passkey options, read once from the database.
    pub(crate) decoy_key: Arc<OnceCell<String>>,
    /// Sign-ups one client address may ask for per hour.
    pub(crate) sign_ups_per_client_hour: u32,
    /// The key deriving refresh tokens' successors, read once from the database.
    pub(crate) successor_key: Arc<OnceCell<String>>,
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            status: row.status,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
            email_verified_at: row.email_verified_at,
            status_reason: row.status_reason,
            status_changed_at: row.status_changed_at,
            status_changed_by: row.status_changed_by,
        }
    }
}

impl From<session::Model> for Session {
    fn from(row: session::Model) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            idle_expires_at: row.idle_expires_at,
            absolute_expires_at: row.absolute_expires_at,
            revoked_at: row.revoked_at,
            revoked_reason: row.revoked_reason,
            user_agent: row.user_agent,
            ip: row.ip,
        }
    }
}

pub(crate) fn parse_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("displayName", "must be 1 to 200 characters, without control characters"));
    }
    Ok(name.to_owned())
}

fn truncate(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

pub(crate) fn invalid_credentials() -> DomainError {
    DomainError::Unauthenticated(LoginFailure::InvalidCredentials.message().into())
}

impl IdentityService {
    /// A service over `db`.
    pub fn new(db: Db, hasher: PasswordHasher, policy: SessionPolicy) -> Self {
        Self {
            ceremonies: Arc::new(DatabaseCeremonies::new(db.clone())),
            db,
            hasher,
            policy,
            password_policy: PasswordPolicy::default(),
            links: AccountLinks::default(),
            passkeys: None,
            decoy_key: Arc::new(OnceCell::new()),
            sign_ups_per_client_hour: crate::sign_up::SIGN_UPS_PER_CLIENT_HOUR,
            successor_key: Arc::new(OnceCell::new()),
        }
    }

    /// The same service with passkeys for `relying_party`; an error says what is
    /// wrong with it (an origin that is not a URL, or a domain that is not the
    /// origins').
    pub fn with_relying_party(mut self, relying_party: &RelyingParty) -> Result<Self> {
        self.passkeys = Some(Arc::new(relying_party_setup(relying_party)?));
        Ok(self)
    }

    /// The same service keeping passkey ceremonies in `store` (Redis, when
    /// configured) instead of the database.
    pub fn with_ceremonies(mut self, store: Arc<dyn CeremonyStore>) -> Self {
        self.ceremonies = store;
        self
    }

    /// The same service sending account links (verification, reset) to `links`.
    pub fn with_links(mut self, links: AccountLinks) -> Self {
        self.links = links;
        self
    }

    /// The same service letting one client address ask for `per_hour` sign-ups
    /// an hour.
    pub fn with_sign_ups_per_client_hour(mut self, per_hour: u32) -> Self {
        self.sign_ups_per_client_hour = per_hour;
        self
    }

    /// The same service with `password_policy` for new passwords.
    pub fn with_password_policy(mut self, password_policy: PasswordPolicy) -> Self {
        self.password_policy = password_policy;
        self
    }

    /// Creates an account for an address already proven (the person followed a
    /// link sent to it: a sign-up or an invitation link; or the operator made
    /// it) and signs it in.
    pub async fn create_account(&self, ctx: &RequestContext, input: NewUser) -> Result<(User, IssuedSession)> {
        let email = Email::parse(&input.email)?;
        let context = [email.as_str(), input.display_name.as_str()];
        let password = Password::new(&input.password, &self.password_policy, &context)?;
        let display_name = parse_display_name(&input.display_name)?;
        let password_hash = self.hasher.hash(&password).await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let row = self.insert_account(&txn, email.as_str(), &display_name, password_hash, now).await?;
        let (user, issued) = self.finish_login(&txn, ctx, row, false, None, now).await?;
        txn.commit().await?;
        Ok((user, issued))
    }

    /// Inserts an active account whose address is proven, and starts its
    /// password history. `CONFLICT` when the address has an account.
    pub(crate) async fn insert_account(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        email: &str,
        display_name: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<user::Model> {
        let row = user::ActiveModel {
            id: Set(UserId::generate(now)),
            email: Set(email.to_owned()),
            display_name: Set(display_name.to_owned()),
            password_hash: Set(password_hash),
            status: Set(UserStatus::Active),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
            email_verified_at: Set(Some(now)),
            status_reason: Set(None),
            status_changed_at: Set(None),
            status_changed_by: Set(None),
        }
        .insert(txn)
        .await
        .map_err(|e| {
            DomainError::conflict_on_unique(e, "an account with this email already exists; sign in instead")
        })?;
        remember_password(txn, row.id, &row.password_hash, now).await?;
        Ok(row)
    }

    /// Changes the signed-in user's password: the current one must match, the new
    /// one must satisfy the policy and not repeat any of the last
    /// `PasswordPolicy::history`. Ends every other session of the user (whoever
    /// might have the old password loses its sessions) and returns them.
    pub async fn change_password(&self, ctx: &RequestContext, current: &str, new: &str) -> Result<Vec<SessionId>> {
        let actor = ctx.require_actor()?;
        let user = self.signed_in_user(ctx).await?;
        self.reauthenticate(ctx, &user, current, "currentPassword").await?;
        let hash = self.checked_new_password(&user, new).await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        self.store_password(&txn, user.id, &hash, now).await?;
        let others = revoke_user_sessions(&txn, user.id, Some(actor.session_id), "password_changed", now).await?;
        throttle::clear(&txn, &Charge::account(&user.email)).await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::PasswordChanged,
            severity: Severity::Medium,
            user_id: Some(user.id),
            details: json!({ "otherSessionsEnded": others.len() }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        txn.commit().await?;
        Ok(others)
    }

    pub(crate) async fn start_session<C: ConnectionTrait>(
        &self,
        conn: &C,
        ctx: &RequestContext,
        user_id: UserId,
        second_factor: bool,
        now: DateTime<Utc>,
    ) -> Result<IssuedSession> {
        let access_token = new_token(ACCESS_PREFIX);
        let session_id = SessionId::generate(now);
        let idle_expires_at = now + self.policy.idle_timeout;
        let absolute_expires_at = now + self.policy.absolute_timeout;
        session::ActiveModel {
            id: Set(session_id),
            user_id: Set(user_id),
            token_hash: Set(hash_token(&access_token)),
            created_at: Set(now),
            last_used_at: Set(now),
            idle_expires_at: Set(idle_expires_at),
            absolute_expires_at: Set(absolute_expires_at),
            revoked_at: Set(None),
            revoked_reason: Set(None),
            user_agent: Set(truncate(ctx.meta().user_agent.as_deref(), 512)),
            ip: Set(truncate(ctx.meta().ip.as_deref(), 64)),
            second_factor: Set(second_factor),
        }
        .insert(conn)
        .await?;
        let refresh_token = self.issue_refresh_token(conn, session_id, now, absolute_expires_at).await?;
        Ok(IssuedSession {
            session_id,
            user_id,
            access_token,
            access_token_expires_at: idle_expires_at,
            refresh_token,
            refresh_token_expires_at: absolute_expires_at,
            device_token: None,
        })
    }

    async fn issue_refresh_token<C: ConnectionTrait>(
        &self,
        conn: &C,
        session_id: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String> {
        let token = new_token(REFRESH_PREFIX);
        store_refresh_token(conn, session_id, &token, now, expires_at).await?;
        Ok(token)
    }

    pub(crate) async fn record_login<C: ConnectionTrait>(
        &self,
        conn: &C,
        ctx: &RequestContext,
        user_id: Option<UserId>,
        failure: Option<LoginFailure>,
    ) -> Result<()> {
        let now = ctx.now();
        login_history::ActiveModel {
            id: Set(uuid_v7_at(now)),
            user_id: Set(user_id),
            succeeded: Set(failure.is_none()),
            failure_reason: Set(failure.map(|f| f.as_str().to_owned())),
            ip: Set(truncate(ctx.meta().ip.as_deref(), 64)),
            user_agent: Set(truncate(ctx.meta().user_agent.as_deref(), 512)),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    pub(crate) async fn revoke_session_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        session_id: SessionId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let revoked = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
        Ok(revoked.rows_affected == 1)
    }

    /// Resolves a bearer token (an access token or a personal API key) to its
    /// session, or `None` when it is unknown, expired or revoked, or its user is
    /// disabled, with what tenant policies look at: how the session began and how
    /// long it had been idle. Extends the session's idle timeout.
    pub async fn authenticate_session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<AuthenticatedSession>> {
        if token.starts_with(crate::api_keys::API_KEY_PREFIX) {
            return self.authenticate_api_key(token, now).await;
        }
        if token.starts_with(crate::oauth::CLIENT_TOKEN_PREFIX) {
            return self.authenticate_client_token(token, now).await;
        }
        if !token.starts_with(ACCESS_PREFIX) {
            return Ok(None);
        }
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = session::Entity::find().filter(session::Column::TokenHash.eq(hash_token(token))).one(&txn).await?;
        let Some(session) =
            found.filter(|s| s.revoked_at.is_none() && s.idle_expires_at > now && s.absolute_expires_at > now)
        else {
            txn.commit().await?;
            return Ok(None);
        };
        let status = user_status(&txn, session.user_id).await?;
        txn.commit().await?;
        if status != Some(UserStatus::Active) {
            return Ok(None);
        }
        self.touch(&session, now).await?;
        Ok(Some(AuthenticatedSession {
            actor: Actor { user_id: session.user_id, session_id: session.id },
            second_factor: session.second_factor,
            last_used_at: session.last_used_at,
            client: None,
            through_api_key: false,
        }))
    }

    /// Records a use of `session` at `now`, which starts its idle timeout again;
    /// at most once per [`TOUCH_INTERVAL_SECS`], so reads do not each cost a write.
    pub(crate) async fn touch(&self, session: &session::Model, now: DateTime<Utc>) -> Result<()> {
        if (now - session.last_used_at).num_seconds() < TOUCH_INTERVAL_SECS {
            return Ok(());
        }
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .col_expr(
                session::Column::IdleExpiresAt,
                Expr::value((now + self.policy.idle_timeout).min(session.absolute_expires_at)),
            )
            .filter(session::Column::Id.eq(session.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Whether the user has a second factor set up.
    pub async fn has_second_factor(&self, user_id: UserId) -> Result<bool> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let has = self.second_factors(&txn, user_id).await?.is_some();
        txn.commit().await?;
        Ok(has)
    }

    /// Ends the user's oldest live sessions beyond the newest `max` (a tenant's
    /// limit of concurrent sessions); returns those ended.
    pub async fn limit_sessions(&self, ctx: &RequestContext, user_id: UserId, max: usize) -> Result<Vec<SessionId>> {
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let live: Vec<SessionId> = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::IdleExpiresAt.gt(now))
            .filter(session::Column::AbsoluteExpiresAt.gt(now))
            .order_by_desc(session::Column::Id)
            .all(&txn)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let excess: Vec<SessionId> = live.into_iter().skip(max.max(1)).collect();
        if !excess.is_empty() {
            session::Entity::update_many()
                .col_expr(session::Column::RevokedAt, Expr::value(now))
                .col_expr(session::Column::RevokedReason, Expr::value("session_limit"))
                .filter(session::Column::Id.is_in(excess.iter().copied()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(excess)
    }

    /// Whether `session_id` is still usable; long-lived connections (WebSocket
    /// subscriptions) ask this to end when their session is revoked.
    pub async fn session_is_live(&self, session_id: SessionId, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let session = session::Entity::find_by_id(session_id).one(&txn).await?;
        if session.is_none() {
            txn.commit().await?;
            // Requests made with an API key run under the key's id; a partner
            // client's, under the client's.
            if let Some(live) = self.api_key_is_live(session_id, now).await? {
                return Ok(live);
            }
            return Ok(self.client_is_live(session_id.as_uuid()).await?.unwrap_or(false));
        }
        let live = match session {
            Some(s) if s.revoked_at.is_none() && s.idle_expires_at > now && s.absolute_expires_at > now => {
                user_status(&txn, s.user_id).await? == Some(UserStatus::Active)
            }
            _ => false,
        };
        txn.commit().await?;
        Ok(live)
    }

    /// Ends the request's session.
    pub async fn logout(&self, ctx: &RequestContext) -> Result<bool> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let revoked = self.revoke_session_rows(&txn, actor.session_id, "logout", ctx.now()).await?;
        txn.commit().await?;
        Ok(revoked)
    }

    /// Ends one of the actor's own sessions. Another user's session is `NOT_FOUND`.
    pub async fn revoke_my_session(&self, ctx: &RequestContext, session_id: SessionId) -> Result<Session> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let owned = session::Entity::find_by_id(session_id)
            .filter(session::Column::UserId.eq(actor.user_id))
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "session" })?;
        if self.revoke_session_rows(&txn, owned.id, "revoked_by_user", ctx.now()).await? {
            let event = SecurityEvent {
                kind: SecurityEventKind::SessionRevoked,
                severity: Severity::Low,
                user_id: Some(actor.user_id),
                details: json!({ "sessionId": owned.id, "fromSession": actor.session_id }),
            };
            record_security_event(&txn, ctx, None, event).await?;
        }
        let row = session::Entity::find_by_id(owned.id)
            .one(&txn)
            .await?
            .ok_or(DomainError::NotFound { entity: "session" })?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The account with `email`, if there is one. For the services that need to
    /// know (an invitation to an existing user); never answered to the public.
    pub async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let id = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .select_only()
            .column(user::Column::Id)
            .into_tuple::<UserId>()
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// The signed-in user.
    pub async fn me(&self, ctx: &RequestContext) -> Result<User> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let row = user::Entity::find_by_id(actor.user_id).one(&txn).await?;
        txn.commit().await?;
        row.map(User::from).ok_or(DomainError::NotFound { entity: "user" })
    }

    /// Users by id, for batched loading of users related to visible data.
    pub async fn users_by_ids(&self, ctx: &RequestContext, ids: &[UserId]) -> Result<Vec<User>> {
        ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// The actor's sessions that are still usable.
    pub async fn my_sessions(&self, ctx: &RequestContext, page: &PageRequest) -> Result<Page<Session>> {
        let actor = ctx.require_actor()?;
        let keyset = page.keyset()?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = keyset.apply(live_sessions_of(actor.user_id, now), session::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(Session::from))
    }

    /// The actor's usable sessions among `ids`.
    pub async fn my_sessions_by_ids(&self, ctx: &RequestContext, ids: &[SessionId]) -> Result<Vec<Session>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = live_sessions_of(actor.user_id, ctx.now())
            .filter(session::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    /// Forgets login attempts from before `cutoff` (never younger than the
    /// retention floor before `now`). A background job.
    pub async fn expire_login_history(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        let floor = now - chrono::Duration::days(i64::from(tessera_audit::RETENTION_FLOOR_DAYS));
        let cutoff = cutoff.min(floor);
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let removed = match self.db.backend() {
            // The request role may not delete history; a function owned by the
            // schema's owner may, down to the same floor.
            Backend::Postgres => {
                let statement = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT tessera_expire_login_history($1)",
                    [cutoff.into()],
                );
                let row = txn.query_one_raw(statement).await?;
                row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0)
            }
            Backend::Sqlite => i64::try_from(
                login_history::Entity::delete_many()
                    .filter(login_history::Column::CreatedAt.lt(cutoff))
                    .exec(&txn)
                    .await?
                    .rows_affected,
            )
            .unwrap_or(i64::MAX),
        };
        txn.commit().await?;
        Ok(u64::try_from(removed).unwrap_or(0))
    }

    /// The actor's login history, oldest first.
    pub async fn my_login_history(
        &self,
        ctx: &RequestContext,
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        let actor = ctx.require_actor()?;
        let only_mine = LoginFilter { user_id: Some(actor.user_id), ..filter.clone() };
        self.login_attempts(&[actor.user_id], &only_mine, page).await
    }

    /// The login history of `staff` (the members of the request's tenant whose
    /// logins it may see; the caller decides who they are), for the tenant's
    /// auditors (`audit:read`). Oldest first.
    pub async fn login_history(
        &self,
        ctx: &RequestContext,
        staff: &[UserId],
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        ctx.authorize(Permission::AuditRead)?;
        self.login_attempts(staff, filter, page).await
    }

    async fn login_attempts(
        &self,
        accounts: &[UserId],
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.keyset()?;
        let mut select =
            login_history::Entity::find().filter(login_history::Column::UserId.is_in(accounts.iter().copied()));
        if let Some(user_id) = filter.user_id {
            select = select.filter(login_history::Column::UserId.eq(user_id));
        }
        if let Some(succeeded) = filter.succeeded {
            select = select.filter(login_history::Column::Succeeded.eq(succeeded));
        }
        if let Some(from) = filter.from {
            select = select.filter(login_history::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(login_history::Column::CreatedAt.lt(to));
        }
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = keyset.apply(select, login_history::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(|row| LoginAttempt {
            id: row.id,
            user_id: row.user_id,
            succeeded: row.succeeded,
            failure_reason: row.failure_reason,
            ip: row.ip,
            user_agent: row.user_agent,
            at: row.created_at,
        }))
    }
}

impl IdentityService {
    /// The signed-in user's row.
    pub(crate) async fn signed_in_user(&self, ctx: &RequestContext) -> Result<user::Model> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let user =
            user::Entity::find_by_id(actor.user_id).one(&txn).await?.ok_or(DomainError::NotFound { entity: "user" })?;
        txn.commit().await?;
        Ok(user)
    }

    /// Checks that the signed-in `user` knows their password before a sensitive
    /// change (`field` names the argument). Guesses count on the account's login
    /// throttle, so a stolen session cannot try them at hashing speed.
    pub(crate) async fn reauthenticate(
        &self,
        ctx: &RequestContext,
        user: &user::Model,
        password: &str,
        field: &str,
    ) -> Result<()> {
        let presented = Password::presented(password)?;
        let account = [Charge::account(&user.email)];
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let reservation = throttle::reserve(&txn, &account, ctx.now(), &self.policy).await?;
        txn.commit().await?;
        if let Reservation::Locked { retry_after, .. } = reservation {
            return Err(throttle::rate_limited(retry_after));
        }
        if !self.hasher.verify(&presented, &user.password_hash, Lane::Anyone).await? {
            return Err(DomainError::invalid(field, "is not your current password"));
        }
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        throttle::clear(&txn, &account[0]).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Checks `new` as the next password of `user`: the policy (judged with the
    /// account's own email and name) and the last `PasswordPolicy::history`
    /// passwords. Returns its hash.
    pub(crate) async fn checked_new_password(&self, user: &user::Model, new: &str) -> Result<String> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let recent = password_history::Entity::find()
            .filter(password_history::Column::UserId.eq(user.id))
            .order_by_desc(password_history::Column::Id)
            .limit(u64::try_from(self.password_policy.history).unwrap_or(0))
            .all(&txn)
            .await?;
        txn.commit().await?;
        let context = [user.email.as_str(), user.display_name.as_str()];
        let password = Password::new(new, &self.password_policy, &context)?;
        let mut earlier: Vec<&str> = recent.iter().map(|h| h.password_hash.as_str()).collect();
        if self.password_policy.history > 0 {
            earlier.push(&user.password_hash);
        }
        for hash in earlier {
            if self.hasher.verify(&password, hash, Lane::Anyone).await? {
                return Err(DomainError::invalid(
                    "newPassword",
                    format!(
                        "was used recently; choose one you have not used in your last {} passwords",
                        self.password_policy.history
                    ),
                ));
            }
        }
        self.hasher.hash(&password).await
    }

    /// Makes `hash` the user's password and keeps it in the history.
    pub(crate) async fn store_password<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(conn)
            .await?;
        remember_password(conn, user_id, hash, now).await?;
        prune_history(conn, user_id, self.password_policy.history).await
    }
}

/// Ends every live session of `user_id` but `keep`, for `reason`; returns them.
pub(crate) async fn revoke_user_sessions<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    keep: Option<SessionId>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>> {
    let mut live = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        live = live.filter(session::Column::Id.ne(keep));
    }
    let ended: Vec<SessionId> = live.all(conn).await?.into_iter().map(|s| s.id).collect();
    if !ended.is_empty() {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .col_expr(session::Column::RevokedReason, Expr::value(reason))
            .filter(session::Column::Id.is_in(ended.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(ended)
}

/// The platform secret `name` (made by a migration), read once into `cell`.
pub(crate) async fn platform_secret<'a>(db: &Db, cell: &'a OnceCell<String>, name: &str) -> Result<&'a str> {
    let value = cell
        .get_or_try_init(|| async {
            let txn = db.begin(Scope::Global, Access::Read).await?;
            let secret = crate::entity::platform_secret::Entity::find_by_id(name.to_owned()).one(&txn).await?;
            txn.commit().await?;
            secret
                .map(|s| s.value)
                .ok_or_else(|| DomainError::Internal(format!("the platform secret {name} is missing")))
        })
        .await?;
    Ok(value.as_str())
}

/// Stores a refresh token of `session_id` (its hash), unrotated.
pub(crate) async fn store_refresh_token<C: ConnectionTrait>(
    conn: &C,
    session_id: SessionId,
    token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    refresh_token::ActiveModel {
        id: Set(uuid_v7_at(now)),
        session_id: Set(session_id),
        token_hash: Set(hash_token(token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Keeps `hash` in the user's password history.
async fn remember_password<C: ConnectionTrait>(conn: &C, user_id: UserId, hash: &str, at: DateTime<Utc>) -> Result<()> {
    password_history::ActiveModel {
        id: Set(uuid_v7_at(at)),
        user_id: Set(user_id),
        password_hash: Set(hash.to_owned()),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Forgets all but the newest `keep` entries of the user's password history.
async fn prune_history<C: ConnectionTrait>(conn: &C, user_id: UserId, keep: usize) -> Result<()> {
    // A handful of rows per user: sorted here (SQLite has no OFFSET without LIMIT).
    let stale: Vec<uuid::Uuid> = password_history::Entity::find()
        .filter(password_history::Column::UserId.eq(user_id))
        .order_by_desc(password_history::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .skip(keep.max(1))
        .map(|h| h.id)
        .collect();
    if !stale.is_empty() {
        password_history::Entity::delete_many().filter(password_history::Column::Id.is_in(stale)).exec(conn).await?;
    }
    Ok(())
}

/// The sessions of `user_id` that are still usable at `now`.
fn live_sessions_of(user_id: UserId, now: DateTime<Utc>) -> sea_orm::Select<session::Entity> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::IdleExpiresAt.gt(now))
        .filter(session::Column::AbsoluteExpiresAt.gt(now))
}
