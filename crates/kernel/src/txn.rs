//! One read transaction per query request, shared by its resolvers and loaders.
//!
//! A query's resolvers and DataLoaders each used to open a transaction of their
//! own: `BEGIN`, the row-level-security framing, a statement or two, `COMMIT`,
//! six times for a page of bookings with its provider, service, customer and
//! add-ons. A query request now carries [`SharedReads`] in its context; the
//! first read in the request's tenant opens the transaction, every later read
//! in the same scope runs in it, and the gateway commits it once when the
//! operation has answered.
//!
//! Only reads share it, and only in the scope it was opened with (the
//! request's tenant and actor), so row-level security frames every statement
//! exactly as before. Mutations never carry one: what a mutation wrote must be
//! visible to the fields read after it. Subscriptions never carry one: they
//! would hold a connection for as long as they run. On PostgreSQL a statement
//! that fails aborts the transaction, so the request's later reads fail with
//! it; a read fails only on a database fault, which is already an internal
//! error for the whole request.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement};
use tokio::sync::Mutex;

use crate::db::Scope;

/// A transaction from [`crate::Db`]: a service call's own, or the request's
/// shared read transaction, which only the request commits.
#[derive(Debug)]
pub enum Txn {
    /// Opened for this call; committed or rolled back by it.
    Own(DatabaseTransaction),
    /// The request's shared read transaction; `commit` leaves it open.
    Shared(Arc<DatabaseTransaction>),
}

impl Txn {
    /// Commits a transaction of the call's own; a shared one stays open for
    /// the request's other reads.
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Own(txn) => txn.commit().await,
            Self::Shared(_) => Ok(()),
        }
    }
}

impl Deref for Txn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        match self {
            Self::Own(txn) => txn,
            Self::Shared(txn) => txn,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        (**self).get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        (**self).execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        (**self).execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        (**self).query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        (**self).query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        (**self).support_returning()
    }
}

/// The shared transaction and the scope it was opened in.
type Opened = Option<(Scope, Arc<DatabaseTransaction>)>;

/// A query request's one read transaction, opened on its first read.
#[derive(Debug, Clone, Default)]
pub struct SharedReads {
    opened: Arc<Mutex<Opened>>,
}

impl SharedReads {
    /// The shared transaction for a read in `scope`: opened by `open` on the
    /// request's first read (concurrent first reads wait for it), then reused;
    /// `None` when the request's reads run in another scope (that read opens
    /// its own).
    pub(crate) async fn get_or_open<F, Fut>(
        &self,
        scope: Scope,
        open: F,
    ) -> Result<Option<Arc<DatabaseTransaction>>, DbErr>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<DatabaseTransaction, DbErr>>,
    {
        let mut opened = self.opened.lock().await;
        if let Some((opened_in, txn)) = opened.as_ref() {
            return Ok((*opened_in == scope).then(|| txn.clone()));
        }
        let txn = Arc::new(open().await?);
        *opened = Some((scope, txn.clone()));
        Ok(Some(txn))
    }

    /// Ends the request's reads: commits the transaction if one was opened.
    /// A read still holding it (none does once the operation has answered)
    /// lets it roll back when dropped instead: it only read.
    pub async fn finish(&self) -> Result<(), DbErr> {
        let taken = self.opened.lock().await.take();
        match taken.map(|(_, txn)| Arc::try_unwrap(txn)) {
            Some(Ok(txn)) => txn.commit().await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Access, Db, DbOptions};
    use crate::id::{TenantId, UserId};
    use crate::{RequestContext, RequestMeta, SystemClock};

    #[tokio::test]
    async fn reads_in_the_requests_scope_share_one_transaction_and_others_get_their_own() {
        let db = Db::connect(&DbOptions::new("sqlite::memory:")).await.expect("in-memory database");
        let now = crate::Clock::now(&SystemClock);
        let (tenant, user) = (TenantId::generate(now), UserId::generate(now));
        let scope = Scope::Tenant { tenant_id: tenant, user_id: Some(user) };
        let plain = RequestContext::anonymous(RequestMeta::default(), Arc::new(SystemClock));
        let (ctx, reads) = plain.clone().with_shared_reads();

        let first = db.begin_for(&ctx, scope, Access::Read).await.expect("opened");
        let second = db.begin_for(&ctx, scope, Access::Read).await.expect("shared");
        assert!(matches!((&first, &second), (Txn::Shared(_), Txn::Shared(_))));
        assert_eq!(db.transactions_begun(), 1, "the second read reuses the first's transaction");
        second.commit().await.expect("a shared commit leaves it open");
        first.query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT 1")).await.expect("still open");

        let elsewhere = db.begin_for(&ctx, Scope::User(user), Access::Read).await.expect("own");
        let write = db.begin_for(&ctx, scope, Access::Write).await.expect("own");
        let unshared = db.begin_for(&plain, scope, Access::Read).await.expect("own");
        for own in [elsewhere, write, unshared] {
            assert!(matches!(own, Txn::Own(_)), "another scope, a write, or a request without shared reads");
            own.commit().await.expect("committed");
        }
        assert_eq!(db.transactions_begun(), 4);

        drop(first);
        reads.finish().await.expect("the request commits its reads once");
        assert!(reads.opened.lock().await.is_none(), "finished");
    }
}
