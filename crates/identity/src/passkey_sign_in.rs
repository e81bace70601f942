//! Signing in with a passkey (see `passkey` for the rules): the options for an
//! email (decoys for an address without passkeys), the assertion checked with its
//! signature counter, and a passkey as a password login's second factor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};
use tessera_audit::{SecurityEvent, SecurityEventKind, Severity, record_security_event};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result, UserId};
use tracing::debug;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, WebauthnError};

use crate::entity::{passkey, user};
use crate::model::{Email, IssuedSession, LoginFailure, MfaChallenge, PasskeyCeremony, SecondFactor, User, UserStatus};
use crate::passkey::{
    CEREMONY_MINUTES, CEREMONY_PREFIX, Ceremony, ceremony_key, expired_ceremony, passkey_rejected, possibly_cloned,
    stored_credential, usable_credentials, webauthn_failure,
};
use crate::service::{IdentityService, platform_secret};
use crate::token::new_token;

/// How a passkey's answer was judged.
enum Assertion {
    Accepted,
    Rejected,
    /// Its counter went backwards (now or earlier).
    PossiblyCloned,
}

impl IdentityService {
    /// Starts signing in with a passkey as the account of `email`. Every
    /// well-formed address gets options alike (see the module documentation).
    pub async fn start_passkey_login(&self, ctx: &RequestContext, email: &str) -> Result<PasskeyCeremony> {
        let webauthn = self.webauthn()?;
        let email = Email::parse(email)?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
        let credentials = match &found {
            Some(user) => usable_credentials(&txn, user.id).await?,
            None => Vec::new(),
        };
        txn.commit().await?;
        let token = new_token(CEREMONY_PREFIX);
        let (options, ceremony) = match found.filter(|_| !credentials.is_empty()) {
            Some(user) => {
                let (options, state) = webauthn.start_passkey_authentication(&credentials).map_err(webauthn_failure)?;
                (json!(options), Ceremony::Login { user_id: Some(user.id), state: Some(state) })
            }
            None => (self.decoy_options(&email).await?, Ceremony::Login { user_id: None, state: None }),
        };
        let expires_at = self.keep_ceremony(&ceremony_key("login", &token), &ceremony, now).await?;
        Ok(PasskeyCeremony { ceremony: token, options, expires_at })
    }

    /// Finishes a passkey sign-in with the authenticator's answer
    /// (`PublicKeyCredential.toJSON()`) and starts a session, which counts as
    /// having a second factor.
    pub async fn finish_passkey_login(
        &self,
        ctx: &RequestContext,
        ceremony: &str,
        credential: serde_json::Value,
    ) -> Result<(User, IssuedSession)> {
        let answer = parse_assertion(credential)?;
        let now = ctx.now();
        let Some(Ceremony::Login { user_id, state }) =
            self.take_ceremony(&ceremony_key("login", ceremony), now).await?
        else {
            return Err(expired_ceremony());
        };
        let (Some(user_id), Some(state)) = (user_id, state) else {
            return Err(passkey_rejected());
        };
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let user = user::Entity::find_by_id(user_id).one(&txn).await?.ok_or_else(passkey_rejected)?;
        match self.check_assertion(&txn, ctx, user_id, &state, &answer, now).await? {
            Assertion::Accepted => {}
            refused => {
                self.record_login(&txn, ctx, Some(user_id), Some(LoginFailure::PasskeyRejected)).await?;
                let event = SecurityEvent {
                    kind: SecurityEventKind::LoginFailed,
                    severity: Severity::Medium,
                    user_id: Some(user_id),
                    details: json!({ "reason": LoginFailure::PasskeyRejected.as_str() }),
                };
                record_security_event(&txn, ctx, None, event).await?;
                txn.commit().await?;
                return Err(match refused {
                    Assertion::PossiblyCloned => possibly_cloned(),
                    _ => passkey_rejected(),
                });
            }
        }
        if user.status != UserStatus::Active {
            self.record_login(&txn, ctx, Some(user_id), Some(LoginFailure::AccountDisabled)).await?;
            txn.commit().await?;
            return Err(DomainError::Forbidden(LoginFailure::AccountDisabled.message().into()));
        }
        let signed_in = self.finish_login(&txn, ctx, user, true, None, now).await?;
        txn.commit().await?;
        Ok(signed_in)
    }

