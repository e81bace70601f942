//! Invitations: someone who may grant roles asks an email address to join the
//! tenant with some of them.
//!
//! The invitation email (through `notify`, in the tenant's language and wording)
//! carries a single-use link; only the token's hash is stored. The link lets the
//! person with that address accept: as an existing user signed in with that
//! address, or as a new user signing up with it (the caller, `api`, creates the
//! account, which the link proves owns the address). Accepting makes them a member
//! with the invited roles, in one transaction with marking the invitation used.
//! Invitations expire after [`INVITATION_DAYS`], can be cancelled, and resent
//! (a new link; the old one stops working).
//!
//! The inviter's right to grant the roles is checked when inviting (nobody
//! invites into more than they hold); roles deleted in between are left out at
//! acceptance, falling back to the tenant's default role.
//!
//! A tenant sends at most [`INVITATIONS_PER_DAY`] invitation emails in 24 hours
//! (counted under a lock per tenant, so parallel invitations cannot overshoot);
//! its own template is sent inside the platform's frame, and each message keeps
//! who sent it (`notify`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::token::{hash_token, new_token};
use tessera_kernel::{
    DomainError, InvitationId, Page, PageRequest, Permission, PermissionSet, RequestContext, Result, RoleId, TenantId,
    UserId,
};
use tessera_notify::{NewNotification, Priority, Recipient, Topic};

use crate::entity::invitation;
use crate::service::{RbacService, default_roles, ensure_may_grant, live_role, load_role_facts};

/// How long an invitation link stays usable.
pub const INVITATION_DAYS: i64 = 7;
/// Invitation emails (new and resent) a tenant may send in 24 hours unless
/// configured otherwise: invitations go to any address, from the platform's
/// sender, so they are the first thing a spammer with a tenant would use.
pub const INVITATIONS_PER_DAY: u32 = 50;
/// How soon an invitation may be sent again.
const RESEND_INTERVAL_SECS: i64 = 60;
pub(crate) const TOKEN_PREFIX: &str = "tsi_";
/// The page that opens an invitation link.
const ACCEPT_PATH: &str = "accept-invitation";

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Sent, not yet accepted, cancelled or expired.
    Pending,
    /// Accepted: the person is a member.
    Accepted,
    /// Cancelled by someone who may grant roles.
    Cancelled,
    /// Not accepted in time (resending makes it pending again).
    Expired,
}

/// An invitation as the tenant sees it (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The invited address (normalised).
    pub email: String,
    /// The roles offered.
    pub role_ids: Vec<RoleId>,
    /// Who invited.
    pub invited_by: Option<UserId>,
    /// When it was first sent.
    pub created_at: DateTime<Utc>,
    /// When the current link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was last sent.
    pub last_sent_at: DateTime<Utc>,
    /// When it was accepted, and by whom.
    pub accepted_at: Option<DateTime<Utc>>,
    /// The account that accepted it.
    pub accepted_by: Option<UserId>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Where it stands at the time it was read.
    pub status: InvitationStatus,
}

/// What inviting needs.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The address, normalised by the caller (`tessera_identity::Email`).
    pub email: String,
    /// The roles to offer; the tenant's default role when empty.
    pub roles: Vec<RoleId>,
    /// The inviter's name, for the message.
    pub inviter_name: String,
    /// The account that already has this address, if any.
    pub existing_user: Option<UserId>,
}

/// What the holder of a link may see before accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPreview {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its name.
    pub tenant_name: String,
    /// Its slug (the `X-Tenant` to use after joining).
    pub tenant_slug: String,
    /// The invited address.
    pub email: String,
    /// The names of the roles offered.
    pub role_names: Vec<String>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Pending or expired (a used or cancelled link shows nothing).
    pub status: InvitationStatus,
}

const ALREADY_INVITED: &str = "this address has a pending invitation; resend it instead";

fn already_invited() -> DomainError {
    DomainError::Conflict(ALREADY_INVITED.into())
}

