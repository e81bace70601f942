//! Authenticator apps (TOTP) and backup codes.

use async_graphql::{Context, Object, SimpleObject};
use tessera_api_macros::operations;

use crate::error::ApiResult;
use crate::graphql::{InSession, SignedIn, request, services};

/// A new authenticator app's secret, until a code from the app confirms it.
#[derive(SimpleObject)]
#[graphql(name = "TotpEnrollment")]
pub(crate) struct TotpEnrollmentObject {
    /// The secret in base32, for typing into the app.
    secret: String,
    /// `otpauth://totp/…`: show it as a QR code.
    otpauth_uri: String,
}

/// The caller's second factors.
#[derive(SimpleObject)]
#[graphql(name = "MfaStatus")]
pub(crate) struct MfaStatusObject {
    /// Whether an authenticator app is on.
    totp: bool,
    /// Unused backup codes.
    backup_codes_left: u32,
    /// Passkeys that can sign in.
    passkeys: u32,
}

/// Queries about second factors.
#[derive(Default)]
pub(super) struct MfaQueries;

#[operations]
#[Object]
impl MfaQueries {
    /// The caller's second factors.
    #[access(SignedIn)]
    async fn my_mfa(&self, ctx: &Context<'_>) -> ApiResult<MfaStatusObject> {
        let status = services(ctx)?.identity.mfa_status(request(ctx)?).await?;
        Ok(MfaStatusObject {
            totp: status.totp,
            backup_codes_left: status.backup_codes_left,
            passkeys: status.passkeys,
        })
    }
}

/// Mutations about second factors.
#[derive(Default)]
pub(super) struct MfaMutations;

#[operations]
#[Object]
impl MfaMutations {
    /// Starts setting up an authenticator app, with the password: show
    /// `otpauthUri` as a QR code (or `secret` for typing in), then confirm with a
    /// code from the app. Replaces a setup not yet confirmed; `CONFLICT` when an
    /// app is already on. From a signed-in session only (not an API key).
    #[access(InSession)]
    async fn enroll_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> ApiResult<TotpEnrollmentObject> {
        let enrollment = services(ctx)?.identity.enroll_totp(request(ctx)?, &password).await?;
        Ok(TotpEnrollmentObject { secret: enrollment.secret, otpauth_uri: enrollment.otpauth_uri })
    }

    /// Confirms the authenticator app with a current code and turns the second
    /// factor on. Returns ten one-time backup codes, shown this once: keep them
    /// somewhere safe.
    #[access(InSession)]
    async fn confirm_totp(&self, ctx: &Context<'_>, #[graphql(secret)] code: String) -> ApiResult<Vec<String>> {
        Ok(services(ctx)?.identity.confirm_totp(request(ctx)?, &code).await?)
    }

    /// Turns the authenticator app off (backup codes too), with the password.
    #[access(InSession)]
    async fn disable_totp(&self, ctx: &Context<'_>, #[graphql(secret)] password: String) -> ApiResult<bool> {
        Ok(services(ctx)?.identity.disable_totp(request(ctx)?, &password).await?)
    }

    /// Replaces the backup codes with ten new ones (shown this once), with the
    /// password.
    #[access(InSession)]
    async fn regenerate_backup_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Vec<String>> {
        Ok(services(ctx)?.identity.regenerate_backup_codes(request(ctx)?, &password).await?)
    }
}