    /// Adds passkey options to a login challenge whose account has passkeys.
    pub(crate) async fn offer_passkey(
        &self,
        mut challenge: MfaChallenge,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<MfaChallenge> {
        if !challenge.methods.contains(&SecondFactor::Passkey) {
            return Ok(challenge);
        }
        let Ok(webauthn) = self.webauthn() else {
            // Passkeys are switched off on this server: the other methods remain.
            challenge.methods.retain(|m| *m != SecondFactor::Passkey);
            return Ok(challenge);
        };
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let credentials = usable_credentials(&txn, user_id).await?;
        txn.commit().await?;
        let (options, state) = webauthn.start_passkey_authentication(&credentials).map_err(webauthn_failure)?;
        let ceremony = Ceremony::SecondFactor { user_id, state };
        let key = ceremony_key("second-factor", &challenge.token);
        self.keep_ceremony(&key, &ceremony, now).await?;
        challenge.passkey_options = Some(json!(options));
        Ok(challenge)
    }

    /// Completes a login challenge with a passkey's answer to its options.
    pub async fn complete_login_with_passkey(
        &self,
        ctx: &RequestContext,
        challenge: &str,
        credential: serde_json::Value,
    ) -> Result<(User, IssuedSession)> {
        let answer = parse_assertion(credential)?;
        let now = ctx.now();
        let ceremony = self.take_ceremony(&ceremony_key("second-factor", challenge), now).await?;
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let (open, user) = self.open_challenge(&txn, challenge, now).await?;
        let Some(Ceremony::SecondFactor { user_id, state }) =
            ceremony.filter(|c| matches!(c, Ceremony::SecondFactor { user_id, .. } if *user_id == user.id))
        else {
            txn.commit().await?;
            return Err(DomainError::invalid(
                "challenge",
                "has no passkey step left (it was tried already); use another method or sign in again",
            ));
        };
        match self.check_assertion(&txn, ctx, user_id, &state, &answer, now).await? {
            Assertion::Accepted => {}
            refused => {
                self.refuse_second_factor(&txn, ctx, &open, user.id, LoginFailure::PasskeyRejected, now).await?;
                txn.commit().await?;
                return Err(match refused {
                    Assertion::PossiblyCloned => possibly_cloned(),
                    _ => passkey_rejected(),
                });
            }
        }
        self.claim_challenge(&txn, &open, now).await?;
        let signed_in = self.finish_login(&txn, ctx, user, true, open.device_id, now).await?;
        txn.commit().await?;
        Ok(signed_in)
    }

    /// Judges a passkey's answer in `txn`: the signature against the ceremony,
    /// then the counter against the highest seen. Flags a possibly copied
    /// passkey (committed with `txn` even though the sign-in fails).
    async fn check_assertion(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        user_id: UserId,
        state: &PasskeyAuthentication,
        answer: &PublicKeyCredential,
        now: DateTime<Utc>,
    ) -> Result<Assertion> {
        let webauthn = self.webauthn()?;
        let Some(row) = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .filter(passkey::Column::CredentialId.eq(URL_SAFE_NO_PAD.encode(answer.get_credential_id())))
            .one(txn)
            .await?
        else {
            return Ok(Assertion::Rejected);
        };
        if row.possibly_cloned_at.is_some() {
            return Ok(Assertion::PossiblyCloned);
        }
        let result = match webauthn.finish_passkey_authentication(answer, state) {
            Ok(result) => result,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                self.flag_possibly_cloned(txn, ctx, &row, None, now).await?;
                return Ok(Assertion::PossiblyCloned);
            }
            Err(e) => {
                debug!(error = ?e, "passkey answer refused");
                return Ok(Assertion::Rejected);
            }
        };
        let counter = i64::from(result.counter());
        if counter > 0 || row.sign_count > 0 {
            let advanced = passkey::Entity::update_many()
                .col_expr(passkey::Column::SignCount, Expr::value(counter))
                .filter(passkey::Column::Id.eq(row.id))
                .filter(passkey::Column::SignCount.lt(counter))
                .exec(txn)
                .await?
                .rows_affected
                == 1;
            if !advanced {
                self.flag_possibly_cloned(txn, ctx, &row, Some(counter), now).await?;
                return Ok(Assertion::PossiblyCloned);
            }
        }
        let mut credential = stored_credential(&row.credential)?;
        credential.update_credential(&result);
        let stored = serde_json::to_string(&credential).map_err(|e| DomainError::Internal(format!("passkey: {e}")))?;
        passkey::Entity::update_many()
            .col_expr(passkey::Column::Credential, Expr::value(stored))
            .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
            .filter(passkey::Column::Id.eq(row.id))
            .exec(txn)
            .await?;
        Ok(Assertion::Accepted)
    }

    async fn flag_possibly_cloned(
        &self,
        txn: &DatabaseTransaction,
        ctx: &RequestContext,
        row: &passkey::Model,
        presented: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        passkey::Entity::update_many()
            .col_expr(passkey::Column::PossiblyClonedAt, Expr::value(now))
            .filter(passkey::Column::Id.eq(row.id))
            .exec(txn)
            .await?;
        let event = SecurityEvent {
            kind: SecurityEventKind::PasskeyPossiblyCloned,
            severity: Severity::High,
            user_id: Some(row.user_id),
            details: json!({
                "passkeyId": row.id,
                "name": row.name,
                "highestCounterSeen": row.sign_count,
                "counterPresented": presented,
            }),
        };
        record_security_event(txn, ctx, None, event).await
    }

    /// Options for an address with no passkey to name: a fresh challenge and a
    /// credential id that is the same for the address every time and unknowable
    /// without the platform's secret.
    async fn decoy_options(&self, email: &Email) -> Result<serde_json::Value> {
        let key = platform_secret(&self.db, &self.decoy_key, DECOY_SECRET).await?;
        let mut id = Sha256::new();
        id.update(key.as_bytes());
        id.update(b"\0");
        id.update(email.as_str().as_bytes());
        let id = id.finalize();
        let mut challenge = [0u8; 32];
        rand::fill(&mut challenge);
        let rp_id = self.passkeys.as_ref().map(|setup| setup.rp_id.clone());
        // The same members, in the same form, as webauthn-rs's own options.
        Ok(json!({
            "publicKey": {
                "challenge": URL_SAFE_NO_PAD.encode(challenge),
                "timeout": 60_000 * CEREMONY_MINUTES,
                "rpId": rp_id,
                "allowCredentials": [{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(&id[..DECOY_ID_BYTES]) }],
                "userVerification": "required",
            }
        }))
    }
}

/// Bytes in a decoy credential id (within the range real authenticators use).
const DECOY_ID_BYTES: usize = 32;
const DECOY_SECRET: &str = "passkey_decoy_key";

fn parse_assertion(credential: serde_json::Value) -> Result<PublicKeyCredential> {
    serde_json::from_value(credential).map_err(|_| {
        DomainError::invalid(
            "credential",
            "must be the authenticator's answer, as PublicKeyCredential.toJSON() gives it",
        )
    })
}
