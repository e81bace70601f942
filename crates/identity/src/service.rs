//! The identity service: its construction and what every area shares (the
//! signed-in user's row, re-checking their password before a sensitive change,
//! the platform's secrets). The areas are beside it: `accounts`, `sign_up`,
//! `login` and `login_history`, `sessions` and `refresh`, `password_change`,
//! `recovery`, `mfa` and `sign_in_challenge`, `passkey` and `passkey_sign_in`,
//! `api_keys`, `oauth` and `lifecycle`, with row conversions in `convert`; the
//! types in `model/`. Every change that ends a session announces it after commit
//! (`endings`).

use std::sync::Arc;

use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::token::AccountLinks;
use tessera_kernel::{Db, DomainError, RequestContext, Result, SessionId, UserId};
use tessera_ledger::UsageHooks;
use tokio::sync::OnceCell;

use crate::ceremony::{CeremonyStore, DatabaseCeremonies};
use crate::endings::SessionEndings;
use crate::entity::user;
use crate::model::{LoginFailure, Password, PasswordPolicy, RelyingParty, SessionPolicy, UserStatus};
use crate::passkey::{PasskeySetup, relying_party as relying_party_setup};
use crate::password::{Lane, PasswordHasher};
use crate::throttle::{self, Charge, Reservation};

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
    /// Told of the sessions each committed change ended, if anyone listens.
    pub(crate) endings: Option<Arc<dyn SessionEndings>>,
    /// Counts a business's partner clients against its tier.
    pub(crate) usage: Arc<dyn UsageHooks>,
}

pub(crate) fn parse_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("displayName", "must be 1 to 200 characters, without control characters"));
    }
    Ok(name.to_owned())
}

pub(crate) fn truncate(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

pub(crate) fn invalid_credentials() -> DomainError {
    DomainError::Unauthenticated(LoginFailure::InvalidCredentials.message().into())
}

impl IdentityService {
    /// A service over `db`.
    pub fn new(db: Db, hasher: PasswordHasher, policy: SessionPolicy, usage: Arc<dyn UsageHooks>) -> Self {
        Self {
            usage,
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
            endings: None,
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

    /// The same service telling `endings` of every session a change ends.
    pub fn with_session_endings(mut self, endings: Arc<dyn SessionEndings>) -> Self {
        self.endings = Some(endings);
        self
    }

    /// Announces `sessions` as ended; call right after the transaction that
    /// ended them committed, never before (a rolled-back change ends nothing).
    pub(crate) async fn sessions_ended(&self, sessions: &[SessionId]) {
        if let Some(endings) = &self.endings
            && !sessions.is_empty()
        {
            endings.ended(sessions).await;
        }
    }

    /// The same service with `password_policy` for new passwords.
    pub fn with_password_policy(mut self, password_policy: PasswordPolicy) -> Self {
        self.password_policy = password_policy;
        self
    }

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
