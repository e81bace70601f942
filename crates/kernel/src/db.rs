//! The database handle and the transactions every service opens.
//!
//! Services never run a statement outside a transaction opened here, because the
//! transaction is where tenancy is enforced a second time:
//!
//! - on PostgreSQL, [`Db::begin`] switches to the non-owner role [`APP_ROLE`] and
//!   stores the tenant and user in transaction-local settings, which the
//!   row-level-security policies read, in one round trip of `SET LOCAL`
//!   statements (which a distributed PostgreSQL forwards to its nodes). Being
//!   local, they vanish at commit or rollback, so a pooled connection never
//!   carries one request's tenant into the next;
//! - on SQLite, a write transaction starts with `BEGIN IMMEDIATE`, taking the single
//!   writer lock up front so read-then-write sequences cannot interleave.
//!
//! Repositories still filter by tenant explicitly; row-level security is the net
//! under that, not a replacement for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, RuntimeErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::context::Authorized;
use crate::{Permission, RequestContext, Resource, TenantId, Txn, UserId};

/// The PostgreSQL role request statements run as. It owns no table, so row-level
/// security applies to it; migrations create it and grant it table privileges.
pub const APP_ROLE: &str = "tessera_app";

/// Whether `err` says the connection itself is gone (closed by the server, cut
/// by the network) rather than that a statement failed.
fn connection_lost(err: &DbErr) -> bool {
    let (DbErr::Conn(RuntimeErr::SqlxError(cause))
    | DbErr::Exec(RuntimeErr::SqlxError(cause))
    | DbErr::Query(RuntimeErr::SqlxError(cause))) = err
    else {
        return false;
    };
    match cause.as_ref() {
        sea_orm::sqlx::Error::Io(_) | sea_orm::sqlx::Error::Protocol(_) => true,
        // Connection exceptions (08…) and the server shutting down or
        // terminating the session (57P…).
        sea_orm::sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// PostgreSQL, with row-level security.
    Postgres,
}

/// Whose rows a transaction may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One tenant's rows, on behalf of a user (or of no user, for public reads).
    Tenant {
        /// The tenant the request acts in.
        tenant_id: TenantId,
        /// The acting user, if any.
        user_id: Option<UserId>,
    },
    /// Rows that belong to one user across tenants (their memberships).
    User(UserId),
    /// No tenant rows at all: global tables only (users, sessions).
    Global,
    /// Every tenant's rows, for background jobs (the outbox relay, purging deleted
    /// tenants). Never opened for a request.
    Maintenance,
}

/// Whether a transaction will write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads.
    Read,
    /// Reads and writes; takes SQLite's write lock at `BEGIN`.
    Write,
}

/// A connection pool plus what the services need to know about it.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
    statements: Arc<AtomicU64>,
    transactions: Arc<AtomicU64>,
    max_connections: u32,
}

/// How to open a [`Db`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
    pub acquire_timeout: Duration,
    /// PostgreSQL: how the connection is encrypted; `None` keeps the URL's
    /// `sslmode` (else `prefer`).
    pub tls_mode: Option<TlsMode>,
    /// PostgreSQL: a PEM file of the authorities that sign the server's
    /// certificate, for [`TlsMode::VerifyCa`] and [`TlsMode::VerifyFull`]
    /// (else the system's roots).
    pub ca_file: Option<PathBuf>,
}

/// How a PostgreSQL connection is encrypted: libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Never encrypted.
    Disable,
    /// Encrypted when the server offers it, the certificate unchecked.
    Prefer,
    /// Always encrypted, the certificate unchecked.
    Require,
    /// Always encrypted, the certificate signed by a trusted authority.
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl From<TlsMode> for PgSslMode {
    fn from(mode: TlsMode) -> Self {
        match mode {
            TlsMode::Disable => Self::Disable,
            TlsMode::Prefer => Self::Prefer,
            TlsMode::Require => Self::Require,
            TlsMode::VerifyCa => Self::VerifyCa,
            TlsMode::VerifyFull => Self::VerifyFull,
        }
    }
}

