//! Signing in: login, the second-factor challenge and the tokens a sign-in returns.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::{Credentials, LoginOutcome, MfaChallenge};

use super::objects::{AuthPayloadObject, UserObject};
use crate::error::ApiResult;
use crate::flows;
use crate::graphql::{request, services};

/// Credentials.
#[derive(InputObject)]
pub(crate) struct LoginInput {
    /// Email address.
    email: String,
    /// Password.
    #[graphql(secret)]
    password: String,
    /// The `deviceToken` an earlier sign-in on this device returned, if kept.
    #[graphql(secret)]
    device_token: Option<String>,
}

/// What `login` answers: a session, or the challenge of a second factor.
#[derive(SimpleObject)]
#[graphql(name = "LoginPayload")]
pub(crate) struct LoginPayloadObject {
    /// Send as `Authorization: Bearer <accessToken>`; null until every factor is in.
    access_token: Option<String>,
    /// When the access token ends if unused.
    access_token_expires_at: Option<DateTime<Utc>>,
    /// Exchange for new tokens with `refreshSession`; works once.
    refresh_token: Option<String>,
    /// When the refresh token expires.
    refresh_token_expires_at: Option<DateTime<Utc>>,
    /// The session.
    session_id: Option<ID>,
    /// The signed-in user.
    user: Option<UserObject>,
    /// This device's sign-in token (see `AuthPayload.deviceToken`); after a
    /// second factor, `completeLogin` returns it instead.
    device_token: Option<String>,
    /// Set when the account has a second factor: complete with `completeLogin`.
    second_factor: Option<SecondFactorChallengeObject>,
}

impl LoginPayloadObject {
    fn signed_in(auth: AuthPayloadObject) -> Self {
        Self {
            access_token: Some(auth.access_token),
            access_token_expires_at: Some(auth.access_token_expires_at),
            refresh_token: Some(auth.refresh_token),
            refresh_token_expires_at: Some(auth.refresh_token_expires_at),
            session_id: Some(auth.session_id),
            user: Some(auth.user),
            device_token: auth.device_token,
            second_factor: None,
        }
    }

    fn challenged(challenge: MfaChallenge) -> Self {
        Self {
            access_token: None,
            access_token_expires_at: None,
            refresh_token: None,
            refresh_token_expires_at: None,
            session_id: None,
            user: None,
            device_token: None,
            second_factor: Some(SecondFactorChallengeObject {
                challenge: challenge.token,
                expires_at: challenge.expires_at,
                methods: challenge.methods.into_iter().map(SecondFactorEnum::from).collect(),
                passkey_options: challenge.passkey_options.map(Json),
            }),
        }
    }
}

/// A login waiting for its second factor.
#[derive(SimpleObject)]
#[graphql(name = "SecondFactorChallenge")]
pub(crate) struct SecondFactorChallengeObject {
    /// Hand back to `completeLogin` with the code (or to
    /// `completeLoginWithPasskey`).
    challenge: String,
    /// When it stops working (five minutes).
    expires_at: DateTime<Utc>,
    /// What it can be completed with.
    methods: Vec<SecondFactorEnum>,
    /// When `methods` has `PASSKEY`: `{"publicKey": …}` for
    /// `navigator.credentials.get` (through `parseRequestOptionsFromJSON`).
    passkey_options: Option<Json<serde_json::Value>>,
}

/// A way to complete a login after the password.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SecondFactor", remote = "tessera_identity::SecondFactor")]
pub(crate) enum SecondFactorEnum {
    /// A six-digit code from an authenticator app.
    Totp,
    /// One of the account's one-time backup codes.
    BackupCode,
    /// One of the account's passkeys (`completeLoginWithPasskey`).
    Passkey,
}

/// Mutations about signing in.
#[derive(Default)]
pub(super) struct SignInMutations;

#[operations]
#[Object]
impl SignInMutations {
    /// Signs in with email and password. Failed attempts are throttled per
    /// account and per client address; with the `deviceToken` of an earlier
    /// sign-in on this device, per device instead. For an account with a second factor the tokens are null and
    /// `secondFactor` holds the challenge to complete with `completeLogin`.
    #[access(Public)]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<LoginPayloadObject> {
        let credentials =
            Credentials { email: &input.email, password: &input.password, device_token: input.device_token.as_deref() };
        let outcome = services(ctx)?.identity.login(request(ctx)?, credentials).await?;
        Ok(match outcome {
            LoginOutcome::SignedIn(user, issued) => {
                flows::sign_in::signed_in(services(ctx)?, request(ctx)?, user.id).await?;
                LoginPayloadObject::signed_in(AuthPayloadObject::new(*user, issued))
            }
            LoginOutcome::SecondFactorRequired(challenge) => LoginPayloadObject::challenged(challenge),
        })
    }

    /// Completes a login that asked for a second factor, with a code from the
    /// authenticator app or an unused backup code. Wrong codes count on the
    /// account's login throttle; a challenge lasts five minutes and five wrong codes.
    #[access(Public)]
    async fn complete_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] challenge: String,
        #[graphql(secret)] code: String,
    ) -> ApiResult<AuthPayloadObject> {
        let (user, issued) = services(ctx)?.identity.complete_login(request(ctx)?, &challenge, &code).await?;
        flows::sign_in::signed_in(services(ctx)?, request(ctx)?, user.id).await?;
        Ok(AuthPayloadObject::new(user, issued))
    }
}
