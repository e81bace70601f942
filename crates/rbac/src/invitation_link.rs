//! Opening an invitation's link: what it offers (no session needed; the link is
//! the proof) and accepting it, which makes the holder of the invited address a
//! member with the offered roles in one transaction with marking the link used.
//! Inviting, listing, cancelling and resending are in `invitation.rs`.

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::directory::{self, KeyKind};
use tessera_kernel::token::hash_token;
use tessera_kernel::{DomainError, Permission, PermissionSet, RequestContext, Result, RoleId, UserId};

use crate::entity::{assignment, invitation};
use crate::invitation::{
    Invitation, InvitationPreview, InvitationStatus, TOKEN_PREFIX, invalid_link, status_of, still_open, to_invitation,
};
use crate::model::{NewAssignment, ScopeType, Subject};
use crate::resolve::AccessFacts;
use crate::service::{RbacService, active_assignment, default_roles, insert_assignment, live_role, load_role_facts};

impl RbacService {
    /// What an invitation link offers, for the page that opens it. Needs no
    /// session: the link is the proof. A used, cancelled or unknown link is
    /// `BAD_USER_INPUT` on `token`.
    pub async fn invitation_by_token(&self, ctx: &RequestContext, token: &str) -> Result<InvitationPreview> {
        let now = ctx.now();
        let (row, txn) = self.open_by_token(token, None, Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, row.tenant_id).await?;
        let facts = load_role_facts(&txn, row.tenant_id).await?;
        txn.commit().await?;
        offer_of(tenant, &facts, to_invitation(row, now)?)
    }

    /// Accepts an invitation for the signed-in user, whose (verified or just
    /// proven) address is `acceptor_email`: it must be the invited one. Makes
    /// them a member with the offered roles still there (the default role when
    /// none is), or adds the roles they lack when they are a member already.
    /// Returns the offer as accepted.
    pub async fn accept_invitation(
        &self,
        ctx: &RequestContext,
        token: &str,
        acceptor_email: &str,
    ) -> Result<InvitationPreview> {
        let actor = ctx.require_actor()?;
        let now = ctx.now();
        let (row, txn) = self.open_by_token(token, Some(actor.user_id), Access::Write).await?;
        if status_of(&row, now) != InvitationStatus::Pending {
            return Err(invalid_link());
        }
        if row.email != acceptor_email.trim().to_lowercase() {
            return Err(DomainError::Forbidden(
                "this invitation is for another email address; sign in with that address to accept it".into(),
            ));
        }
        let claimed = invitation::Entity::update_many()
            .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
            .col_expr(invitation::Column::AcceptedBy, Expr::value(actor.user_id))
            .filter(invitation::Column::TenantId.eq(row.tenant_id))
            .filter(invitation::Column::Id.eq(row.id))
            .filter(still_open())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            return Err(invalid_link());
        }
        let facts = load_role_facts(&txn, row.tenant_id).await?;
        let offered: Vec<RoleId> = serde_json::from_str(&row.role_ids)
            .map_err(|e| DomainError::Internal(format!("an invitation's roles do not parse: {e}")))?;
        let mut roles: Vec<RoleId> =
            offered.into_iter().filter(|id| live_role(&facts, *id, "roleIds").is_ok()).collect();
        if roles.is_empty() {
            roles = default_roles(&facts);
        }
        if !tessera_tenant::is_member(&txn, row.tenant_id, actor.user_id).await? {
            tessera_tenant::insert_membership(&txn, row.tenant_id, actor.user_id, now).await?;
        }
        let held: Vec<RoleId> = assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(row.tenant_id))
            .filter(assignment::Column::UserId.eq(actor.user_id))
            .filter(assignment::Column::ScopeType.eq(ScopeType::Tenant))
            .filter(active_assignment(now))
            .all(&txn)
            .await?
            .into_iter()
            .map(|a| a.role_id)
            .collect();
        let mut given = PermissionSet::empty();
        let mut granted = Vec::new();
        for (offset, role_id) in roles.iter().filter(|r| !held.contains(r)).enumerate() {
            let granted_at = now + Duration::microseconds(i64::try_from(offset).unwrap_or(0));
            let grant = NewAssignment::tenant_wide(*role_id, Subject::User(actor.user_id));
            insert_assignment(&txn, row.tenant_id, &grant, row.invited_by, granted_at).await?;
            given.extend(&facts.role_permissions(*role_id));
            granted.push(*role_id);
        }
        // The acceptance is the invitation's doing: the inviter's authority,
        // checked when inviting, carried by the link.
        let auth = Authorized { tenant_id: row.tenant_id, actor: Some(actor), permission: Permission::RoleAssign };
        let after = invitation::Entity::find_by_id((row.tenant_id, row.id)).one(&txn).await?.ok_or(invalid_link())?;
        let entry = AuditEntry::change("invitation.accepted", "invitation", row.id, Some(&row), Some(&after))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        let joined = json!({ "userId": actor.user_id, "roles": granted, "invitationId": row.id });
        let entry = AuditEntry::change("member.added", "member", actor.user_id, None, Some(&joined))?;
        self.record_change(&txn, ctx, &auth, entry, Some(actor.user_id), &given).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&txn, row.tenant_id).await?;
        txn.commit().await?;
        offer_of(tenant, &facts, to_invitation(after, now)?)
    }

    /// Finds the open invitation with `token` and opens a transaction in its
    /// tenant (as `user`, when someone is signed in).
    async fn open_by_token(
        &self,
        token: &str,
        user: Option<UserId>,
        access: Access,
    ) -> Result<(invitation::Model, sea_orm::DatabaseTransaction)> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(invalid_link());
        }
        let token_hash = hash_token(token);
        // Outside the tenant only the directory may be read: it names the
        // tenant and the invitation, which is then read in that tenant.
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let found = directory::resolve(&txn, KeyKind::Invitation, &token_hash).await?;
        txn.commit().await?;
        let Some(directory::Entry { tenant_id: Some(tenant_id), row_id }) = found else {
            return Err(invalid_link());
        };
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: user }, access).await?;
        let row = invitation::Entity::find()
            .filter(invitation::Column::TenantId.eq(tenant_id))
            .filter(invitation::Column::Id.eq(row_id))
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .filter(still_open())
            .one(&txn)
            .await?
            .ok_or_else(invalid_link)?;
        Ok((row, txn))
    }
}

/// What `invitation` offers, as its link holder sees it: the tenant and the
/// names of the offered roles that still exist.
fn offer_of(tenant: tessera_tenant::Tenant, facts: &AccessFacts, invitation: Invitation) -> Result<InvitationPreview> {
    let role_names = invitation
        .role_ids
        .iter()
        .filter_map(|id| facts.roles.get(id).filter(|r| r.deleted_at.is_none()).map(|r| r.name.clone()))
        .collect();
    Ok(InvitationPreview {
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        tenant_slug: tenant.slug,
        email: invitation.email,
        role_names,
        expires_at: invitation.expires_at,
        status: invitation.status,
    })
}
