//! Reading and setting preferences: a member's own and the tenant's, each
//! returned with what applies once both are combined. The rules are in
//! `preference.rs`.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{Permission, RequestContext, Result, TenantId, UserId};

use crate::entity::preference;
use crate::preference::{
    Daily, PreferenceView, Preferences, QuietHours, TENANT_OWNER, Window, digest_of, quiet_of, rows_of, to_preferences,
};
use crate::service::NotifyService;

async fn view_of<C: ConnectionTrait>(conn: &C, tenant_id: TenantId, user: Option<UserId>) -> Result<PreferenceView> {
    let rows = rows_of(conn, tenant_id, user).await?;
    let tenant = rows.iter().find(|p| p.owner == TENANT_OWNER);
    let member = user.and_then(|u| rows.iter().find(|p| p.owner == u.to_string()));
    let own = to_preferences(if user.is_some() { member } else { tenant });
    let settle = |get: fn(&Preferences) -> Option<bool>| {
        Some(get(&own).or_else(|| if user.is_some() { get(&to_preferences(tenant)) } else { None }).unwrap_or(true))
    };
    let quiet_hours = own.quiet_hours.clone().or_else(|| if user.is_some() { quiet_of_opt(tenant) } else { None });
    let email_digest =
        own.email_digest.clone().or_else(|| if user.is_some() { tenant.and_then(digest_of) } else { None });
    let effective = Preferences {
        email: settle(|p| p.email),
        sms: settle(|p| p.sms),
        push: settle(|p| p.push),
        in_app: settle(|p| p.in_app),
        quiet_hours,
        email_digest,
    };
    Ok(PreferenceView { own, effective })
}

fn quiet_of_opt(row: Option<&preference::Model>) -> Option<QuietHours> {
    row.and_then(quiet_of)
}

/// Writes `owner`'s settings in one statement (insert or replace), audited.
async fn store(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &RequestContext,
    tenant_id: TenantId,
    owner: &str,
    wanted: &Preferences,
) -> Result<()> {
    if let Some(quiet) = &wanted.quiet_hours {
        Window::parse(quiet)?;
    }
    if let Some(digest) = &wanted.email_digest {
        Daily::parse(digest)?;
    }
    let before = preference::Entity::find()
        .filter(preference::Column::TenantId.eq(tenant_id))
        .filter(preference::Column::Owner.eq(owner))
        .one(txn)
        .await?;
    let now = ctx.now();
    let quiet = wanted.quiet_hours.as_ref();
    let row = preference::ActiveModel {
        id: Set(uuid_v7_at(now)),
        tenant_id: Set(tenant_id),
        owner: Set(owner.to_owned()),
        email: Set(wanted.email),
        sms: Set(wanted.sms),
        push: Set(wanted.push),
        in_app: Set(wanted.in_app),
        quiet_start: Set(quiet.map(|q| q.start.clone())),
        quiet_end: Set(quiet.map(|q| q.end.clone())),
        timezone: Set(quiet.map(|q| q.timezone.clone())),
        updated_at: Set(now),
        digest_at: Set(wanted.email_digest.as_ref().map(|d| d.at.clone())),
        digest_timezone: Set(wanted.email_digest.as_ref().map(|d| d.timezone.clone())),
    };
    preference::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([preference::Column::TenantId, preference::Column::Owner])
                .update_columns([
                    preference::Column::Email,
                    preference::Column::Sms,
                    preference::Column::Push,
                    preference::Column::InApp,
                    preference::Column::QuietStart,
                    preference::Column::QuietEnd,
                    preference::Column::Timezone,
                    preference::Column::UpdatedAt,
                    preference::Column::DigestAt,
                    preference::Column::DigestTimezone,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let snapshot = |p: &Preferences| {
        json!({
            "email": p.email, "sms": p.sms, "push": p.push, "inApp": p.in_app,
            "quietHours": p.quiet_hours.as_ref().map(|q| json!({"start": q.start, "end": q.end, "timezone": q.timezone})),
            "emailDigest": p.email_digest.as_ref().map(|d| json!({"at": d.at, "timezone": d.timezone})),
        })
    };
    let previous = snapshot(&to_preferences(before.as_ref()));
    let entry = AuditEntry::change(
        "notification_preferences.set",
        "notification_preferences",
        owner,
        Some(&previous),
        Some(&snapshot(wanted)),
    )?;
    tessera_audit::append_in(txn, ctx, tenant_id, entry).await
}

impl NotifyService {
    /// The caller's own settings in the request's tenant and what applies to them.
    pub async fn my_preferences(&self, ctx: &RequestContext) -> Result<PreferenceView> {
        let (tenant_id, user_id) = crate::inbox::inbox_owner(ctx)?;
        let txn = self.db().begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Read).await?;
        let view = view_of(&txn, tenant_id, Some(user_id)).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Replaces the caller's own settings in the request's tenant (`None` fields
    /// follow the tenant's).
    pub async fn set_my_preferences(&self, ctx: &RequestContext, wanted: Preferences) -> Result<PreferenceView> {
        let (tenant_id, user_id) = crate::inbox::inbox_owner(ctx)?;
        let txn = self.db().begin(Scope::Tenant { tenant_id, user_id: Some(user_id) }, Access::Write).await?;
        store(&txn, ctx, tenant_id, &user_id.to_string(), &wanted).await?;
        let view = view_of(&txn, tenant_id, Some(user_id)).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// The tenant's defaults for everyone (`notification:read`).
    pub async fn tenant_preferences(&self, ctx: &RequestContext) -> Result<PreferenceView> {
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::NotificationRead, Access::Read).await?;
        let view = view_of(&txn, auth.tenant_id, None).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Replaces the tenant's defaults (`notification:manage`).
    pub async fn set_tenant_preferences(&self, ctx: &RequestContext, wanted: Preferences) -> Result<PreferenceView> {
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        store(&txn, ctx, auth.tenant_id, TENANT_OWNER, &wanted).await?;
        let view = view_of(&txn, auth.tenant_id, None).await?;
        txn.commit().await?;
        Ok(view)
    }
}
