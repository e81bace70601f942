//! Signing up without telling anyone whether an address has an account.
//!
//! `signUp` creates no account. It emails the address: a link that creates the
//! account (`account.sign_up`) when the address has none, or a note that
//! someone tried (`account.sign_up_attempted`) when it has one. Either way the
//! caller gets the same answer after the same work (the password is hashed in
//! both cases), so the answer says nothing about the address, and nobody can
//! hold an address they cannot read: the account exists, already verified,
//! only once the link is opened ([`IdentityService::complete_sign_up`]).
//!
//! Emails to one address are limited to [`SIGN_UP_EMAILS_PER_HOUR`] (more
//! requests are answered alike and send nothing), and sign-ups from one client
//! address (an IPv4 address, an IPv6 /64) to [`SIGN_UPS_PER_CLIENT_HOUR`] unless
//! configured (`RATE_LIMITED`, which says nothing about any email address).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, RequestContext, Result};
use tessera_notify::{NewNotification, Recipient, Topic, queue_account_message, withdraw_account_messages};
use tracing::{info, warn};

use crate::entity::{pending_sign_up, user};
use crate::model::{Email, IssuedSession, NewUser, Password, User};
use crate::rate_window;
use crate::recovery::DEFAULT_LOCALE;
use crate::service::{IdentityService, parse_display_name};
use crate::throttle;
use crate::token::{hash_token, new_token};

/// How long a sign-up link works.
pub const SIGN_UP_HOURS: i64 = 24;
/// Sign-up emails (links or notes) one address gets per hour at most.
pub const SIGN_UP_EMAILS_PER_HOUR: u32 = 3;
/// Sign-ups one client address may ask for per hour, unless configured.
pub const SIGN_UPS_PER_CLIENT_HOUR: u32 = 10;
const SIGN_UP_PREFIX: &str = "tsu_";
/// The page that opens a sign-up link.
const SIGN_UP_PATH: &str = "complete-sign-up";

/// What `signUp` answers, whatever the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpRequested {
    /// The address the email went to (normalised).
    pub email: String,
    /// When the link in it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A locale as given, when it is short and plain (`es`, `pt-BR`).
