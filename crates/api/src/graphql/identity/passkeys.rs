//! GraphQL for passkeys: adding, listing, renaming and removing them, and
//! signing in with one (alone, or to complete a password login).
//!
//! Options and answers travel as JSON in the WebAuthn JSON form, so a browser
//! passes them straight through `PublicKeyCredential.parseCreationOptionsFromJSON`
//! / `parseRequestOptionsFromJSON` and `credential.toJSON()`.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::{Passkey, PasskeyCeremony};

use super::objects::AuthPayloadObject;
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::{InSession, SignedIn, parse_id, request, services};

/// One of the caller's passkeys.
#[derive(Clone, SimpleObject)]
#[graphql(name = "Passkey")]
pub(crate) struct PasskeyObject {
    /// Id.
    #[graphql(owned)]
    pub(crate) id: ID,
    /// The name given to it ("MacBook Touch ID").
    name: String,
    /// When it was added.
    created_at: DateTime<Utc>,
    /// When it last signed in.
    last_used_at: Option<DateTime<Utc>>,
    /// Whether its signature counter went backwards, so a copy of it may exist.
    /// Such a passkey signs nobody in; remove it and add a new one.
    possibly_cloned: bool,
    /// When it was flagged.
    possibly_cloned_at: Option<DateTime<Utc>>,
}

impl From<Passkey> for PasskeyObject {
    fn from(p: Passkey) -> Self {
        Self {
            id: ID(p.id.to_string()),
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            possibly_cloned: p.possibly_cloned_at.is_some(),
            possibly_cloned_at: p.possibly_cloned_at,
        }
    }
}

/// The first half of a passkey ceremony.
#[derive(SimpleObject)]
#[graphql(name = "PasskeyOptions")]
pub(crate) struct PasskeyOptionsObject {
    /// Hand back with the authenticator's answer; works once, for five minutes.
    ceremony: String,
    /// `{"publicKey": …}`: give `publicKey` to
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` (adding) or
    /// `parseRequestOptionsFromJSON` (signing in), then to `navigator.credentials`.
    options: Json<serde_json::Value>,
    /// When the ceremony ends.
    expires_at: DateTime<Utc>,
}

impl From<PasskeyCeremony> for PasskeyOptionsObject {
    fn from(c: PasskeyCeremony) -> Self {
        Self { ceremony: c.ceremony, options: Json(c.options), expires_at: c.expires_at }
    }
}

/// A passkey just added.
#[derive(SimpleObject)]
#[graphql(name = "PasskeyAdded")]
pub(crate) struct PasskeyAddedObject {
    /// The passkey.
    passkey: PasskeyObject,
    /// Ten one-time backup codes when this is the account's first second factor
    /// (shown this once: keep them safe); otherwise empty.
    backup_codes: Vec<String>,
}

/// Queries about passkeys.
#[derive(Default)]
pub(super) struct PasskeyQueries;

#[operations]
#[Object]
impl PasskeyQueries {
    /// The caller's passkeys, oldest first.
    #[access(SignedIn)]
    async fn my_passkeys(&self, ctx: &Context<'_>) -> ApiResult<Vec<PasskeyObject>> {
        let passkeys = services(ctx)?.identity.my_passkeys(request(ctx)?).await?;
        Ok(passkeys.into_iter().map(PasskeyObject::from).collect())
    }
}

/// Mutations about passkeys.
#[derive(Default)]
pub(super) struct PasskeyMutations;

#[operations]
#[Object]
impl PasskeyMutations {
    /// Starts adding a passkey: checks the password again (a passkey is a way in
    /// that outlives sessions), then returns the options for
    /// `navigator.credentials.create`. Finish with `finishPasskeyRegistration`.
    /// Not with an API key.
    #[access(InSession)]
    async fn start_passkey_registration(
        &self,
        ctx: &Context<'_>,
        name: String,
        #[graphql(secret)] password: String,
    ) -> ApiResult<PasskeyOptionsObject> {
        Ok(services(ctx)?.identity.start_passkey_registration(request(ctx)?, &name, &password).await?.into())
    }

    /// Finishes adding a passkey with the authenticator's answer
    /// (`credential.toJSON()`).
    #[access(InSession)]
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] ceremony: String,
        credential: Json<serde_json::Value>,
    ) -> ApiResult<PasskeyAddedObject> {
        let (passkey, backup_codes) =
            services(ctx)?.identity.finish_passkey_registration(request(ctx)?, &ceremony, credential.0).await?;
        Ok(PasskeyAddedObject { passkey: passkey.into(), backup_codes })
    }

    /// Renames one of the caller's passkeys.
    #[access(InSession)]
    async fn rename_passkey(&self, ctx: &Context<'_>, id: ID, name: String) -> ApiResult<PasskeyObject> {
        let id = parse_id("id", &id)?;
        Ok(services(ctx)?.identity.rename_passkey(request(ctx)?, id, &name).await?.into())
    }

    /// Removes one of the caller's passkeys, with the password. Removing the
    /// last second factor also removes the backup codes.
    #[access(InSession)]
    async fn remove_passkey(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(secret)] password: String,
    ) -> ApiResult<PasskeyObject> {
        let id = parse_id("id", &id)?;
        Ok(services(ctx)?.identity.remove_passkey(request(ctx)?, id, &password).await?.into())
    }

    /// Starts signing in with a passkey instead of a password: returns the
    /// options for `navigator.credentials.get`. Every address gets options, so
    /// the answer does not tell whether an account or a passkey exists.
    #[access(Public)]
    async fn start_passkey_login(&self, ctx: &Context<'_>, email: String) -> ApiResult<PasskeyOptionsObject> {
        Ok(services(ctx)?.identity.start_passkey_login(request(ctx)?, &email).await?.into())
    }

    /// Finishes a passkey sign-in with the authenticator's answer
    /// (`credential.toJSON()`). The session counts as having a second factor.
    #[access(Public)]
    async fn finish_passkey_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] ceremony: String,
        credential: Json<serde_json::Value>,
    ) -> ApiResult<AuthPayloadObject> {
        let (user, issued) =
            services(ctx)?.identity.finish_passkey_login(request(ctx)?, &ceremony, credential.0).await?;
        flows::sign_in::signed_in(services(ctx)?, request(ctx)?, user.id).await?;
        Ok(AuthPayloadObject::new(user, issued))
    }

    /// Completes a password login's challenge with a passkey: the answer to
    /// the challenge's `passkeyOptions`. One passkey try per challenge; codes
    /// still work after a failed one.
    #[access(Public)]
    async fn complete_login_with_passkey(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] challenge: String,
        credential: Json<serde_json::Value>,
    ) -> ApiResult<AuthPayloadObject> {
        let (user, issued) =
            services(ctx)?.identity.complete_login_with_passkey(request(ctx)?, &challenge, credential.0).await?;
        flows::sign_in::signed_in(services(ctx)?, request(ctx)?, user.id).await?;
        Ok(AuthPayloadObject::new(user, issued))
    }
}
