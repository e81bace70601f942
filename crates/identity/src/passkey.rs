//! Passkeys: WebAuthn credentials (with webauthn-rs) that sign a person in
//! without a password, or complete a password login as its second factor.
//!
//! - **Adding one** needs a signed-in session (not an API key) and the password
//!   again, since a passkey is a way in that outlives sessions. The options go to
//!   `navigator.credentials.create`; the answer comes back to finish. User
//!   verification (a PIN or biometric on the device) is required, so a passkey is
//!   a multi-factor credential on its own: sessions it starts count as having a
//!   second factor. The first second factor of an account comes with backup codes.
//! - **Signing in** starts with the email: the options name that account's
//!   passkeys. An address without passkeys (or without an account) gets options
//!   just as plausible, naming a credential id derived from the address and a
//!   platform secret, so the answer does not tell who has an account or a passkey.
//! - **Ceremony state** waits in a [`CeremonyStore`] (Redis or the database) for
//!   [`CEREMONY_MINUTES`] and is taken once: a finished or failed ceremony cannot
//!   be finished again.
//! - **Signature counters**: an authenticator that keeps a counter must present a
//!   higher one each time. One that is not higher than the highest seen (compared
//!   and raised in one statement, so two parallel sign-ins cannot both pass with
//!   one value) means a copy of the key may exist: the sign-in is refused, the
//!   passkey flagged (it signs nobody in any more) and a high-severity security
//!   event recorded.
//!
//! This file adds, lists, renames and removes passkeys and keeps ceremony state;
//! signing in with one is in `passkey_sign_in`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, PasskeyId, RequestContext, Result, UserId};
use tracing::debug;
use url::Url;
use webauthn_rs::prelude::{
    Passkey as Credential, PasskeyAuthentication, PasskeyRegistration, RegisterPublicKeyCredential, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use crate::api_keys::parse_name;
use crate::entity::{backup_code, passkey, session, user};
use crate::mfa::replace_backup_codes;
use crate::model::{LoginFailure, Passkey, PasskeyCeremony, RelyingParty};
use crate::service::IdentityService;
use crate::token::{hash_token, new_token};

/// How long a ceremony waits for the authenticator's answer.
pub const CEREMONY_MINUTES: i64 = 5;
/// Passkeys an account may have.
pub const MAX_PASSKEYS: u64 = 10;
pub(crate) const CEREMONY_PREFIX: &str = "tsw_";

/// What a ceremony's server-side state holds between its two requests.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Ceremony {
    /// Adding a passkey named `name` to `user_id`.
    Registration { user_id: UserId, name: String, state: PasskeyRegistration },
    /// Signing in with a passkey; no state for a decoy (no account or no passkey).
    Login { user_id: Option<UserId>, state: Option<PasskeyAuthentication> },
    /// Completing a password login's challenge with a passkey.
    SecondFactor { user_id: UserId, state: PasskeyAuthentication },
}

/// The WebAuthn relying party passkeys are made for.
#[derive(Debug)]
pub(crate) struct PasskeySetup {
    webauthn: Webauthn,
    pub(crate) rp_id: String,
}