fn plain_locale(locale: Option<&str>) -> &str {
    locale
        .filter(|l| {
            !l.is_empty() && l.len() <= 35 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or(DEFAULT_LOCALE)
}

/// What a sign-up email is about: its address, hashed (subjects are short ids).
fn sign_up_subject(email: &str) -> String {
    hash_token(email)
}

fn invalid_link() -> DomainError {
    DomainError::invalid("token", "is invalid, expired or already used; sign up again")
}

impl IdentityService {
    /// Starts a sign-up: checks the input, then emails the address a link that
    /// creates the account, or, when it has one, a note that someone tried.
    /// Answers alike either way.
    pub async fn request_sign_up(&self, ctx: &RequestContext, input: NewUser) -> Result<SignUpRequested> {
        let email = Email::parse(&input.email)?;
        let context = [email.as_str(), input.display_name.as_str()];
        let password = Password::new(&input.password, &self.password_policy, &context)?;
        let display_name = parse_display_name(&input.display_name)?;
        let locale = plain_locale(input.locale.as_deref()).to_owned();
        let now = ctx.now();
        let answer =
            SignUpRequested { email: email.as_str().to_owned(), expires_at: now + Duration::hours(SIGN_UP_HOURS) };

        if let Some(client) = throttle::client_key(ctx.meta().ip.as_deref()) {
            let txn = self.db.begin(Scope::Global, Access::Write).await?;
            let taken = rate_window::take(
                &txn,
                &format!("sign-up-client:{client}"),
                self.sign_ups_per_client_hour,
                Duration::hours(1),
                now,
            )
            .await?;
            txn.commit().await?;
            if let Err(wait) = taken {
                return Err(throttle::rate_limited(wait));
            }
        }
        // Hashed whether or not it will be used: the answer takes as long either way.
        let password_hash = self.hasher.hash(&password).await?;

        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let taken = rate_window::take(
            &txn,
            &format!("sign-up-address:{}", email.as_str()),
            SIGN_UP_EMAILS_PER_HOUR,
            Duration::hours(1),
            now,
        )
        .await?;
        if taken.is_err() {
            txn.commit().await?;
            warn!(request_id = %ctx.meta().request_id, "sign-up emails to one address asked for too often; nothing sent");
            return Ok(answer);
        }
        let existing = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
        let recipient = |name: Option<String>| Recipient {
            user_id: None,
            name,
            email: Some(email.as_str().to_owned()),
            phone: None,
        };
        let message = match existing {
            Some(holder) => NewNotification {
                topic: Topic::SignUpAttempted,
                priority: None,
                recipient: Recipient { user_id: Some(holder.id), ..recipient(Some(holder.display_name.clone())) },
                variables: json!({ "occurredAt": now.format("%Y-%m-%d %H:%M UTC").to_string() }),
                subject: Some(("user", holder.id.to_string())),
                not_before: None,
                dedupe_key: None,
                sent_by: None,
                calendar: None,
            },
            None => {
                let token = new_token(SIGN_UP_PREFIX);
                pending_sign_up::Entity::insert(pending_sign_up::ActiveModel {
                    id: Set(uuid_v7_at(now)),
                    email: Set(email.as_str().to_owned()),
                    display_name: Set(display_name.clone()),
                    password_hash: Set(password_hash),
                    locale: Set(locale.clone()),
                    token_hash: Set(hash_token(&token)),
                    created_at: Set(now),
                    expires_at: Set(answer.expires_at),
                })
                .exec_without_returning(&txn)
                .await?;
                NewNotification {
                    topic: Topic::SignUpConfirmation,
                    priority: None,
                    recipient: recipient(Some(display_name)),
                    variables: json!({
                        "link": self.links.link(SIGN_UP_PATH, &token),
                        "validHours": SIGN_UP_HOURS,
                    }),
                    subject: Some(("sign_up", sign_up_subject(email.as_str()))),
                    not_before: None,
                    dedupe_key: None,
                    sent_by: None,
                    calendar: None,
                }
            }
        };
        queue_account_message(&txn, &locale, now, message).await?;
        txn.commit().await?;
        info!(request_id = %ctx.meta().request_id, "sign-up email queued");
        Ok(answer)
    }

    /// Creates the account a sign-up link stands for, with its address verified,
    /// and signs it in. Needs no session: the link is the proof. Other links of
    /// the same address stop working, and those not emailed yet are withdrawn.
    pub async fn complete_sign_up(&self, ctx: &RequestContext, token: &str) -> Result<(User, IssuedSession)> {
        if !token.starts_with(SIGN_UP_PREFIX) || token.len() > 128 {
            return Err(invalid_link());
        }
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let pending = pending_sign_up::Entity::find()
            .filter(pending_sign_up::Column::TokenHash.eq(hash_token(token)))
            .one(&txn)
            .await?
            .filter(|p| p.expires_at > now)
            .ok_or_else(invalid_link)?;
        pending_sign_up::Entity::delete_many()
            .filter(pending_sign_up::Column::Email.eq(pending.email.as_str()))
            .exec(&txn)
            .await?;
        let row = self.insert_account(&txn, &pending.email, &pending.display_name, pending.password_hash, now).await?;
        let signed_in = self.finish_login(&txn, ctx, row, false, None, now).await?;
        txn.commit().await?;
        // The address's other links are dead now: their emails need not go out.
        // Platform messages are the platform's rows, outside every request's
        // sight (row-level security), hence the maintenance scope; a failure
        // here only lets a useless email go.
        let txn = self.db.begin(Scope::Maintenance, Access::Write).await?;
        withdraw_account_messages(&txn, ("sign_up", &sign_up_subject(&pending.email)), Topic::SignUpConfirmation, now)
            .await?;
        txn.commit().await?;
        Ok(signed_in)
    }

    /// Forgets sign-ups whose link expired before `before` and limit windows that
    /// ended long ago (part of the background job that forgets expired links).
    pub(crate) async fn expire_sign_ups<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let sign_ups = pending_sign_up::Entity::delete_many()
            .filter(pending_sign_up::Column::ExpiresAt.lt(before))
            .exec(conn)
            .await?
            .rows_affected;
        let windows = rate_window::forget_before(conn, before).await?;
        Ok(sign_ups + windows)
    }
}
