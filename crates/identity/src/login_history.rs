//! The login history: every attempt recorded beside its outcome, read by the
//! person and by their businesses' auditors, and expired by age.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use tessera_kernel::db::{Access, Backend, Scope};
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::paging::check_time_window;
use tessera_kernel::{Page, PageRequest, Permission, RequestContext, Result, UserId};

use crate::entity::login_history;
use crate::model::{LoginAttempt, LoginFailure, LoginFilter};
use crate::service::{IdentityService, truncate};

impl IdentityService {
    pub(crate) async fn record_login<C: ConnectionTrait>(
        &self,
        conn: &C,
        ctx: &RequestContext,
        user_id: Option<UserId>,
        failure: Option<LoginFailure>,
    ) -> Result<()> {
        let now = ctx.now();
        login_history::ActiveModel {
            id: Set(uuid_v7_at(now)),
            user_id: Set(user_id),
            succeeded: Set(failure.is_none()),
            failure_reason: Set(failure.map(|f| f.as_str().to_owned())),
            ip: Set(truncate(ctx.meta().ip.as_deref(), 64)),
            user_agent: Set(truncate(ctx.meta().user_agent.as_deref(), 512)),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    /// Forgets login attempts from before `cutoff` (never younger than the
    /// retention floor before `now`). A background job.
    pub async fn expire_login_history(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        let floor = now - chrono::Duration::days(i64::from(tessera_audit::RETENTION_FLOOR_DAYS));
        let cutoff = cutoff.min(floor);
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let removed = match self.db.backend() {
            // The request role may not delete history; a function owned by the
            // schema's owner may, down to the same floor.
            Backend::Postgres => {
                let statement = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT tessera_expire_login_history($1)",
                    [cutoff.into()],
                );
                let row = txn.query_one_raw(statement).await?;
                row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0)
            }
            Backend::Sqlite => i64::try_from(
                login_history::Entity::delete_many()
                    .filter(login_history::Column::CreatedAt.lt(cutoff))
                    .exec(&txn)
                    .await?
                    .rows_affected,
            )
            .unwrap_or(i64::MAX),
        };
        txn.commit().await?;
        Ok(u64::try_from(removed).unwrap_or(0))
    }

    /// The actor's login history, oldest first.
    pub async fn my_login_history(
        &self,
        ctx: &RequestContext,
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        let actor = ctx.require_actor()?;
        let only_mine = LoginFilter { user_id: Some(actor.user_id), ..filter.clone() };
        self.login_attempts(&[actor.user_id], &only_mine, page).await
    }

    /// The login history of `staff` (the members of the request's tenant whose
    /// logins it may see; the caller decides who they are), for the tenant's
    /// auditors (`audit:read`). Oldest first.
    pub async fn login_history(
        &self,
        ctx: &RequestContext,
        staff: &[UserId],
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        ctx.authorize(Permission::AuditRead)?;
        self.login_attempts(staff, filter, page).await
    }

    async fn login_attempts(
        &self,
        accounts: &[UserId],
        filter: &LoginFilter,
        page: &PageRequest,
    ) -> Result<Page<LoginAttempt>> {
        check_time_window(filter.from, filter.to)?;
        let keyset = page.keyset()?;
        let mut select =
            login_history::Entity::find().filter(login_history::Column::UserId.is_in(accounts.iter().copied()));
        if let Some(user_id) = filter.user_id {
            select = select.filter(login_history::Column::UserId.eq(user_id));
        }
        if let Some(succeeded) = filter.succeeded {
            select = select.filter(login_history::Column::Succeeded.eq(succeeded));
        }
        if let Some(from) = filter.from {
            select = select.filter(login_history::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(login_history::Column::CreatedAt.lt(to));
        }
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let rows = keyset.apply(select, login_history::Column::Id).all(&txn).await?;
        txn.commit().await?;
        Ok(keyset.finish(rows).map(|row| LoginAttempt {
            id: row.id,
            user_id: row.user_id,
            succeeded: row.succeeded,
            failure_reason: row.failure_reason,
            ip: row.ip,
            user_agent: row.user_agent,
            at: row.created_at,
        }))
    }
}