/// Builds the WebAuthn relying party, or says what is wrong with it.
pub(crate) fn relying_party(rp: &RelyingParty) -> Result<PasskeySetup> {
    let invalid = |why: String| DomainError::invalid("passkeyRelyingParty", why);
    let origins = rp
        .origins
        .iter()
        .map(|o| Url::parse(o).map_err(|e| invalid(format!("origin {o:?} is not a URL: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let (first, others) = origins.split_first().ok_or_else(|| invalid("needs at least one allowed origin".into()))?;
    let mut builder = WebauthnBuilder::new(&rp.id, first)
        .map_err(|_| invalid(format!("{:?} is not the domain of {first} or a parent of it", rp.id)))?
        .rp_name(&rp.name)
        .timeout(std::time::Duration::from_secs(60 * u64::try_from(CEREMONY_MINUTES).unwrap_or(5)));
    for origin in others {
        builder = builder.append_allowed_origin(origin);
    }
    // A local relying party serves developers on whatever port they chose.
    if rp.id == "localhost" {
        builder = builder.allow_any_port(true);
    }
    let webauthn = builder.build().map_err(|e| invalid(format!("{e}")))?;
    Ok(PasskeySetup { webauthn, rp_id: rp.id.clone() })
}

fn too_many_passkeys() -> DomainError {
    DomainError::Conflict(format!("you have {MAX_PASSKEYS} passkeys; remove one you no longer use first"))
}

pub(crate) fn expired_ceremony() -> DomainError {
    DomainError::invalid("ceremony", "has expired or was already used; start again")
}

pub(crate) fn passkey_rejected() -> DomainError {
    DomainError::Unauthenticated(LoginFailure::PasskeyRejected.message().into())
}

pub(crate) fn possibly_cloned() -> DomainError {
    DomainError::Unauthenticated(
        "this passkey may have been copied (its signature counter went backwards), so it no longer signs in; \
         sign in another way and remove it"
            .into(),
    )
}

pub(crate) fn webauthn_failure(e: WebauthnError) -> DomainError {
    DomainError::Internal(format!("webauthn: {e:?}"))
}

pub(crate) fn ceremony_key(kind: &str, token: &str) -> String {
    format!("{kind}:{}", hash_token(token))
}

impl From<passkey::Model> for Passkey {
    fn from(row: passkey::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            possibly_cloned_at: row.possibly_cloned_at,
        }
    }
}

/// The user's passkeys that may sign in, as webauthn-rs credentials.
pub(crate) async fn usable_credentials<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<Vec<Credential>> {
    passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .filter(passkey::Column::PossiblyClonedAt.is_null())
        .order_by_asc(passkey::Column::Id)
        .all(conn)
        .await?
        .iter()
        .map(|row| stored_credential(&row.credential))
        .collect()
}

pub(crate) fn stored_credential(json: &str) -> Result<Credential> {
    serde_json::from_str(json).map_err(|e| DomainError::Internal(format!("a stored passkey: {e}")))
}

pub(crate) async fn usable_passkeys<C: ConnectionTrait>(conn: &C, user_id: UserId) -> Result<u64> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .filter(passkey::Column::PossiblyClonedAt.is_null())
        .count(conn)
        .await?)
}

impl IdentityService {
    pub(crate) fn webauthn(&self) -> Result<&Webauthn> {
        self.passkeys
            .as_ref()
            .map(|setup| &setup.webauthn)
            .ok_or_else(|| DomainError::Conflict("passkeys are not set up on this server".into()))
    }

    pub(crate) async fn keep_ceremony(
        &self,
        key: &str,
        ceremony: &Ceremony,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let expires_at = now + Duration::minutes(CEREMONY_MINUTES);
        let state =
            serde_json::to_string(ceremony).map_err(|e| DomainError::Internal(format!("ceremony state: {e}")))?;
        self.ceremonies.put(key, &state, expires_at, now).await?;
        Ok(expires_at)
    }

    pub(crate) async fn take_ceremony(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Ceremony>> {
        let Some(state) = self.ceremonies.take(key, now).await? else { return Ok(None) };
        serde_json::from_str(&state).map(Some).map_err(|e| DomainError::Internal(format!("ceremony state: {e}")))
    }

    /// Starts adding a passkey named `name` for the signed-in user, after
    /// checking their password again. Not from an API key.
    pub async fn start_passkey_registration(
        &self,
        ctx: &RequestContext,
        name: &str,
        password: &str,
    ) -> Result<PasskeyCeremony> {
        let actor = ctx.require_actor()?;
        let webauthn = self.webauthn()?;
        let name = parse_name(name)?;
        let user = self.signed_in_user(ctx).await?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let from_session = session::Entity::find_by_id(actor.session_id).one(&txn).await?.is_some();
        let existing = passkey::Entity::find().filter(passkey::Column::UserId.eq(user.id)).all(&txn).await?;
        txn.commit().await?;
        if !from_session {
            return Err(DomainError::Forbidden("an API key cannot add passkeys; sign in to add one".into()));
        }
        if existing.len() >= usize::try_from(MAX_PASSKEYS).unwrap_or(usize::MAX) {
            return Err(too_many_passkeys());
        }
        self.reauthenticate(ctx, &user, password, "password").await?;
        let exclude = existing.iter().map(|row| stored_credential(&row.credential).map(|c| c.cred_id().clone()));
        let exclude = exclude.collect::<Result<Vec<_>>>()?;
        let (options, state) = webauthn
            .start_passkey_registration(user.id.as_uuid(), &user.email, &user.display_name, Some(exclude))
            .map_err(webauthn_failure)?;
        let token = new_token(CEREMONY_PREFIX);
        let now = ctx.now();
        let ceremony = Ceremony::Registration { user_id: user.id, name, state };
        let expires_at = self.keep_ceremony(&ceremony_key("register", &token), &ceremony, now).await?;
        Ok(PasskeyCeremony { ceremony: token, options: json!(options), expires_at })
    }

    /// Finishes adding a passkey with the authenticator's answer
    /// (`PublicKeyCredential.toJSON()`). Returns it, with ten backup codes when it
    /// is the account's first second factor (else none).
    pub async fn finish_passkey_registration(
        &self,
        ctx: &RequestContext,
        ceremony: &str,
        credential: serde_json::Value,
    ) -> Result<(Passkey, Vec<String>)> {
        let actor = ctx.require_actor()?;
        let webauthn = self.webauthn()?;
        let now = ctx.now();
        let answer: RegisterPublicKeyCredential = serde_json::from_value(credential).map_err(|_| {
            DomainError::invalid(
                "credential",
                "must be the authenticator's answer, as PublicKeyCredential.toJSON() gives it",
            )
        })?;
        let Some(Ceremony::Registration { user_id, name, state }) =
            self.take_ceremony(&ceremony_key("register", ceremony), now).await?
        else {
            return Err(expired_ceremony());
        };
        if user_id != actor.user_id {
            return Err(expired_ceremony());
        }
        let credential = webauthn.finish_passkey_registration(&answer, &state).map_err(|e| {
            debug!(error = ?e, "passkey registration refused");
            DomainError::invalid(
                "credential",
                "could not be verified for this ceremony (origin, challenge or signature)",
            )
        })?;
        let credential_id = URL_SAFE_NO_PAD.encode(credential.cred_id());
        let stored = serde_json::to_string(&credential).map_err(|e| DomainError::Internal(format!("passkey: {e}")))?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        // Counted again: registrations started in parallel must not pass the limit.
        let held = passkey::Entity::find().filter(passkey::Column::UserId.eq(user_id)).count(&txn).await?;
        if held >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
        let first_factor = self.second_factors(&txn, user_id).await?.is_none();
        let row = passkey::Model {
            id: PasskeyId(uuid_v7_at(now)),
            user_id,
            name,
            credential_id,
            credential: stored,
            sign_count: 0,
            created_at: now,
            last_used_at: None,
            possibly_cloned_at: None,
        };
        passkey::Entity::insert(passkey::ActiveModel {
            id: Set(row.id),
            user_id: Set(row.user_id),
            name: Set(row.name.clone()),
            credential_id: Set(row.credential_id.clone()),
            credential: Set(row.credential.clone()),
            sign_count: Set(0),
            created_at: Set(now),
            last_used_at: Set(None),
            possibly_cloned_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "this passkey is already registered"))?;
        let codes = if first_factor { replace_backup_codes(&txn, user_id, now).await? } else { Vec::new() };
        let event = SecurityEvent {
            kind: SecurityEventKind::PasskeyAdded,
            severity: Severity::Medium,
            user_id: Some(user_id),
            details: json!({ "passkeyId": row.id, "name": row.name, "firstSecondFactor": first_factor }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        if let Some(owner) = user::Entity::find_by_id(user_id).one(&txn).await? {
            crate::recovery::tell_sign_in_method_added(&txn, &owner, "passkey", Some(&row.name), now).await?;
        }
        txn.commit().await?;
        Ok((row.into(), codes))
    }

    /// The signed-in user's passkeys, oldest first.
    pub async fn my_passkeys(&self, ctx: &RequestContext) -> Result<Vec<Passkey>> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(actor.user_id))
            .order_by_asc(passkey::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(Passkey::from).collect())
    }

    /// Renames one of the signed-in user's passkeys (another's is `NOT_FOUND`).
    pub async fn rename_passkey(&self, ctx: &RequestContext, id: PasskeyId, name: &str) -> Result<Passkey> {
        let actor = ctx.require_actor()?;
        let name = parse_name(name)?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let renamed = passkey::Entity::update_many()
            .col_expr(passkey::Column::Name, Expr::value(name))
            .filter(passkey::Column::Id.eq(id))
            .filter(passkey::Column::UserId.eq(actor.user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        let row = passkey::Entity::find_by_id(id).one(&txn).await?.filter(|_| renamed == 1);
        txn.commit().await?;
        row.map(Passkey::from).ok_or(DomainError::NotFound { entity: "passkey" })
    }

    /// Removes one of the signed-in user's passkeys, after checking their
    /// password again (another's is `NOT_FOUND`). Removing the last second factor
    /// also forgets the backup codes.
    pub async fn remove_passkey(&self, ctx: &RequestContext, id: PasskeyId, password: &str) -> Result<Passkey> {
        let actor = ctx.require_actor()?;
        let user = self.signed_in_user(ctx).await?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let owned = passkey::Entity::find_by_id(id).filter(passkey::Column::UserId.eq(actor.user_id)).one(&txn).await?;
        txn.commit().await?;
        let owned = owned.ok_or(DomainError::NotFound { entity: "passkey" })?;
        self.reauthenticate(ctx, &user, password, "password").await?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let removed = passkey::Entity::delete_many()
            .filter(passkey::Column::Id.eq(owned.id))
            .filter(passkey::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?
            .rows_affected;
        if removed == 0 {
            return Err(DomainError::NotFound { entity: "passkey" });
        }
        let last_factor = self.second_factors(&txn, user.id).await?.is_none();
        if last_factor {
            backup_code::Entity::delete_many().filter(backup_code::Column::UserId.eq(user.id)).exec(&txn).await?;
        }
        let event = SecurityEvent {
            kind: SecurityEventKind::PasskeyRemoved,
            severity: if last_factor { Severity::High } else { Severity::Medium },
            user_id: Some(user.id),
            details: json!({ "passkeyId": owned.id, "name": owned.name, "lastSecondFactor": last_factor }),
        };
        record_security_event(&txn, ctx, None, event).await?;
        txn.commit().await?;
        Ok(owned.into())
    }
}