pub(crate) fn invalid_link() -> DomainError {
    DomainError::invalid("token", "is invalid, expired, cancelled or already used; ask for a new invitation")
}

pub(crate) fn status_of(row: &invitation::Model, now: DateTime<Utc>) -> InvitationStatus {
    if row.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if row.cancelled_at.is_some() {
        InvitationStatus::Cancelled
    } else if row.expires_at <= now {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

pub(crate) fn to_invitation(row: invitation::Model, now: DateTime<Utc>) -> Result<Invitation> {
    let status = status_of(&row, now);
    let role_ids: Vec<RoleId> = serde_json::from_str(&row.role_ids)
        .map_err(|e| DomainError::Internal(format!("an invitation's roles do not parse: {e}")))?;
    Ok(Invitation {
        id: row.id,
        tenant_id: row.tenant_id,
        email: row.email,
        role_ids,
        invited_by: row.invited_by,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_sent_at: row.last_sent_at,
        accepted_at: row.accepted_at,
        accepted_by: row.accepted_by,
        cancelled_at: row.cancelled_at,
        status,
    })
}

pub(crate) fn still_open() -> Condition {
    Condition::all().add(invitation::Column::AcceptedAt.is_null()).add(invitation::Column::CancelledAt.is_null())
}

impl RbacService {
    /// Invites `new.email` to the request's tenant with `new.roles` (`role:assign`,
    /// and only permissions the inviter holds) and emails the link. `CONFLICT` when
    /// the address already belongs to a member or has a pending invitation.
    pub async fn invite(&self, ctx: &RequestContext, new: NewInvitation) -> Result<Invitation> {
        let email = new.email.trim().to_lowercase();
        if !email.contains('@') {
            return Err(DomainError::invalid("email", "must be an email address such as ana@example.com"));
        }
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let facts = load_role_facts(&txn, auth.tenant_id).await?;
        let roles: Vec<RoleId> = if new.roles.is_empty() { default_roles(&facts) } else { new.roles.clone() };
        let mut offered = PermissionSet::empty();
        for role_id in &roles {
            offered.extend(&facts.role_permissions(live_role(&facts, *role_id, "roleIds")?.id));
        }
        ensure_may_grant(ctx, &offered)?;
        if let Some(user_id) = new.existing_user
            && tessera_tenant::is_member(&txn, auth.tenant_id, user_id).await?
        {
            return Err(DomainError::Conflict("this address belongs to a member already".into()));
        }
        let open = invitation::Entity::find()
            .filter(invitation::Column::TenantId.eq(auth.tenant_id))
            .filter(invitation::Column::Email.eq(email.as_str()))
            .filter(still_open())
            .one(&txn)
            .await?;
        match open {
            Some(open) if open.expires_at > now => return Err(already_invited()),
            // An expired one is replaced by the new one.
            Some(expired) => {
                let mut active: invitation::ActiveModel = expired.into();
                active.cancelled_at = Set(Some(now));
                active.cancelled_by = Set(auth.actor.map(|a| a.user_id));
                active.update(&txn).await?;
            }
            None => {}
        }
        self.ensure_invitations_left(&txn, auth.tenant_id, now).await?;
        let token = new_token(TOKEN_PREFIX);
        let row = invitation::ActiveModel {
            id: Set(InvitationId::generate(now)),
            tenant_id: Set(auth.tenant_id),
            email: Set(email.clone()),
            role_ids: Set(json!(roles).to_string()),
            token_hash: Set(hash_token(&token)),
            invited_by: Set(auth.actor.map(|a| a.user_id)),
            created_at: Set(now),
            expires_at: Set(now + Duration::days(INVITATION_DAYS)),
            last_sent_at: Set(now),
            accepted_at: Set(None),
            accepted_by: Set(None),
            cancelled_at: Set(None),
            cancelled_by: Set(None),
        }
        .insert(&txn)
        .await
        // Another invitation of the address committed meanwhile.
        .map_err(|e| DomainError::conflict_on_unique(e, ALREADY_INVITED))?;
        let entry = directory::Entry { tenant_id: Some(row.tenant_id), row_id: row.id.as_uuid() };
        directory::register(&txn, KeyKind::Invitation, &row.token_hash, entry).await?;
        self.send_invitation(&txn, &row, &token, &new.inviter_name, auth.actor.map(|a| a.user_id), now).await?;
        let entry = AuditEntry::change("invitation.created", "invitation", row.id, None, Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        to_invitation(row, now)
    }

    /// The tenant's invitations, newest last, optionally only those with `status`
    /// (`role:assign`).
    pub async fn invitations(
        &self,
        ctx: &RequestContext,
        status: Option<InvitationStatus>,
        page: &PageRequest,
    ) -> Result<Page<Invitation>> {
        let keyset = page.keyset()?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::RoleAssign, Access::Read).await?;
        let now = ctx.now();
        let mut select = invitation::Entity::find().filter(invitation::Column::TenantId.eq(auth.tenant_id));
        select = match status {
            None => select,
            Some(InvitationStatus::Accepted) => select.filter(invitation::Column::AcceptedAt.is_not_null()),
            Some(InvitationStatus::Cancelled) => select.filter(invitation::Column::CancelledAt.is_not_null()),
            Some(InvitationStatus::Pending) => {
                select.filter(still_open()).filter(invitation::Column::ExpiresAt.gt(now))
            }
            Some(InvitationStatus::Expired) => {
                select.filter(still_open()).filter(invitation::Column::ExpiresAt.lte(now))
            }
        };
        let rows = keyset.apply(select, invitation::Column::Id).all(&txn).await?;
        txn.commit().await?;
        keyset.finish(rows).try_map(|row| to_invitation(row, now))
    }

    /// Invitations of the tenant by id (`role:assign`); ids that are not the
    /// tenant's are left out.
    pub async fn invitations_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[InvitationId],
    ) -> Result<HashMap<InvitationId, Invitation>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::RoleAssign, Access::Read).await?;
        let rows = invitation::Entity::find()
            .filter(invitation::Column::TenantId.eq(auth.tenant_id))
            .filter(invitation::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(|row| to_invitation(row, ctx.now()).map(|i| (i.id, i))).collect()
    }

    /// Cancels a pending or expired invitation (`role:assign`): its link stops
    /// working and an email not yet sent is withdrawn.
    pub async fn cancel_invitation(&self, ctx: &RequestContext, id: InvitationId) -> Result<Invitation> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let before = find_open(&txn, &auth, id).await?;
        let mut active: invitation::ActiveModel = before.clone().into();
        active.cancelled_at = Set(Some(now));
        active.cancelled_by = Set(auth.actor.map(|a| a.user_id));
        let row = active.update(&txn).await?;
        directory::unregister(&txn, KeyKind::Invitation, &before.token_hash).await?;
        let entry = directory::Entry { tenant_id: Some(row.tenant_id), row_id: row.id.as_uuid() };
        directory::register(&txn, KeyKind::Invitation, &row.token_hash, entry).await?;
        withdraw_email(&txn, &row, now).await?;
        let entry = AuditEntry::change("invitation.cancelled", "invitation", row.id, Some(&before), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        to_invitation(row, now)
    }

    /// Sends a pending or expired invitation again with a new link (the old one
    /// stops working) valid for another [`INVITATION_DAYS`] (`role:assign`).
    /// `RATE_LIMITED` within a minute of the last sending.
    pub async fn resend_invitation(
        &self,
        ctx: &RequestContext,
        id: InvitationId,
        inviter_name: &str,
    ) -> Result<Invitation> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::RoleAssign, Access::Write).await?;
        let now = ctx.now();
        let before = find_open(&txn, &auth, id).await?;
        let wait = RESEND_INTERVAL_SECS - (now - before.last_sent_at).num_seconds();
        if wait > 0 {
            return Err(DomainError::RateLimited { retry_after_secs: u64::try_from(wait).unwrap_or(1) });
        }
        self.ensure_invitations_left(&txn, auth.tenant_id, now).await?;
        let token = new_token(TOKEN_PREFIX);
        let mut active: invitation::ActiveModel = before.clone().into();
        active.token_hash = Set(hash_token(&token));
        active.expires_at = Set(now + Duration::days(INVITATION_DAYS));
        active.last_sent_at = Set(now);
        let row = active.update(&txn).await?;
        directory::unregister(&txn, KeyKind::Invitation, &before.token_hash).await?;
        let entry = directory::Entry { tenant_id: Some(row.tenant_id), row_id: row.id.as_uuid() };
        directory::register(&txn, KeyKind::Invitation, &row.token_hash, entry).await?;
        withdraw_email(&txn, &row, now).await?;
        self.send_invitation(&txn, &row, &token, inviter_name, auth.actor.map(|a| a.user_id), now).await?;
        let entry = AuditEntry::change("invitation.resent", "invitation", row.id, Some(&before), Some(&row))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        to_invitation(row, now)
    }

    /// Refuses with `RATE_LIMITED` when the tenant sent its day's invitation
    /// emails already, saying when the oldest of them leaves the 24 hours. Holds
    /// the tenant's invitation lock until `txn` ends, so the count and the send
    /// that follows cannot interleave with another's.
    async fn ensure_invitations_left(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: TenantId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.db.lock_named(txn, &format!("invitations:{tenant_id}")).await?;
        let day = Duration::hours(24);
        let (sent, oldest) = tessera_notify::queued_since(txn, tenant_id, Topic::Invitation, now - day).await?;
        if sent < u64::from(self.invitations_per_day) {
            return Ok(());
        }
        let wait = oldest.map_or(day, |oldest| oldest + day - now).num_seconds();
        Err(DomainError::RateLimited { retry_after_secs: u64::try_from(wait).unwrap_or(1).max(1) })
    }

    async fn send_invitation<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &invitation::Model,
        token: &str,
        inviter_name: &str,
        sender: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tenant = tessera_tenant::load_tenant_in_scope(conn, row.tenant_id).await?;
        let expires_local = row
            .expires_at
            .with_timezone(&tenant.timezone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC))
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let message = NewNotification {
            topic: Topic::Invitation,
            // Asked for by someone right now: not held by the tenant's routine
            // settings (channels off, quiet hours, digests).
            priority: Some(Priority::Urgent),
            // By address only: the link is for whoever holds the mailbox, account or not.
            recipient: Recipient { user_id: None, name: None, email: Some(row.email.clone()), phone: None },
            variables: json!({
                "businessName": tenant.name,
                "inviterName": inviter_name,
                "expiresAt": format!("{expires_local} ({})", tenant.timezone),
                "link": self.links.link(ACCEPT_PATH, token),
            }),
            subject: Some(("invitation", row.id.to_string())),
            not_before: None,
            dedupe_key: None,
            sent_by: sender,
            calendar: None,
        };
        tessera_notify::queue(conn, row.tenant_id, &tenant.locale, now, message).await?;
        Ok(())
    }
}

/// The tenant's invitation `id` that is neither accepted nor cancelled.
async fn find_open<C: ConnectionTrait>(conn: &C, auth: &Authorized, id: InvitationId) -> Result<invitation::Model> {
    let row = invitation::Entity::find_by_id((auth.tenant_id, id))
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound { entity: "invitation" })?;
    if row.accepted_at.is_some() || row.cancelled_at.is_some() {
        return Err(DomainError::Conflict("the invitation was already accepted or cancelled".into()));
    }
    Ok(row)
}

/// Withdraws the invitation's email if it has not gone out yet.
async fn withdraw_email<C: ConnectionTrait>(conn: &C, row: &invitation::Model, now: DateTime<Utc>) -> Result<()> {
    let id = row.id.to_string();
    tessera_notify::withdraw(conn, row.tenant_id, ("invitation", &id), Topic::Invitation.as_str(), now).await?;
    Ok(())
}