impl DbOptions {
    /// Options with the defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            tls_mode: None,
            ca_file: None,
        }
    }
}

impl Db {
    /// Connects to the database named by `options.url`.
    pub async fn connect(options: &DbOptions) -> Result<Self, DbErr> {
        let mut connect = ConnectOptions::new(options.url.clone());
        connect
            .max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .connect_timeout(options.acquire_timeout)
            // No ping before each checkout: it cost a round trip per transaction.
            // A connection whose server went away fails at `BEGIN` and
            // `Db::begin` opens the transaction on another; idle connections
            // are closed after ten minutes.
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(600))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
        let (tls_mode, ca_file) = (options.tls_mode, options.ca_file.clone());
        connect.map_sqlx_postgres_opts(move |opts| {
            let opts = match tls_mode {
                Some(mode) => opts.ssl_mode(mode.into()),
                None => opts,
            };
            match &ca_file {
                Some(path) => opts.ssl_root_cert(path),
                None => opts,
            }
        });
        let mut conn = Database::connect(connect).await?;
        // Counts every statement, so tests and benchmarks can show how many a
        // request costs (and that nested reads do not grow with the page size).
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let backend = match conn.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            DbBackend::Sqlite => Backend::Sqlite,
            other => {
                return Err(DbErr::BackendNotSupported {
                    db: other.as_str(),
                    ctx: "Tessera supports SQLite and PostgreSQL",
                });
            }
        };
        let max_connections = options.max_connections;
        Ok(Self { conn, backend, statements, transactions: Arc::default(), max_connections })
    }

    /// How many statements this pool has executed so far, each transaction's
    /// framing included.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// How many transactions [`Db::begin`] has opened so far.
    pub fn transactions_begun(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The raw pool, for migrations and system tasks that are not request work.
    /// Request work goes through [`Db::begin`].
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// Opens a transaction limited to `scope`; see the module documentation.
    ///
    /// A pooled connection the server has closed (a restart, a failover) fails
    /// at its first statement, before any work was done in it; the pool drops
    /// it and the transaction is opened again on another, up to the pool's
    /// size, so no request sees a dead connection.
    pub async fn begin(&self, scope: Scope, access: Access) -> Result<DatabaseTransaction, DbErr> {
        let mut attempts = 0;
        loop {
            match self.open(scope, access).await {
                Err(err) if connection_lost(&err) && attempts < self.max_connections => attempts += 1,
                opened => return opened,
            }
        }
    }

    async fn open(&self, scope: Scope, access: Access) -> Result<DatabaseTransaction, DbErr> {
        let sqlite_transaction_mode = match (self.backend, access) {
            (Backend::Sqlite, Access::Write) => Some(SqliteTransactionMode::Immediate),
            _ => None,
        };
        let txn =
            self.conn.begin_with_options(TransactionOptions { sqlite_transaction_mode, ..Default::default() }).await?;
        self.transactions.fetch_add(1, Ordering::Relaxed);
        // The statements the metric callback does not see: `BEGIN`, and the
        // `COMMIT` or `ROLLBACK` every transaction ends with.
        self.statements.fetch_add(2, Ordering::Relaxed);
        if self.backend == Backend::Postgres {
            let (tenant, user, maintenance) = match scope {
                Scope::Tenant { tenant_id, user_id } => {
                    (tenant_id.to_string(), user_id.map(|u| u.to_string()).unwrap_or_default(), "")
                }
                Scope::User(user_id) => (String::new(), user_id.to_string(), ""),
                Scope::Global => (String::new(), String::new(), ""),
                Scope::Maintenance => (String::new(), String::new(), "on"),
            };
            // `SET LOCAL` statements rather than `set_config(…, true)`: a
            // distributed PostgreSQL (Citus, with `citus.propagate_set_commands
            // = 'local'`) forwards them to every node the transaction reaches,
            // where the policies are evaluated. One round trip; every value is
            // an id this code formatted or a constant, never caller text.
            let sql = format!(
                "SET LOCAL ROLE {APP_ROLE}; SET LOCAL app.tenant_id = '{tenant}'; \
                 SET LOCAL app.user_id = '{user}'; SET LOCAL app.maintenance = '{maintenance}';"
            );
            txn.execute_unprepared(&sql).await?;
            // The metric callback does not see unprepared statements.
            self.statements.fetch_add(1, Ordering::Relaxed);
            if let Scope::User(_) = scope {
                // The `tenants` policy shows a user their tenants through this
                // setting rather than a subquery a sharded database could not
                // run (migration 27). Read as the request role, which sees the
                // user's own memberships and no others. A statement of its
                // own: Citus forwards a `SET` with the whole text it came in,
                // and the workers must not run this read of a sharded table.
                txn.execute_unprepared(
                    "DO $$ BEGIN EXECUTE format('SET LOCAL app.member_tenants = %L', \
                     coalesce((SELECT array_agg(tenant_id)::text FROM memberships \
                     WHERE user_id = tessera_current_user()), '')); END $$;",
                )
                .await?;
                self.statements.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(txn)
    }

    /// Opens a transaction in `scope` for work on behalf of `ctx`: a read in the
    /// scope of a query request's shared transaction runs in it (see
    /// [`crate::txn`]); anything else gets a transaction of its own.
    pub async fn begin_for(&self, ctx: &RequestContext, scope: Scope, access: Access) -> Result<Txn, DbErr> {
        if access == Access::Read
            && let Some(reads) = ctx.shared_reads()
            && let Some(shared) = reads.get_or_open(scope, || self.begin(scope, Access::Read)).await?
        {
            return Ok(Txn::Shared(shared));
        }
        Ok(Txn::Own(self.begin(scope, access).await?))
    }

    /// Checks `permission` in the request's tenant and opens a transaction scoped to
    /// it: the first lines of every tenant-scoped service method.
    pub async fn begin_authorized(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        access: Access,
    ) -> crate::Result<(Authorized, Txn)> {
        let auth = ctx.authorize(permission)?;
        let txn = self.begin_for(ctx, auth.scope(), access).await?;
        Ok((auth, txn))
    }

    /// Like [`Db::begin_authorized`], for `permission` on one resource: held
    /// tenant-wide or granted on that resource alone.
    pub async fn begin_authorized_on(
        &self,
        ctx: &RequestContext,
        permission: Permission,
        resource: Resource,
        access: Access,
    ) -> crate::Result<(Authorized, Txn)> {
        let auth = ctx.authorize_on(permission, resource)?;
        let txn = self.begin_for(ctx, auth.scope(), access).await?;
        Ok((auth, txn))
    }

    /// Holds, until `txn` ends, a lock named by `key` (PostgreSQL's
    /// transaction-scoped advisory lock), so that transactions taking the same
    /// key count and write one after another. On SQLite a writing transaction
    /// already holds the database's write lock from its start.
    pub async fn lock_named(&self, txn: &DatabaseTransaction, key: &str) -> Result<(), DbErr> {
        lock_named(txn, key).await
    }

    /// Narrows a transaction opened with [`Scope::User`] to one tenant the caller has
    /// just found the user belongs to (the `X-Tenant` header names it by slug, so
    /// its id is known only inside the transaction). Keeps the user setting.
    pub async fn enter_tenant(&self, txn: &DatabaseTransaction, tenant_id: TenantId) -> Result<(), DbErr> {
        if self.backend == Backend::Postgres {
            txn.execute_unprepared(&format!("SET LOCAL app.tenant_id = '{tenant_id}'")).await?;
            self.statements.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// [`Db::lock_named`] for code that holds only the transaction (a low crate
/// called inside another's): the backend is the transaction's.
pub async fn lock_named(txn: &DatabaseTransaction, key: &str) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}
