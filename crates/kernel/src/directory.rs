//! The token directory: which tenant, and which of its rows, a globally unique
//! key names, for lookups made before any tenant is known.
//!
//! An invitation link, an email's open-tracking pixel and a partner client's id
//! arrive without a tenant. Their rows live in tenant tables, which a
//! distributed PostgreSQL shards by tenant and whose unique indexes must name
//! the tenant (ARCHITECTURE.md, "Growing past one database"), so a unique index
//! on the key alone cannot stay there. The key is registered here instead, in
//! the transaction that writes the row: one global table whose primary key
//! `(kind, key)` keeps every key unique across tenants, and whose one indexed
//! read answers "which tenant, which row". The row is then read in its tenant.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::TenantId;

/// The name of the directory's table (created by the migrations).
pub const DIRECTORY_TABLE: &str = "token_directory";

/// What a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The hash of an invitation link's token; the row is the invitation.
    Invitation,
    /// The hash of an email's open-tracking token; the row is the delivery.
    EmailOpen,
    /// A partner client's public client id; the row is the client.
    OAuthClient,
}

impl KeyKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::EmailOpen => "email_open",
            Self::OAuthClient => "oauth_client",
        }
    }
}

/// Where a key leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The tenant whose row it is; `None` for the platform's own messages.
    pub tenant_id: Option<TenantId>,
    /// The row's id.
    pub row_id: Uuid,
}

/// Registers `key` as naming `entry`, in the caller's transaction. A key
/// already registered (of any tenant) is refused by the primary key.
pub async fn register<C: ConnectionTrait>(conn: &C, kind: KeyKind, key: &str, entry: Entry) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new(DIRECTORY_TABLE))
        .columns(["kind", "key", "owner_tenant_id", "row_id"].map(Alias::new))
        .values_panic([
            kind.as_str().into(),
            key.into(),
            entry.tenant_id.map(|t| t.as_uuid()).into(),
            entry.row_id.into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Removes `key` (a replaced token), in the caller's transaction.
pub async fn unregister<C: ConnectionTrait>(conn: &C, kind: KeyKind, key: &str) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(Alias::new(DIRECTORY_TABLE))
        .and_where(Expr::col(Alias::new("kind")).eq(kind.as_str()))
        .and_where(Expr::col(Alias::new("key")).eq(key))
        .to_owned();
    conn.execute(&delete).await?;
    Ok(())
}

/// Where `key` leads, if it is registered.
pub async fn resolve<C: ConnectionTrait>(conn: &C, kind: KeyKind, key: &str) -> Result<Option<Entry>, DbErr> {
    lookup(conn, kind, "key", key.into()).await
}

/// Where the key naming the row `row_id` leads, found by the row (a partner
/// client's liveness is asked by its row id alone).
pub async fn find_row<C: ConnectionTrait>(conn: &C, kind: KeyKind, row_id: Uuid) -> Result<Option<Entry>, DbErr> {
    lookup(conn, kind, "row_id", row_id.into()).await
}

/// The first entry of `kind` whose `column` equals `value`.
async fn lookup<C: ConnectionTrait>(
    conn: &C,
    kind: KeyKind,
    column: &str,
    value: sea_orm::Value,
) -> Result<Option<Entry>, DbErr> {
    let select = Query::select()
        .columns(["owner_tenant_id", "row_id"].map(Alias::new))
        .from(Alias::new(DIRECTORY_TABLE))
        .and_where(Expr::col(Alias::new("kind")).eq(kind.as_str()))
        .and_where(Expr::col(Alias::new(column)).eq(value))
        .limit(1)
        .to_owned();
    let Some(row) = conn.query_one(&select).await? else { return Ok(None) };
    Ok(Some(Entry {
        tenant_id: row.try_get::<Option<Uuid>>("", "owner_tenant_id")?.map(TenantId::from),
        row_id: row.try_get("", "row_id")?,
    }))
}
