//! Accounts: signing up, verifying the email address, resetting and changing the
//! password, deactivating and deleting one's own account.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::{Email, NewUser};
use tracing::warn;

use super::objects::AuthPayloadObject;
use crate::error::ApiResult;
use crate::flows;
use crate::flows::accounts::Closing;
use crate::graphql::{InSession, SignedIn, request, services};

/// What `signUp` answers, whether or not the address has an account: look in
/// the inbox.
#[derive(SimpleObject)]
#[graphql(name = "SignUpPayload")]
pub(crate) struct SignUpPayloadObject {
    /// The address the email went to (normalised).
    email: String,
    /// When the link in it stops working (24 hours).
    expires_at: DateTime<Utc>,
}

/// A new account.
#[derive(InputObject)]
pub(crate) struct SignUpInput {
    /// Email address.
    email: String,
    /// Password: at least 12 characters (as configured), up to 256; passphrases
    /// welcome. Common passwords, simple patterns and ones built from the email or
    /// name are refused.
    #[graphql(secret)]
    password: String,
    /// Name shown to others.
    display_name: String,
    /// Language of account emails (BCP 47, such as `es`); English when absent
    /// or when there is no text in that language.
    locale: Option<String>,
}

/// Mutations about accounts.
#[derive(Default)]
pub(super) struct AccountMutations;

#[operations]
#[Object]
impl AccountMutations {
    /// Starts a sign-up: emails the address a link that creates the account
    /// (`completeSignUp`), or, when the address has an account already, a note
    /// to its owner that someone tried. Answers the same either way, so it
    /// tells nobody whether an address has an account; at most three such
    /// emails go to one address an hour, and one client may sign up ten times
    /// an hour (`RATE_LIMITED`).
    #[access(Public)]
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<SignUpPayloadObject> {
        let new_user = NewUser {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            locale: input.locale,
        };
        let requested = services(ctx)?.identity.request_sign_up(request(ctx)?, new_user).await?;
        Ok(SignUpPayloadObject { email: requested.email, expires_at: requested.expires_at })
    }

    /// Finishes a sign-up with the token of the emailed link: creates the
    /// account, its address verified, and signs it in. Needs no session.
    #[access(Public)]
    async fn complete_sign_up(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
    ) -> ApiResult<AuthPayloadObject> {
        let (user, issued) = services(ctx)?.identity.complete_sign_up(request(ctx)?, &token).await?;
        Ok(AuthPayloadObject::new(user, issued))
    }

    /// Changes the caller's password. The current one must match; the new one
    /// follows the password policy and may not repeat a recent one. Every other
    /// session of the caller ends (their subscriptions too); returns how many.
    #[access(InSession)]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] current_password: String,
        #[graphql(secret)] new_password: String,
    ) -> ApiResult<i32> {
        let request = request(ctx)?;
        let ended = services(ctx)?.identity.change_password(request, &current_password, &new_password).await?;
        Ok(i32::try_from(ended.len()).unwrap_or(i32::MAX))
    }

    /// Sends the caller a new link to verify their email address (earlier links
    /// stop working). `false` when it is already verified; `RATE_LIMITED` within
    /// a minute of the last link.
    #[access(SignedIn)]
    async fn resend_email_verification(&self, ctx: &Context<'_>, locale: Option<String>) -> ApiResult<bool> {
        Ok(services(ctx)?.identity.request_email_verification(request(ctx)?, locale.as_deref()).await?)
    }

    /// Verifies an email address with the token of the link sent to it (the
    /// part after `#token=`). No session needed. A link works once, for 24 hours.
    #[access(Public)]
    async fn verify_email(&self, ctx: &Context<'_>, #[graphql(secret)] token: String) -> ApiResult<bool> {
        services(ctx)?.identity.verify_email(request(ctx)?, &token).await?;
        Ok(true)
    }

    /// Emails a password-reset link (valid 30 minutes, usable once) if the
    /// address belongs to an active account. Always answers `true`, at once,
    /// whether or not it does: the answer never tells who has an account. An
    /// account gets at most three links an hour.
    #[access(Public)]
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
        locale: Option<String>,
    ) -> ApiResult<bool> {
        // Malformed input is the caller's mistake and says nothing about anyone.
        Email::parse(&email)?;
        let services = services(ctx)?.clone();
        let request = request(ctx)?.clone();
        // In the background, so an existing account (which costs a few writes)
        // does not answer later than a missing one.
        tokio::spawn(async move {
            if let Err(err) = services.identity.request_password_reset(&request, &email, locale.as_deref()).await {
                warn!(request_id = %request.meta().request_id, error = %err, "sending a password reset link failed");
            }
        });
        Ok(true)
    }

    /// Sets a new password with the token of a reset link. The password follows
    /// the policy and may not repeat a recent one; every session of the account
    /// ends (subscriptions too) and failed-login backoff is cleared. Sign in
    /// afterwards.
    #[access(Public)]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
        #[graphql(secret)] new_password: String,
    ) -> ApiResult<bool> {
        services(ctx)?.identity.reset_password(request(ctx)?, &token, &new_password).await?;
        Ok(true)
    }

    /// Deactivates the caller's account, with the password: nobody can sign in to
    /// it any more and every session ends at once (subscriptions too). Coming
    /// back goes through the platform's operator.
    #[access(SignedIn)]
    async fn deactivate_my_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
        reason: Option<String>,
    ) -> ApiResult<bool> {
        let closing = Closing::Deactivate { reason: reason.as_deref() };
        flows::accounts::close_my_account(services(ctx)?, request(ctx)?, &password, closing).await?;
        Ok(true)
    }

    /// Deletes the caller's account, with the password. Deleting is soft and
    /// final: the account can no longer be used, every session ends at once, and
    /// records that name it (bookings, the audit log) keep their meaning.
    #[access(SignedIn)]
    async fn delete_my_account(&self, ctx: &Context<'_>, #[graphql(secret)] password: String) -> ApiResult<bool> {
        flows::accounts::close_my_account(services(ctx)?, request(ctx)?, &password, Closing::Delete).await?;
        Ok(true)
    }
}
