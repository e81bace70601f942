//! What a tenant decides about access: whether its parent may manage it, its
//! security policy (networks, second factors, session limits), the grace a
//! member has before a second factor is required, and the strictest session
//! limit across a person's tenants. The rules themselves are in `policy.rs`.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, Permission, RequestContext, Result, SessionId, TenantId, UserId};

use crate::entity::{membership, mfa_grace_use, tenant};
use crate::model::Tenant;
use crate::policy::SecurityPolicy;
use crate::repo;
use crate::service::{TenantService, announce_update, audit, audited, to_json};

impl TenantService {
    /// Lets the parent tenant's owners manage this tenant, or stops them. Only the
    /// tenant's own members with `tenant:manage` decide: an owner of the parent
    /// acting here cannot keep themselves in.
    pub async fn set_parent_management(&self, ctx: &RequestContext, allowed: bool) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::TenantManage)?;
        if ctx.tenant().is_some_and(|t| t.through_parent.is_some()) {
            return Err(DomainError::Forbidden(
                "only the tenant's own members decide whether its parent manages it".into(),
            ));
        }
        let txn = self.db.begin(auth.scope(), Access::Write).await?;
        let current = repo::find_tenant_in_tenant_scope(&txn, auth.tenant_id).await?;
        if current.parent_tenant_id.is_none() {
            return Err(DomainError::invalid("allowed", "this tenant has no parent"));
        }
        let now = ctx.now();
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.parent_may_manage = Set(allowed);
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        audit(&txn, ctx, &auth, "tenant.parent_management_set", before, &row).await?;
        announce_update(&txn, auth.tenant_id, now, &["parentMayManage"]).await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// Replaces the tenant's security policy (`policy:manage`, held by its
    /// owners; its own members only: a parent's owner cannot loosen a branch's
    /// rules). Applies from the next request.
    pub async fn set_security_policy(&self, ctx: &RequestContext, policy: SecurityPolicy) -> Result<Tenant> {
        let auth = ctx.authorize(Permission::PolicyManage)?;
        if ctx.tenant().is_some_and(|t| t.through_parent.is_some()) {
            return Err(DomainError::Forbidden("only the tenant's own members set its security policy".into()));
        }
        let policy = policy.validated()?;
        if let Some(own) = ctx.meta().ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            && !policy.allows_ip(Some(own))
        {
            let blocked = !SecurityPolicy { ip_allow: Vec::new(), ..policy.clone() }.allows_ip(Some(own));
            let field = if blocked { "ipBlock" } else { "ipAllow" };
            return Err(DomainError::invalid(
                field,
                format!("would shut you out: this request comes from {own}; allow it or use it from elsewhere"),
            ));
        }
        let txn = self.db.begin(auth.scope(), Access::Write).await?;
        let current = repo::find_tenant_in_tenant_scope(&txn, auth.tenant_id).await?;
        let now = ctx.now();
        let before = audited(&current);
        let mut row = current.into_active_model();
        row.security_policy = Set(Some(to_json(&policy)?));
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        audit(&txn, ctx, &auth, "tenant.security_policy_set", before, &row).await?;
        announce_update(&txn, auth.tenant_id, now, &["securityPolicy"]).await?;
        txn.commit().await?;
        Tenant::try_from(row)
    }

    /// Lets `session_id` of `user_id`, who has no second factor, use `tenant_id`
    /// while it requires one, if the session already did or the member has grace
    /// sign-ins left (`grace` in all). Each new session spends one.
    pub async fn use_mfa_grace(
        &self,
        tenant_id: TenantId,
        user_id: UserId,
        session_id: SessionId,
        grace: u32,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let txn = self.db.begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Write).await?;
        let used = mfa_grace_use::Entity::find()
            .filter(mfa_grace_use::Column::TenantId.eq(tenant_id))
            .filter(mfa_grace_use::Column::UserId.eq(user_id))
            .all(&txn)
            .await?;
        if used.iter().any(|u| u.session_id == session_id) {
            txn.commit().await?;
            return Ok(true);
        }
        if used.len() >= usize::try_from(grace).unwrap_or(usize::MAX) {
            txn.commit().await?;
            return Ok(false);
        }
        // Two first requests of one session at once may both insert; one wins.
        mfa_grace_use::Entity::insert(mfa_grace_use::ActiveModel {
            id: Set(tessera_kernel::id::uuid_v7_at(now)),
            tenant_id: Set(tenant_id),
            user_id: Set(user_id),
            session_id: Set(session_id),
            used_at: Set(now),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                mfa_grace_use::Column::TenantId,
                mfa_grace_use::Column::UserId,
                mfa_grace_use::Column::SessionId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The fewest concurrent sessions any tenant `user_id` belongs to allows, if
    /// any limits them.
    pub async fn session_limit_for(&self, user_id: UserId) -> Result<Option<u32>> {
        let txn = self.db.begin(Scope::User(user_id), Access::Read).await?;
        let ids: Vec<TenantId> = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|m| m.tenant_id)
            .collect();
        let policies = tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(ids))
            .filter(tenant::Column::SecurityPolicy.is_not_null())
            .all(&txn)
            .await?;
        txn.commit().await?;
        let mut limit: Option<u32> = None;
        for row in policies {
            if let Some(max) = SecurityPolicy::from_json(row.security_policy.as_ref())?.max_sessions {
                limit = Some(limit.map_or(max, |l| l.min(max)));
            }
        }
        Ok(limit)
    }
}
